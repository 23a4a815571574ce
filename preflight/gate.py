"""The gate: may `up` go ahead? Fail closed — anything preflight could not check blocks."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from preflight.crossguard.fixtures import ERROR_MARKERS

BLOCKING = "mandatory"


def failed_closed(violation: dict[str, Any]) -> bool:
    """A finding that says the control itself raised: it judged nothing, so it blocks at any severity/enforcement."""
    return any(marker in str(violation.get("message", "")) for marker in ERROR_MARKERS)


@dataclass
class Gate:
    decision: str  # pass | block
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": list(self.reasons)}


def decide(violations: list[dict[str, Any]], errors: list[str], risk_blocks: list[str] | None = None) -> Gate:
    """Block on mandatory violations, on controls that failed closed (any severity), on any error (a pack that
    crashed, a missing model...) and on risk limits."""
    reasons = [f"engine error: {e}" for e in errors]
    for v in violations:
        if v["enforcement"] == "disabled" or not (v["enforcement"] == BLOCKING or failed_closed(v)):
            continue
        where = f" ({v['file']}:{v['line']})" if v.get("file") else ""
        target = v.get("resource_name") or "stack"
        kind = "mandatory policy" if v["enforcement"] == BLOCKING else f"{v['enforcement']} policy (failed closed)"
        reasons.append(f"{kind} {v['policy']} on {target}{where}: {v['message']}")
    reasons.extend(risk_blocks or [])
    return Gate("block" if reasons else "pass", reasons)


def override_record(reason: str) -> dict[str, str]:
    """Who/when/why of an override; never silent, always in the report."""
    if not reason or not reason.strip():
        raise ValueError("--override needs a reason, e.g. --override \"INC-123: hotfix approved by on-call\"")
    who = os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or _login()
    return {"reason": reason.strip(), "who": who, "when": datetime.now(UTC).isoformat(timespec="seconds")}


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
