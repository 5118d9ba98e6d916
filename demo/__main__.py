"""`python -m demo --topology bookinfo,boutique --port 9101 [--fault SPEC ...]`."""

from __future__ import annotations

import sys

from demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
