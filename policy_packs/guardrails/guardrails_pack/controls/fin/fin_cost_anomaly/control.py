"""fin.cost-anomaly: a change multiplying predicted cost or requests/limits needs a declared traffic change."""

from collections.abc import Iterator

from guardrails_pack.aws_helpers import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation
from guardrails_pack.prediction_controls import plan_inputs, project_option, violations
from guardrails_predict.guardrails import cost_anomaly, load_previous_state


def check(ctx: StackContext) -> Iterator[StackViolation]:
    resources, settings = plan_inputs(ctx)
    project = project_option(ctx)
    state = ctx.option("previous_state")
    # A relative previous_state is a file of the project (fail closed when project_dir is not configured).
    previous = load_previous_state(ctx.project_dir / state) if state else None  # else GUARDRAILS_PREVIOUS_STATE
    yield from violations(cost_anomaly(resources, settings, previous=previous, project_dir=project))


CONTROL = StackControl(
    id="fin.cost-anomaly",
    description="Against the previous state (`pulumi stack export` JSON named by the option previous_state or "
    "GUARDRAILS_PREVIOUS_STATE), no service multiplies its predicted P50 monthly cost or a request/limit "
    "(cpu/memory requests, min/max-scale, Lambda memory, reserved/provisioned concurrency) by more than "
    "`budgets.anomalyFactor` (default 2) x its declared finops.<domain>/expected-traffic-change. Without a "
    "previous state there is nothing to compare and the control passes.",
    severity="medium",
    remediation_steps="If the traffic really grows, declare finops.<domain>/expected-traffic-change with the "
    "factor on the service; otherwise revert the scale/resource change.",
    url="https://www.finops.org/framework/capabilities/anomaly-management/",
    peer_ids=("infracost:cost-policy-percentage-increase",),
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    config_schema={
        "previous_state": {"type": "string", "default": "",
                           "description": "`pulumi stack export` JSON, relative to the project root"},
    },
    check=check,
)
