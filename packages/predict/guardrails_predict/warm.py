"""Load the prediction stack (numpy, XGBoost, the packaged models) ahead of its first use, in the background.

Both users of the predictions have idle time before they need them: preflight waits for the program and the policy
packs before its predictions step, and a policy pack is configured at the start of a preview but sees AnalyzeStack
(where the prediction controls run) only after the program registered everything. Loading meanwhile takes ~1.5 s
off the critical path on a loaded 2-core machine (issue 17). The models are the ones `plan.cached_models(None)`
serves (checksummed once per process; the cache is locked, so a run that needs them first simply waits).
"""

from __future__ import annotations

import threading


def _load() -> None:
    try:
        from guardrails_predict import guardrails  # noqa: F401 - the import is the point (plan, model_store, XGBoost)
        from guardrails_predict.plan import cached_models

        cached_models(None)
    except Exception:  # noqa: BLE001 - whoever predicts loads them again and reports what is wrong (fail closed)
        return


def warm_up_in_background() -> threading.Thread:
    """Start loading; the daemon thread never outlives the process's real work and never raises."""
    thread = threading.Thread(target=_load, name="guardrails-warm-predictions", daemon=True)
    thread.start()
    return thread
