"""fin.region-allowlist: AWS providers and region-pinned resources use only the stack's allowed regions."""

from collections.abc import Iterator

from guardrails_core.types import AWS_PROVIDER, LAMBDA_FUNCTION, LAMBDA_FUNCTION_URL, LAMBDA_PERMISSION, LOG_GROUP
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    allowed = ctx.settings.allowed_regions
    if not allowed:
        return  # no allow-list configured for the stack (documented in docs/policy-pack-aws.md)
    region = reveal(props_of(ctx).get("region"))
    if region is None:
        if ctx.resource_type == AWS_PROVIDER:
            yield "the AWS provider sets no region (it would use the ambient AWS_REGION); pin one"
        return  # other resources follow their provider, checked on the provider
    if is_unknown(region):
        yield f"region is unknown at preview; pin it to one of {', '.join(allowed)}"
    elif region not in allowed:
        yield f"region {describe(region)} is not in guardrails:allowedRegions ({', '.join(allowed)})"


CONTROL = ResourceControl(
    id="fin.region-allowlist",
    description="Every `pulumi:providers:aws` provider and every resource with its own `region` uses a region "
    "from `allowed_regions` (no check when the list is empty).",
    severity="medium",
    remediation_steps="Set the provider's region (aws:region in the stack file) or the resource's `region` to "
    "an allowed region; extend guardrails:allowedRegions only with FinOps/security approval.",
    url="https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html",
    peer_ids=("pulumi-ex:aws-ts-finops/require-region",),
    resource_types=(AWS_PROVIDER, LAMBDA_FUNCTION, LAMBDA_PERMISSION, LAMBDA_FUNCTION_URL, LOG_GROUP),
    check=check,
)
