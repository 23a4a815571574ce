"""lam.permission-source-scoped: a permission for an AWS service principal names the source resource/account."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_PERMISSION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    principal = reveal(props.get("principal"))
    if is_unknown(principal):
        yield "principal is unknown at preview; declare the calling service or account"
        return
    if not isinstance(principal, str):
        yield f"principal must be a string, got {describe(principal)}"
        return
    if not principal.endswith(".amazonaws.com"):
        return  # account/role principals are scoped by themselves
    source_arn = reveal(props.get("sourceArn"))
    source_account = reveal(props.get("sourceAccount"))
    if not source_arn and not source_account:
        yield (f"service principal {principal!r} without sourceArn or sourceAccount lets that service invoke "
               "the function on behalf of any account (confused deputy)")


CONTROL = ResourceControl(
    id="lam.permission-source-scoped",
    description="An aws.lambda.Permission for an AWS service principal (s3, sns, events, apigateway, ...) sets "
    "sourceArn or sourceAccount. An ARN unknown at preview counts as set.",
    severity="high",
    remediation_steps="Set `sourceArn` to the bucket/topic/rule/API ARN that invokes the function (and "
    "`sourceAccount` for S3), so no other account's resource can trigger it.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
    peer_ids=("CKV_AWS_364", "pulumi-cp:aws-lambda-permission-configure-source-arn"),
    framework="PCI-DSS",
    resource_types=(LAMBDA_PERMISSION,),
    check=check,
)
