"""A control that raises blocks the gate whatever its severity and enforcement level (the README's promise)."""

from __future__ import annotations

import pytest
from guardrails_pack.control import ResourceControl
from guardrails_pack.runtime import error_message

from preflight.gate import decide


def _control(severity: str) -> ResourceControl:
    return ResourceControl(id="sec.example", description="d", severity=severity, remediation_steps="r", url="https://x",
                           resource_types=("x",), check=lambda ctx: [])


@pytest.mark.parametrize("severity", ["low", "medium", "high", "critical"])
@pytest.mark.parametrize("enforcement", ["advisory", "mandatory", "remediate"])
def test_failed_closed_blocks_at_every_severity(severity: str, enforcement: str) -> None:
    message = error_message(_control(severity), KeyError("limits"))  # the pack wrapper's own words
    violation = {"policy": "sec-example", "enforcement": enforcement, "severity": severity, "message": message,
                 "resource_name": "svc", "file": "services/a.yaml", "line": 3}
    gate = decide([violation], [])
    assert gate.decision == "block" and "sec-example" in gate.reasons[0] and "failed closed" in gate.reasons[0]


def test_an_advisory_finding_that_ran_does_not_block() -> None:
    violation = {"policy": "p", "enforcement": "advisory", "severity": "low", "message": "[p] missing tag owner",
                 "resource_name": "svc"}
    assert decide([violation], []).decision == "pass"
