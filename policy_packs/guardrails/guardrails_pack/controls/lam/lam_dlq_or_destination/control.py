"""lam.dlq-or-destination: failed asynchronous invocations land in a DLQ or an on-failure destination."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation
from guardrails_pack.lambda_access import lambda_name
from guardrails_pack.props import get_path, stack_resources

EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"


def check(ctx: StackContext) -> Iterator[StackViolation]:
    on_failure: set[str] = set()
    unknown_target = False
    for _, props in stack_resources(ctx, EVENT_INVOKE_CONFIG):
        dest = get_path(props, "destinationConfig.onFailure.destination")
        fn = reveal(props.get("functionName"))
        if dest is None:
            continue
        if is_unknown(fn):
            unknown_target = True
        elif isinstance(fn, str):
            on_failure.add(fn.rsplit(":", 1)[-1] if fn.startswith("arn:") else fn)
    for res, props in stack_resources(ctx, LAMBDA_FUNCTION):
        if get_path(props, "deadLetterConfig.targetArn") is not None:
            continue  # a DLQ ARN, possibly unknown at preview (queue created in the same update)
        fn = lambda_name(props, res.name)
        if (isinstance(fn, str) and fn in on_failure) or unknown_target:
            continue
        yield StackViolation(f"function {fn!r} has no deadLetterConfig.targetArn and no "
                             "FunctionEventInvokeConfig on-failure destination: failed async events are lost",
                             res.urn)


CONTROL = StackControl(
    id="lam.dlq-or-destination",
    description="Each Lambda function has a dead-letter queue (deadLetterConfig.targetArn) or an on-failure "
    "destination (aws.lambda.FunctionEventInvokeConfig), so failed asynchronous invocations are kept.",
    severity="low",
    remediation_steps="Add `deadLetterConfig: {targetArn: <SQS or SNS ARN>}` to the function spec, or an "
    "aws.lambda.FunctionEventInvokeConfig with destinationConfig.onFailure.destination.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
    peer_ids=(),  # CKV_AWS_116 and AWS Config lambda-dlq-check want a DLQ only: see peer_gaps.py
    resource_types=(LAMBDA_FUNCTION, EVENT_INVOKE_CONFIG),
    check=check,
)
