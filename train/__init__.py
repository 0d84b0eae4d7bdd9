"""The training command line: `python -m train KIND ...` (see `python -m train --help`)."""
