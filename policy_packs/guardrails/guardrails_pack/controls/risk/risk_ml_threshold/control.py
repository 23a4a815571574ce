"""risk.ml-threshold: predicted change risk and capacity risk under the environment's thresholds."""

from guardrails_pack.aws_helpers import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_pack.control import StackControl
from guardrails_pack.prediction_controls import prediction_check
from guardrails_predict.guardrails import ml_risk_threshold

check = prediction_check(ml_risk_threshold)


CONTROL = StackControl(
    id="risk.ml-threshold",
    description="The XGBoost change-risk probability (a change fails or is rolled back; bootstrap model trained "
    "on SYNTHETIC data unless retrained from the team's history) stays at or below `risk.changeRiskThreshold`, "
    "and the capacity-risk probability (predicted busiest-minute concurrency exceeds max-scale x target or "
    "reserved concurrency; trained on the Azure Functions 2019 trace) at or below `risk.capacityRiskThreshold`.",
    severity="high",
    remediation_steps="Split the change (fewer replacements/deletions per deploy), avoid widening IAM or exposure "
    "in the same change, fix the policy findings, or raise max-scale/reserved concurrency; retrain with "
    "`preflight train risk --history` so the threshold applies to your own outcomes.",
    url="https://xgboost.readthedocs.io/en/stable/prediction.html",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    check=check,
)
