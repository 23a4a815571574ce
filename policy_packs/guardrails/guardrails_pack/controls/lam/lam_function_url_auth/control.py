"""lam.function-url-auth: function URLs require IAM auth and do not allow CORS from every origin."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION_URL
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.lambda_access import open_url_problem
from guardrails_pack.props import as_list, get_path, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    problem = open_url_problem(props)
    if problem:
        yield problem
    origins = get_path(props, "cors.allowOrigins")
    if is_unknown(origins):
        yield "cors.allowOrigins is unknown at preview; list the allowed origins"
    elif "*" in [reveal(o) for o in as_list(origins, "cors.allowOrigins")]:
        yield "cors.allowOrigins contains \"*\": any web page can call the function from a browser"


CONTROL = ResourceControl(
    id="lam.function-url-auth",
    description="A Lambda function URL uses authorizationType AWS_IAM (not NONE) and its CORS configuration "
    "does not allow every origin.",
    severity="critical",
    remediation_steps="Set `authorizationType: AWS_IAM` and sign requests with SigV4 (or front the function "
    "with an authenticated API Gateway); list explicit origins in `cors.allowOrigins`.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
    peer_ids=("CKV_AWS_258", "CKV2_AWS_75"),
    resource_types=(LAMBDA_FUNCTION_URL,),
    check=check,
)
