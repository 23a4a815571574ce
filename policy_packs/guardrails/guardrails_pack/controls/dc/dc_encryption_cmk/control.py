"""dc.encryption-cmk: confidential, HIPAA and PCI workloads encrypt Lambda env and logs with a CMK."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION, LOG_GROUP
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.env_secrets import env_variables
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    reasons = [r for r, hit in (("confidential/restricted", data.sensitive), ("HIPAA", data.has("hipaa")),
                                ("PCI", data.has("pci")), ("unknown classification", data.unknown)) if hit]
    if not reasons:
        return
    if ctx.resource_type == LAMBDA_FUNCTION:
        field_name = "kmsKeyArn"
        variables = env_variables(props)
        if variables is not None and not variables:
            return  # no environment to encrypt
    else:
        field_name = "kmsKeyId"
    key = reveal(props.get(field_name))
    if is_unknown(key):
        return  # key created in the same update
    if not (isinstance(key, str) and key.startswith("arn:")):
        yield (f"{'/'.join(reasons)} workload: {field_name} must be a customer-managed KMS key ARN "
               f"(found {'nothing' if key in (None, '') else type(key).__name__})")


CONTROL = ResourceControl(
    id="dc.encryption-cmk",
    description="Lambda functions (environment) and log groups of confidential/restricted, HIPAA or PCI "
    "workloads are encrypted with a customer-managed KMS key (kmsKeyArn / kmsKeyId).",
    severity="high",
    remediation_steps="Create an aws.kms.Key with enable_key_rotation=True for the workload, allow the function "
    "role and logs.<region>.amazonaws.com to use it, and set kmsKeyArn on the function and kmsKeyId on the "
    "log group.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
    peer_ids=(),  # confidential-only CMK rule; the general ones are lam.env-kms and log.kms
    framework="HIPAA",
    resource_types=(LAMBDA_FUNCTION, LOG_GROUP),
    check=check,
)
