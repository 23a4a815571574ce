"""Make the policy pack's package importable (it is not installed; the CLI runs it from its folder)."""

from __future__ import annotations

import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[2] / "policy_packs" / "guardrails"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))
