"""iam.permissions-boundary: workload roles carry the organisation's permissions boundary."""

from collections.abc import Iterator

from guardrails_core.types import IAM_ROLE
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    boundary = reveal(props_of(ctx).get("permissionsBoundary"))
    expected = str(ctx.option("boundary_arn") or "")
    if is_unknown(boundary):
        return  # a boundary policy created in the same update
    if boundary is None or boundary == "":
        yield "the role has no permissionsBoundary: nothing caps what its policies can grant"
    elif not isinstance(boundary, str) or not boundary.startswith("arn:"):
        yield f"permissionsBoundary must be an IAM policy ARN, got {describe(boundary)}"
    elif expected and boundary != expected:
        yield f"permissionsBoundary is {boundary!r}; the organisation boundary is {expected!r}"


CONTROL = ResourceControl(
    id="iam.permissions-boundary",
    description="Every IAM role the program creates has a permissions boundary (the organisation's, when "
    "the option `boundary_arn` is set), capping what any attached policy can grant.",
    severity="medium",
    remediation_steps="Set `permissionsBoundary` on the role to the organisation boundary policy ARN "
    "(ask the platform team); the ServerlessFunction component passes it through from the function spec.",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html",
    peer_ids=(),
    resource_types=(IAM_ROLE,),
    config_schema={"boundary_arn": {"type": "string", "default": "",
                                    "description": "required boundary ARN (empty: any boundary)"}},
    check=check,
)
