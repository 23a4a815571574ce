"""dc.confidential-no-public-lambda: no public invoke path (permission `*`, URL auth NONE) to sensitive functions."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION, LAMBDA_FUNCTION_URL, LAMBDA_PERMISSION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation
from guardrails_pack.lambda_access import lambda_name, open_url_problem, public_permission_problem
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import stack_resources


def _target(value: object) -> object:
    """Function name from a name, a function ARN (…:function:<name>[:qualifier]) or an unknown."""
    value = reveal(value)
    if isinstance(value, str) and value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    return value


def check(ctx: StackContext) -> Iterator[StackViolation]:
    sensitive: dict[str, str] = {}  # function name -> why
    unknown_names = False
    for res, props in stack_resources(ctx, LAMBDA_FUNCTION):
        data = classification_of(res.type, props, ctx.settings.annotation_domain)
        if data.sensitive or data.unknown:
            name = lambda_name(props, res.name)
            if is_unknown(name):
                unknown_names = True
            else:
                sensitive[str(name)] = data.level or "unknown classification"
    if not sensitive and not unknown_names:
        return
    for kind, field_name, problem_of in ((LAMBDA_PERMISSION, "function", public_permission_problem),
                                        (LAMBDA_FUNCTION_URL, "functionName", open_url_problem)):
        for res, props in stack_resources(ctx, kind):
            problem = problem_of(props)
            if not problem:
                continue
            target = _target(props.get(field_name))
            if is_unknown(target) or unknown_names:
                yield StackViolation(f"{res.name}: {problem}; its target function cannot be resolved at preview "
                                     "and the stack has confidential/restricted functions", res.urn)
            elif target in sensitive:
                yield StackViolation(f"{res.name}: {problem}, and {target!r} handles {sensitive[target]} data",
                                     res.urn)


CONTROL = StackControl(
    id="dc.confidential-no-public-lambda",
    description="No Lambda function classified confidential/restricted is publicly invocable: no "
    "aws.lambda.Permission with principal `*` and no FunctionUrl with authorizationType NONE targets it.",
    severity="critical",
    remediation_steps="Remove the public permission / function URL, or use AWS_IAM auth behind an authenticated "
    "API Gateway; sensitive functions are called only by named principals with sourceArn.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
    peer_ids=("CKV_AWS_301", "CKV_AWS_258", "aws-config:lambda-function-public-access-prohibited"),
    framework="GDPR",
    resource_types=(LAMBDA_FUNCTION, LAMBDA_PERMISSION, LAMBDA_FUNCTION_URL),
    check=check,
)
