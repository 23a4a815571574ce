"""The pack loads the prediction stack (XGBoost, the models) in the background once the engine configures the
stack, so the first AnalyzeStack does not pay for it; WARM_ENV=0 (preflight's extra pack processes) leaves it out.
Observed from outside, in the real pack process: is libxgboost mapped into it?"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from guardrails_pack.prediction_controls import WARM_ENV

from preflight.crossguard.run import PackSession
from preflight.engine.offline import PROJECT

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "guardrails"

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")


def _xgboost_loaded(session: PackSession) -> bool:
    pid = session.process._proc.pid  # the pack process itself
    return "libxgboost" in Path(f"/proc/{pid}/maps").read_text()


def _session(extra_env: dict[str, str] | None) -> PackSession:
    return PackSession(PACK, stack="dev", project=PROJECT, stack_config={"guardrails:environment": "dev"},
                       extra_env=extra_env)


def test_prediction_stack_loads_in_the_background_after_configure_stack() -> None:
    with _session(None) as session:  # __enter__ sends GetAnalyzerInfo and ConfigureStack
        deadline = time.monotonic() + 120
        while not _xgboost_loaded(session):
            assert time.monotonic() < deadline, "XGBoost never loaded after ConfigureStack"
            time.sleep(0.2)
        assert session.process.is_alive()


def test_warm_up_switched_off() -> None:
    with _session({WARM_ENV: "0"}) as session:
        time.sleep(5)  # far longer than the warm-up takes when it is on
        assert not _xgboost_loaded(session)
