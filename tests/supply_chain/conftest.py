from __future__ import annotations

import sys
from pathlib import Path

# Make `sc_helpers` importable as a plain module from this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
