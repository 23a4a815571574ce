"""iam.trust-policy-scoped: the function role can be assumed only by the Lambda service."""

from collections.abc import Iterator

from guardrails_core.types import IAM_ROLE
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.iam import parse_policy_document, statement_grants
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    doc = parse_policy_document(props_of(ctx).get("assumeRolePolicy"), "assumeRolePolicy")
    if doc is None:
        yield "assumeRolePolicy is unknown at preview, so it cannot be shown to trust only Lambda"
        return
    for part in doc.unknown_parts:
        yield f"{part} is unknown at preview; declare the trusted principals literally"
    allowed = set(ctx.option("allowed_principals"))
    for stmt in doc.allows():
        if not any(statement_grants(stmt, a) for a in ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity")):
            continue
        at = f"assumeRolePolicy.Statement[{stmt.index}]"
        if not stmt.principals:
            yield f"{at} allows sts:AssumeRole with no Principal"
        for principal in stmt.principals:
            if principal == "*" or principal.endswith(":*"):
                yield f"{at} lets any principal (\"*\") assume the role"
            elif principal not in allowed:
                yield f"{at} trusts {principal!r}; allowed: {', '.join(sorted(allowed))}"


CONTROL = ResourceControl(
    id="iam.trust-policy-scoped",
    description="The Lambda execution role's trust policy allows sts:AssumeRole only for "
    "Service lambda.amazonaws.com (never `*`, never other accounts or services).",
    severity="high",
    remediation_steps="Set the role's assumeRolePolicy to a single statement: Effect Allow, Principal "
    "{Service: lambda.amazonaws.com}, Action sts:AssumeRole. Use a separate role for any other caller.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    peer_ids=("CKV_AWS_60", "CKV_AWS_61"),
    resource_types=(IAM_ROLE,),
    config_schema={"allowed_principals": {
        "type": "array", "items": {"type": "string"}, "default": ["Service:lambda.amazonaws.com"],
        "description": "principals allowed in the trust policy, as <Service|AWS|Federated>:<id>"}},
    check=check,
)
