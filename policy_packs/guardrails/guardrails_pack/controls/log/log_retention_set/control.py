"""log.retention-set: every log group expires its logs, no later than the environment cap."""

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
    days = log_retention(props)
    cap = ctx.settings.limits.log_retention_days_max
    if is_unknown(days):
        yield "retentionInDays is unknown at preview; declare it in the stack limits"
    elif days is None:
        yield f"retentionInDays is not set: logs never expire (and cost grows forever); set at most {cap}"
    elif days > cap:
        data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
        if not data.has("hipaa"):  # HIPAA retention floors override the FinOps cap (dc.hipaa-log-retention-floor)
            yield f"retentionInDays {days} exceeds the {ctx.environment} cap limits.log_retention_days_max={cap}"


CONTROL = ResourceControl(
    id="log.retention-set",
    description="CloudWatch log groups set retentionInDays to a CloudWatch value no higher than the stack cap "
    "`limits.log_retention_days_max` (HIPAA-scoped groups may exceed the cap to meet their floor).",
    severity="medium",
    remediation_steps="Set `retentionInDays` on the log group (the ServerlessFunction component takes it from "
    "guardrails:limits) to an allowed CloudWatch value within the cap.",
    url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html",
    peer_ids=("CKV_AWS_66", "pulumi-ex:aws-ts-finops/cloudwatch-retention"),
    resource_types=(LOG_GROUP,),
    check=check,
)
