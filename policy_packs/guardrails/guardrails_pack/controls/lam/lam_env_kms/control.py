"""lam.env-kms: a function with environment variables encrypts them with a customer-managed KMS key."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.env_secrets import env_variables
from guardrails_pack.props import props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    variables = env_variables(props)
    if variables is not None and not variables:
        return  # nothing to encrypt
    key = reveal(props.get("kmsKeyArn"))
    if is_unknown(key):
        return  # a key created in the same update: set, its ARN is only known at `up`
    if key is None or key == "":
        yield ("environment variables are encrypted only with the AWS-managed key: set kmsKeyArn to a "
               "customer-managed KMS key")
    elif not isinstance(key, str):
        yield f"kmsKeyArn must be a KMS key ARN string, got {type(key).__name__}"
    elif not key.startswith("arn:"):
        yield f"kmsKeyArn {key!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"


CONTROL = ResourceControl(
    id="lam.env-kms",
    description="A Lambda function with environment variables encrypts them with a customer-managed KMS key "
    "(kmsKeyArn). An ARN unknown at preview (a key created in the same update) counts as set.",
    severity="medium",
    remediation_steps="Create (or reuse) an aws.kms.Key with rotation enabled, grant the function role "
    "kms:Decrypt on it, and set `kmsKeyArn` on the function. dc.encryption-cmk makes this mandatory for "
    "confidential, HIPAA and PCI workloads.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
    peer_ids=(),  # CKV_AWS_173: see guardrails_pack/peer_gaps.py
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
