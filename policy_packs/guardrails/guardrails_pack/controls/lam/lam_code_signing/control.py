"""lam.code-signing: zip-packaged functions in PCI scope deploy only signed code (code signing config)."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    in_scope = data.has("pci") or (ctx.option("require_everywhere") is True)
    if not in_scope and not data.unknown:
        return
    package_type = reveal(props.get("packageType")) or "Zip"
    if package_type == "Image":
        return  # Lambda code signing covers zip packages only; images are covered by dc.pci-signed-artifacts
    arn = reveal(props.get("codeSigningConfigArn"))
    if is_unknown(arn):
        return  # a signing config created in the same update
    if arn is None or arn == "":
        yield ("the function is in PCI scope but has no codeSigningConfigArn: unsigned or tampered zip packages "
               "would deploy")
    elif not isinstance(arn, str) or not arn.startswith("arn:"):
        yield f"codeSigningConfigArn must be a code signing config ARN, got {describe(arn)}"


CONTROL = ResourceControl(
    id="lam.code-signing",
    description="A zip-packaged Lambda function in PCI scope (tag pci-scope=true or compliance-scope pci) has a "
    "code signing config, so only code signed by an approved AWS Signer profile deploys.",
    severity="high",
    remediation_steps="Create an aws.signer.SigningProfile and an aws.lambda.CodeSigningConfig with "
    "`untrustedArtifactOnDeployment: Enforce`, sign the zip in CI, and set `codeSigningConfigArn`.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html",
    peer_ids=(),  # CKV_AWS_272: see guardrails_pack/peer_gaps.py
    framework="PCI-DSS",
    resource_types=(LAMBDA_FUNCTION,),
    config_schema={"require_everywhere": {"type": "boolean", "default": False,
                                          "description": "require code signing outside PCI scope too"}},
    check=check,
)
