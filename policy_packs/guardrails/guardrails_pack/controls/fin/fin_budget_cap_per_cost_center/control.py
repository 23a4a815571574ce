"""fin.budget-cap-per-cost-center: predicted cost summed per cost-center / project-id within its budget."""

from collections.abc import Iterator
from pathlib import Path

from guardrails_pack.aws_helpers import KNATIVE_SERVICE, LAMBDA_FUNCTION, stack_resources
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation

from preflight.predict.guardrails import budget_cap_per_cost_center


def check(ctx: StackContext) -> Iterator[StackViolation]:
    resources = [{"type": r.type, "name": r.name, "urn": r.urn, "props": props} for r, props in stack_resources(ctx)]
    settings = ctx.settings.model_dump(mode="json", by_alias=False)
    project = Path(ctx.option("project_dir")) if ctx.option("project_dir") else None
    for urn, message in budget_cap_per_cost_center(resources, settings, project_dir=project):
        yield StackViolation(message, urn)


CONTROL = StackControl(
    id="fin.budget-cap-per-cost-center",
    description="The predicted monthly cost (quantile `budgets.quantile`) summed over the services of each "
    "cost-center (`budgets.costCenters`) and project-id (`budgets.projects`) stays within its budget; when such "
    "budgets exist, a service without the label/tag cannot be charged to one and is a violation.",
    severity="medium",
    remediation_steps="Move or shrink services of the over-budget cost center (see the rightsizing patches), fix "
    "the cost-center/project-id annotation, or agree a higher budget in guardrails:budgets.costCenters/projects.",
    url="https://www.finops.org/framework/capabilities/allocation/",
    peer_ids=("infracost:cost-policy",),
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    config_schema={"project_dir": {"type": "string", "default": "",
                                   "description": "project root for declaration files (default: the repo)"}},
    check=check,
)
