"""dc.confidential-cluster-local: sensitive Knative Services are reachable only inside the cluster."""

from collections.abc import Iterator

from guardrails_core.types import KNATIVE_SERVICE
from guardrails_core.values import reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import classification_of, ksvc_labels, metadata_of
from guardrails_pack.policy_exceptions import exceptions_of, reference_date
from guardrails_pack.props import props_of

VISIBILITY_LABEL = "networking.knative.dev/visibility"
CONTROL_ID = "dc.confidential-cluster-local"


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    required_for = ctx.settings.data_classification.require_cluster_local_for
    if not (data.unknown or data.level in required_for):
        return
    if reveal(ksvc_labels(props).get(VISIBILITY_LABEL)) == "cluster-local":
        return
    today = reference_date(ctx.option("reference_date"))
    max_days = int(ctx.option("exception_max_days"))
    mine = [e for e in exceptions_of(metadata_of(ctx.resource_type, props), ctx.annotation_domain, today, max_days)
            if e.control_id == CONTROL_ID]
    if any(e.valid for e in mine):
        return
    level = data.level or "an unknown (at preview) classification"
    reasons = "; ".join(p for e in mine for p in e.problems)
    yield (f"the service handles {level} data but is published outside the cluster: set label "
           f"{VISIBILITY_LABEL}: cluster-local" + (f" (exception rejected: {reasons})" if reasons else ""))


CONTROL = ResourceControl(
    id=CONTROL_ID,
    description="A Knative Service whose data class is in `data_classification.require_cluster_local_for` "
    "(confidential, restricted) carries `networking.knative.dev/visibility: cluster-local`, unless an "
    "exception annotation names a ticket and an unexpired date.",
    severity="critical",
    remediation_steps="Add the label `networking.knative.dev/visibility: cluster-local` to the ksvc metadata and "
    "expose it through an authenticated gateway; or add `security.<domain>/exception."
    "dc.confidential-cluster-local: \"ticket=SEC-123; expires=YYYY-MM-DD\"` (≤ 90 days) after approval.",
    url="https://knative.dev/docs/serving/services/private-services/",
    peer_ids=(),
    framework="GDPR",
    resource_types=(KNATIVE_SERVICE,),
    config_schema={
        "exception_max_days": {"type": "integer", "default": 90, "description": "longest exception allowed"},
        "reference_date": {"type": "string", "default": "", "description": "ISO date used as 'today'"},
    },
    check=check,
)
