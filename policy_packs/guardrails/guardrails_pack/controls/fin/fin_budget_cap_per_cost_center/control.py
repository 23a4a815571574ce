"""fin.budget-cap-per-cost-center: predicted cost summed per cost-center / project-id within its budget."""

from guardrails_pack.aws_helpers import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_pack.control import StackControl
from guardrails_pack.prediction_controls import prediction_check
from guardrails_predict.guardrails import budget_cap_per_cost_center

check = prediction_check(budget_cap_per_cost_center)


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
    check=check,
)
