#!/usr/bin/env bash
# Install the test dependencies (Debian's chromium for the browser tests, the Python packages) and run
# the whole test suite. Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_models.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium
fi
python -m pip install -q -r requirements-test.txt
python -m pytest -q "$@"
