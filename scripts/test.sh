#!/usr/bin/env bash
# Install the test dependencies (Debian's chromium for the browser tests; libfluidsynth and a General MIDI
# SoundFont for the Music page's SoundFont renderer; Debian's nginx for scripts/serve.sh; the Python packages)
# and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_models.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=""
[ -x /usr/bin/chromium ] || PACKAGES="$PACKAGES chromium"
[ -x /usr/sbin/nginx ] || PACKAGES="$PACKAGES nginx"
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] && ldconfig -p | grep -q libfluidsynth.so.3 \
  || PACKAGES="$PACKAGES libfluidsynth3 timgm6mb-soundfont"
if [ -n "$PACKAGES" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends $PACKAGES
fi
python -m pip install -q -r requirements-test.txt -r requirements-ray.txt
python -m pytest -q "$@"
