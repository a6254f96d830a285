#!/usr/bin/python3
"""Chaos test of fulcrum's real mode (docs/testing.md, "Chaos testing"): the entry point
that users and ctest run. The test itself is the package beside this file,
fulcrum_chaos/ (its __init__.py describes it; --help prints that).

  /usr/bin/python3 real/chaos/chaos.py --binary build/fulcrum --rounds 3 --quick
  /usr/bin/python3 real/chaos/chaos.py --binary build/fulcrum --rounds 100 --seed 1 --json out.json
  /usr/bin/python3 real/chaos/chaos.py --check-history WORKDIR/history.json
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fulcrum_chaos.cli import main  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(main())
