"""dc.hipaa-log-retention-floor: HIPAA-scoped log groups keep logs at least the HIPAA floor."""

from collections.abc import Iterator

from guardrails_core.types import LOG_GROUP
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.lambda_access import log_retention
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    if not (data.has("hipaa") or data.unknown):
        return
    floor = ctx.settings.data_classification.hipaa_log_retention_floor_days
    days = log_retention(props)
    if is_unknown(days):
        yield "retentionInDays is unknown at preview; declare it (HIPAA floor applies)"
    elif days is not None and days < floor:
        yield (f"HIPAA-scoped log group keeps logs {days} days, below data_classification."
               f"hipaa_log_retention_floor_days={floor} (this floor overrides the FinOps cap)")


CONTROL = ResourceControl(
    id="dc.hipaa-log-retention-floor",
    description="Log groups of HIPAA-scoped workloads keep logs at least "
    "`data_classification.hipaa_log_retention_floor_days` (default 2192 ≈ 6 years); this floor overrides "
    "`limits.log_retention_days_max`.",
    severity="medium",
    remediation_steps="Set retentionInDays to the HIPAA floor (2192) or more on the workload's log group; "
    "log.retention-set allows exceeding the FinOps cap for HIPAA-scoped groups.",
    url="https://www.hhs.gov/hipaa/for-professionals/security/laws-regulations/index.html",
    peer_ids=("CKV_AWS_338",),
    framework="HIPAA",
    resource_types=(LOG_GROUP,),
    check=check,
)
