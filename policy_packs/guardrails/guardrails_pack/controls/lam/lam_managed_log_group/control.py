"""lam.managed-log-group: every function has a log group declared in the program (so retention/KMS apply)."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION, LOG_GROUP
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation
from guardrails_pack.lambda_access import lambda_name
from guardrails_pack.props import describe, get_path, stack_resources


def check(ctx: StackContext) -> Iterator[StackViolation]:
    groups = stack_resources(ctx, LOG_GROUP)
    names = {reveal(p.get("name")) for _, p in groups}
    any_unknown_group = any(is_unknown(n) for n in names)
    for res, props in stack_resources(ctx, LAMBDA_FUNCTION):
        fn = lambda_name(props, res.name)
        custom = reveal(get_path(props, "loggingConfig.logGroup"))
        if is_unknown(fn):
            if not any_unknown_group and not groups:
                yield StackViolation("the function name is unknown at preview and the stack declares no log "
                                     "group at all", res.urn)
            continue
        if not isinstance(fn, str):
            yield StackViolation(f"function name must be a string, got {describe(fn)}", res.urn)
            continue
        wanted = custom if isinstance(custom, str) and custom else f"/aws/lambda/{fn}"
        if wanted not in names and not (is_unknown(custom) and groups):
            yield StackViolation(f"function {fn!r} writes to {wanted}, but no aws.cloudwatch.LogGroup with that "
                                 "name is declared: Lambda would create one that never expires", res.urn)


CONTROL = StackControl(
    id="lam.managed-log-group",
    description="Every Lambda function has its log group (`/aws/lambda/<name>` or loggingConfig.logGroup) "
    "declared in the program, so retention, KMS and tagging controls apply to it.",
    severity="medium",
    remediation_steps="Declare an aws.cloudwatch.LogGroup named /aws/lambda/<function name> (the "
    "ServerlessFunction component does this) and make the function depend on it.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
    peer_ids=(),
    resource_types=(LAMBDA_FUNCTION, LOG_GROUP),
    check=check,
)
