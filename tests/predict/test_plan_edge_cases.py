"""predict_plan on an empty plan: no services, no predictions, no crash."""

from pathlib import Path

from preflight.predict import predict_plan
from stackconf import load_stack_settings

REPO = Path(__file__).resolve().parents[2]


def test_empty_plan_has_no_predictions():
    assert predict_plan([], load_stack_settings(REPO, "local"), None, REPO) == {}
