"""lam.no-public-permission: no Lambda resource policy grants invoke to everyone (principal `*`)."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_PERMISSION
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.lambda_access import public_permission_problem
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    problem = public_permission_problem(props_of(ctx))
    if problem:
        yield problem


CONTROL = ResourceControl(
    id="lam.no-public-permission",
    description="An aws.lambda.Permission never grants lambda:InvokeFunction to principal `*` (unless "
    "narrowed to one AWS Organization with principalOrgId).",
    severity="critical",
    remediation_steps="Grant the permission to the calling service (e.g. apigateway.amazonaws.com) with a "
    "sourceArn, or to a specific account/role ARN. Put an authenticated API Gateway or a function URL with "
    "AWS_IAM auth in front of the function instead of a public resource policy.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
    peer_ids=("CKV_AWS_301", "aws-config:lambda-function-public-access-prohibited"),
    resource_types=(LAMBDA_PERMISSION,),
    check=check,
)
