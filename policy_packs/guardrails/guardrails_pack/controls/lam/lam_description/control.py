"""lam.description: every function says what it does (for on-call and cost reviews)."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    text = reveal(props_of(ctx).get("description"))
    if is_unknown(text):
        return  # computed from other outputs: present
    if text is None or (isinstance(text, str) and not text.strip()):
        yield "description is empty; say what the function does and who owns it"
    elif not isinstance(text, str):
        yield f"description must be a string, got {describe(text)}"


CONTROL = ResourceControl(
    id="lam.description",
    description="Lambda functions carry a non-empty description.",
    severity="low",
    remediation_steps="Add `description:` to the function spec (one line: purpose and owning team).",
    url="https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
    peer_ids=("pulumi-cp:aws-lambda-function-missing-description",),
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
