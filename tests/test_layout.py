"""The core library never imports streamlit; every core module imports cleanly."""
import pkgutil
import subprocess
import sys

import genlab

from .conftest import ROOT


def test_core_modules_do_not_import_streamlit():
    modules = sorted(m.name for m in pkgutil.walk_packages(genlab.__path__, "genlab.")
                     if not m.name.startswith("genlab.ui"))
    assert "genlab.checkpoints" in modules and "genlab.training.loop" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "assert 'streamlit' not in sys.modules, 'streamlit imported by the core'\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
