"""lam.tracing: X-Ray active tracing on every Lambda function."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import describe, get_path, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    mode = reveal(get_path(props_of(ctx), "tracingConfig.mode"))
    if is_unknown(mode):
        yield "tracingConfig.mode is unknown at preview; declare it as \"Active\""
    elif mode != "Active":
        yield f"tracingConfig.mode is {describe(mode) if mode is not None else 'not set'}; set it to \"Active\""


CONTROL = ResourceControl(
    id="lam.tracing",
    description="Lambda functions send traces to AWS X-Ray (tracingConfig.mode = Active).",
    severity="low",
    remediation_steps="Set `tracingConfig: {mode: Active}` on the function (the ServerlessFunction component "
    "does this by default) and allow xray:PutTraceSegments in the role (AWSXRayDaemonWriteAccess).",
    url="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    # Checkov also accepts PassThrough, which records only traces an upstream caller started.
    stricter_than=("CKV_AWS_50",),
    peer_ids=("pulumi-cp:aws-lambda-function-enable-tracing-config",
              "pulumi-cp:aws-lambda-function-configure-tracing-config"),
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
