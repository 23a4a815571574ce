"""risk.ml-threshold: predicted change risk and capacity risk under the environment's thresholds."""

from collections.abc import Iterator
from pathlib import Path

from guardrails_pack.aws_helpers import KNATIVE_SERVICE, LAMBDA_FUNCTION, stack_resources
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation

from preflight.predict.guardrails import ml_risk_threshold


def check(ctx: StackContext) -> Iterator[StackViolation]:
    resources = [{"type": r.type, "name": r.name, "urn": r.urn, "props": props} for r, props in stack_resources(ctx)]
    settings = ctx.settings.model_dump(mode="json", by_alias=False)
    project = Path(ctx.option("project_dir")) if ctx.option("project_dir") else None
    for urn, message in ml_risk_threshold(resources, settings, project_dir=project):
        yield StackViolation(message, urn)


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
    config_schema={"project_dir": {"type": "string", "default": "",
                                   "description": "project root for declaration files (default: the repo)"}},
    check=check,
)
