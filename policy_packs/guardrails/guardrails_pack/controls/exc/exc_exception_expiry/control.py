"""exc.exception-expiry: every policy exception names a ticket and expires within the allowed window."""

from collections.abc import Iterator

from guardrails_core.types import KNATIVE_SERVICE
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import AWS_TAGGABLE_TYPES, ksvc_template_annotations, metadata_of
from guardrails_pack.policy_exceptions import exceptions_of, reference_date
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    meta = metadata_of(ctx.resource_type, props)
    if ctx.resource_type == KNATIVE_SERVICE:
        meta = {**ksvc_template_annotations(props), **meta}
    today = reference_date(ctx.option("reference_date"))
    for exc in exceptions_of(meta, ctx.annotation_domain, today, int(ctx.option("max_days"))):
        yield from exc.problems


CONTROL = ResourceControl(
    id="exc.exception-expiry",
    description="Every exception annotation/tag `security.<domain>/exception.<control-id>` has the form "
    "`ticket=ABC-123; expires=YYYY-MM-DD`, with the expiry in the future and at most `max_days` (90) away.",
    severity="medium",
    remediation_steps="Write the exception as `ticket=<tracker id>; expires=<ISO date ≤ 90 days ahead>; "
    "reason=...`; renew it through review before it expires, or remove it once the finding is fixed.",
    url="https://kyverno.io/policies/other/expiration-for-policyexceptions/expiration-for-policyexceptions/",
    peer_ids=("kyverno:other/expiration-for-policyexceptions",),
    resource_types=(KNATIVE_SERVICE, *AWS_TAGGABLE_TYPES),
    config_schema={
        "max_days": {"type": "integer", "default": 90, "description": "longest exception allowed (days)"},
        "reference_date": {"type": "string", "default": "", "description": "ISO date used as 'today'"},
    },
    check=check,
)
