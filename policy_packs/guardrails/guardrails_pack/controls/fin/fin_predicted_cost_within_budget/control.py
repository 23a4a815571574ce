"""fin.predicted-cost-within-budget: predicted monthly cost of the stack / each service within budget.

The logic lives in `guardrails_predict.guardrails` (shared with the preflight gate); this file adapts it.
"""

from guardrails_pack.aws_helpers import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_pack.control import StackControl
from guardrails_pack.prediction_controls import prediction_check
from guardrails_predict.guardrails import predicted_cost_within_budget

check = prediction_check(predicted_cost_within_budget)


CONTROL = StackControl(
    id="fin.predicted-cost-within-budget",
    description="The predicted monthly cost (quantile `budgets.quantile`, default P90) of the whole stack is "
    "within `budgets.stackMonthlyUsd` and of each service within `budgets.serviceMonthlyUsd`. Cost = published "
    "Lambda / OpenCost prices x the workload (usage history > declared annotations > XGBoost model trained on "
    "the Azure Functions 2019 trace). If predictions cannot be made (model missing or corrupt, requests not "
    "priceable) the control fails closed.",
    severity="high",
    remediation_steps="Lower the cost (rightsizing patch in the preflight report: min-scale, memory, arm64), "
    "declare the real workload with finops.<domain>/expected-requests-per-month and expected-p50-latency-ms, "
    "or raise guardrails:budgets in the stack file with the budget owner's approval.",
    url="https://www.finops.org/framework/capabilities/budgeting/",
    peer_ids=("infracost:cost-policy", "pulumi/pulumi#13004"),
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    check=check,
)
