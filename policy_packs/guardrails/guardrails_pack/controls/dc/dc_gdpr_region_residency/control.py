"""dc.gdpr-region-residency: GDPR-scoped AWS resources stay in the EU regions of the stack settings."""

from collections.abc import Iterator

from guardrails_core.types import AWS_PROVIDER, LAMBDA_FUNCTION, LOG_GROUP
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import StackContext
from guardrails_pack.control import StackControl, StackViolation
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import describe, stack_resources


def check(ctx: StackContext) -> Iterator[StackViolation]:
    allowed = ctx.settings.data_classification.gdpr_regions
    providers = [reveal(p.get("region")) for _, p in stack_resources(ctx, AWS_PROVIDER)]
    for res, props in stack_resources(ctx, LAMBDA_FUNCTION, LOG_GROUP):
        data = classification_of(res.type, props, ctx.settings.annotation_domain)
        if not (data.has("gdpr") or data.unknown):
            continue
        own = reveal(props.get("region"))
        # The resource's own region (pulumi-aws v7) wins; otherwise every declared AWS provider could be
        # the one it uses, so all must be in the EU; otherwise the stack's aws_region.
        candidates = [own] if own is not None else (providers or [ctx.settings.aws_region])
        for region in candidates:
            if region is None or is_unknown(region):
                yield StackViolation(f"{res.name} is GDPR-scoped but its region is unknown at preview; pin the "
                                     f"provider region to one of {', '.join(allowed)}", res.urn)
            elif region not in allowed:
                yield StackViolation(f"{res.name} is GDPR-scoped but deploys to {describe(region)}; allowed: "
                                     f"{', '.join(allowed)}", res.urn)


CONTROL = StackControl(
    id="dc.gdpr-region-residency",
    description="Lambda functions and log groups whose compliance-scope includes gdpr deploy only to "
    "`data_classification.gdpr_regions` (resource `region`, else the AWS provider region, else "
    "`aws_region`); a region unknown at preview is a violation.",
    severity="high",
    remediation_steps="Set the stack's aws:region / guardrails:awsRegion (or the explicit provider's region) to "
    "an EU region from guardrails:dataClassification.gdprRegions, or remove gdpr from compliance-scope if "
    "the workload holds no personal data.",
    url="https://eur-lex.europa.eu/eli/reg/2016/679/oj",
    peer_ids=("pulumi-ex:aws-ts-finops/require-region",),
    framework="GDPR",
    resource_types=(LAMBDA_FUNCTION, LOG_GROUP, AWS_PROVIDER),
    check=check,
)
