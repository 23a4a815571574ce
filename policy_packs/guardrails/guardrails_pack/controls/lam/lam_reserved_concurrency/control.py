"""lam.reserved-concurrency: reservedConcurrentExecutions is set, positive and within the environment cap."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import as_int, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    raw = props_of(ctx).get("reservedConcurrentExecutions")
    if is_unknown(raw):
        yield "reservedConcurrentExecutions is unknown at preview; declare a number"
        return
    value = as_int(raw, "reservedConcurrentExecutions")
    cap = ctx.settings.limits.reserved_concurrency_max
    # -1 is the provider's "unreserved" value: the function can take the whole account pool.
    if value is None or value == -1:
        yield (f"reservedConcurrentExecutions is not set: the function can consume the whole account "
               f"concurrency pool; set 1..{cap}")
    elif value == 0:
        yield "reservedConcurrentExecutions is 0, which throttles every invocation; set 1.." + str(cap)
    elif value < -1:
        yield f"reservedConcurrentExecutions {value} is invalid (allowed: -1 for unreserved, or 0..{cap})"
    elif value > cap:
        yield (f"reservedConcurrentExecutions {value} exceeds the {ctx.environment} cap "
               f"limits.reserved_concurrency_max={cap}")


CONTROL = ResourceControl(
    id="lam.reserved-concurrency",
    description="Lambda functions reserve concurrency (bounding cost and protecting the account pool), "
    "between 1 and the environment cap `limits.reserved_concurrency_max`.",
    severity="medium",
    remediation_steps="Set `reservedConcurrentExecutions` in the function spec to the peak concurrency you "
    "expect (requests/s × duration), no higher than guardrails:limits.reservedConcurrencyMax for the stack.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
    peer_ids=("aws-config:lambda-concurrency-check",),
    # Checkov accepts any value but -1 (0, which throttles everything, too); we also cap it per environment.
    stricter_than=("CKV_AWS_115",),
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
