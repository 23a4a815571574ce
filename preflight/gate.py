"""The gate: may `up` go ahead? Fail closed — anything preflight could not check blocks."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from preflight.crossguard.fixtures import ERROR_MARKERS

BLOCKING = "mandatory"
# Reports recognise the reasons that stand for mandatory violations by this prefix (they show fixes instead).
MANDATORY_REASON_PREFIX = "mandatory policy "
REASON_TARGETS = 3


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
    crashed, a missing model...) and on risk limits.

    One reason per blocking control (count and the first affected resources), not one per violation: with 200
    services a reason per violation is hundreds of lines; the violations themselves are all in the report."""
    reasons = [f"engine error: {e}" for e in errors]
    by_policy: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for v in violations:
        if v["enforcement"] == "disabled" or not (v["enforcement"] == BLOCKING or failed_closed(v)):
            continue
        # A control that raised judged nothing: say so, whatever its level (mandatory ones keep the prefix).
        kind = f"{v['enforcement']} policy (failed closed) " if failed_closed(v) else MANDATORY_REASON_PREFIX
        by_policy.setdefault((kind, v["policy"]), []).append(v)
    for (kind, policy), items in by_policy.items():
        targets = list(dict.fromkeys(_target(v) for v in items))
        shown = ", ".join(targets[:REASON_TARGETS])
        more = f" and {len(targets) - REASON_TARGETS} more" if len(targets) > REASON_TARGETS else ""
        reasons.append(f"{kind}{policy}: {len(items)} violation(s) on {shown}{more}")
    reasons.extend(risk_blocks or [])
    return Gate("block" if reasons else "pass", reasons)


def _target(violation: dict[str, Any]) -> str:
    where = f" ({violation['file']}:{violation['line']})" if violation.get("file") else ""
    return f"{violation.get('resource_name') or 'stack'}{where}"


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
