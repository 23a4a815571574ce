"""predict_plan on an empty plan: no services, no predictions, no crash."""

from pathlib import Path

from guardrails_core.settings import load_stack_settings
from guardrails_predict.plan import predict_plan

REPO = Path(__file__).resolve().parents[2]


def test_empty_plan_has_no_predictions():
    assert predict_plan([], load_stack_settings(REPO, "local"), None, REPO) == {}
