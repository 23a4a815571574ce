"""dc.label-required: every workload declares its data class and a valid compliance scope."""

from collections.abc import Iterator

from guardrails_core.types import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import KNOWN_COMPLIANCE_SCOPES, classification_of
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    data = classification_of(ctx.resource_type, props_of(ctx), ctx.annotation_domain)
    yield from data.problems
    levels = ctx.settings.data_classification.levels
    if data.unknown:
        yield "the data classification or compliance scope is unknown at preview; declare it literally"
    elif data.level is None:
        yield (f"no data-classification label/tag (or {ctx.domain_key('security', 'data-classification')} "
               f"annotation); allowed: {', '.join(levels)}")
    elif data.level not in levels:
        yield f"data-classification {data.level!r} is not one of {', '.join(levels)}"
    for scope in data.scopes:
        if scope not in KNOWN_COMPLIANCE_SCOPES:
            yield f"compliance-scope {scope!r} is not one of {', '.join(KNOWN_COMPLIANCE_SCOPES)}"
    if data.scopes and data.level == "public":
        yield f"compliance-scope {' '.join(data.scopes)} covers regulated data, which cannot be classified public"


CONTROL = ResourceControl(
    id="dc.label-required",
    description="Every Knative Service and Lambda function carries `data-classification` in "
    "`data_classification.levels` and, when present, `compliance-scope` ⊆ {gdpr, hipaa, pci} and "
    "`pci-scope` ∈ {true, false}.",
    severity="high",
    remediation_steps="Add `security.<domain>/data-classification: <level>` (and compliance-scope / pci-scope "
    "when they apply) to the service file's metadata.annotations; the components copy them to labels/tags.",
    url="https://docs.aws.amazon.com/whitepapers/latest/data-classification/data-classification.html",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    check=check,
)
