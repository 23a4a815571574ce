"""The pack's process turns the cyclic collector off while it starts (the engine waits for its port) and must
serve with it back on: frozen start-up state and guardrails_core.collector's thresholds. A pack left with the
collector off would grow without bound over a long `pulumi preview`; this runs the pack's own `__main__.py` in
the pack's interpreter, with PolicyPack standing in to report the collector's state instead of serving."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from guardrails_core.collector import GC_YOUNG_THRESHOLD

from preflight.crossguard.plugin import PolicyPackProcess

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "guardrails"

_REPORT_INSTEAD_OF_SERVING = textwrap.dedent("""
    import gc, json, runpy, sys
    import pulumi_policy

    class Report:
        def __init__(self, **arguments):
            print(json.dumps({"enabled": gc.isenabled(), "threshold": gc.get_threshold(),
                              "frozen": gc.get_freeze_count(), "policies": len(arguments["policies"])}))

    pulumi_policy.PolicyPack = Report
    runpy.run_path("__main__.py", run_name="__main__")
""")


def test_the_pack_serves_with_the_collector_on_and_its_start_up_frozen() -> None:
    process = PolicyPackProcess(PACK, project="collector", stack="dev",
                                stack_config={"guardrails:environment": "dev"})
    out = subprocess.run([process.python, "-c", _REPORT_INSTEAD_OF_SERVING], cwd=PACK,
                         env=process.environment(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state["policies"] > 50  # the pack really started (every control became a policy)
    assert state["enabled"] is True
    assert state["threshold"][0] == GC_YOUNG_THRESHOLD
    assert state["frozen"] > 10_000  # the modules and policies of start-up (~65,000 objects), out of its sight
