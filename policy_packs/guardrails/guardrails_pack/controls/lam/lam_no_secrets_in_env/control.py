"""lam.no-secrets-in-env: no hard-coded secrets (names or values) in Lambda environment variables."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.env_secrets import env_variables, secret_in_env
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    variables = env_variables(props_of(ctx))
    if variables is None:
        yield "environment.variables is unknown at preview, so it cannot be shown to hold no secrets"
        return
    for name in sorted(variables):
        problem = secret_in_env(str(name), variables[name])
        if problem:
            yield f"environment.variables.{name} {problem}"


CONTROL = ResourceControl(
    id="lam.no-secrets-in-env",
    description="Lambda environment variables hold no secrets: no secret-looking names with literal values, "
    "no values that look like keys or tokens, and no Pulumi secrets (Lambda shows env vars in plain text).",
    severity="critical",
    remediation_steps="Store the secret in AWS Secrets Manager or SSM Parameter Store (SecureString), put only "
    "its ARN or name in an env var ending in _ARN/_PARAM, grant the role read access, and fetch it at run time "
    "(e.g. the AWS Parameters and Secrets Lambda Extension). Rotate any secret that was committed.",
    url="https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html",
    peer_ids=(),  # CKV_AWS_45: see guardrails_pack/peer_gaps.py
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
