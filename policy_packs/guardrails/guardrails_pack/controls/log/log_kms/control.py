"""log.kms: log groups are encrypted with a customer-managed KMS key."""

from collections.abc import Iterator

from guardrails_core.types import LOG_GROUP
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    key = reveal(props_of(ctx).get("kmsKeyId"))
    if is_unknown(key):
        return  # a key created in the same update
    if key is None or key == "":
        yield "kmsKeyId is not set: log events are encrypted only with the CloudWatch-owned key"
    elif not isinstance(key, str) or not key.startswith("arn:"):
        yield f"kmsKeyId must be a KMS key ARN (CloudWatch Logs rejects ids and aliases), got {describe(key)}"


CONTROL = ResourceControl(
    id="log.kms",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key (kmsKeyId). "
    "dc.encryption-cmk makes this mandatory for confidential, HIPAA and PCI workloads.",
    severity="medium",
    remediation_steps="Create an aws.kms.Key whose key policy allows logs.<region>.amazonaws.com to use it, "
    "enable rotation, and set `kmsKeyId` to its ARN on the log group.",
    url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    peer_ids=("CKV_AWS_158",),
    resource_types=(LOG_GROUP,),
    check=check,
)
