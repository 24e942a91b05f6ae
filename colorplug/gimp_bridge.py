"""`python -m colorplug.gimp_bridge FOLDER`: the name installed GIMP plug-ins call the engine by (the
bridge itself is colorplug/gimp/bridge.py)."""

from __future__ import annotations

import sys

from colorplug.gimp.bridge import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
