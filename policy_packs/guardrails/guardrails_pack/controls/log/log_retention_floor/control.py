"""log.retention-floor: logs are kept at least the compliance floor of the stack."""

from collections.abc import Iterator

from guardrails_core.types import LOG_GROUP
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.lambda_access import log_retention
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    days = log_retention(props_of(ctx))
    floor = ctx.settings.limits.log_retention_days_min
    if is_unknown(days):
        yield "retentionInDays is unknown at preview; declare it"
    elif days is not None and days < floor:
        yield f"retentionInDays {days} is below the floor limits.log_retention_days_min={floor}"


CONTROL = ResourceControl(
    id="log.retention-floor",
    description="CloudWatch log groups keep logs at least `limits.log_retention_days_min` days (incident "
    "investigation and audit). Data-classification floors (HIPAA) are checked by dc.hipaa-log-retention-floor.",
    severity="medium",
    remediation_steps="Raise `retentionInDays` to at least guardrails:limits.logRetentionDaysMin (pick the "
    "next CloudWatch value), or lower the floor for the stack if the data allows it.",
    url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html",
    peer_ids=("CKV_AWS_338",),
    resource_types=(LOG_GROUP,),
    check=check,
)
