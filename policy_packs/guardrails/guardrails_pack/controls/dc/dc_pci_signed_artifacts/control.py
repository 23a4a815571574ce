"""dc.pci-signed-artifacts: PCI workloads deploy only digest-pinned, signed artifacts."""

from collections.abc import Iterator

from guardrails_core.types import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext, parse_image
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import classification_of, ksvc_template_annotations, metadata_of
from guardrails_pack.props import props_of


def _ksvc(ctx: ResourceContext, meta: dict) -> Iterator[str]:
    bundle_key = ctx.domain_key("security", "signature-bundle")
    for index, ref in enumerate(ctx.containers(include_init=True)):
        image = parse_image(ref.get("image"), f"{ref.path}.image")
        if image.digest is None:
            yield f"{ref.label} image {image.original!r} is not pinned by digest (@sha256:...)"
        keys = [f"{bundle_key}.{ref.name}"] + ([bundle_key] if index == 0 else [])
        if not any(reveal(meta.get(k)) for k in keys):
            yield f"{ref.label} has no signature bundle annotation ({' or '.join(keys)})"


def _lambda(props: dict) -> Iterator[str]:
    package_type = reveal(props.get("packageType")) or "Zip"
    if package_type == "Image":
        uri = reveal(props.get("imageUri"))
        if is_unknown(uri):
            yield "imageUri is unknown at preview, so it cannot be shown to be digest-pinned"
        elif not isinstance(uri, str) or "@sha256:" not in uri:
            yield f"imageUri {uri!r} is not pinned by digest (@sha256:...)"
    else:
        arn = reveal(props.get("codeSigningConfigArn"))
        if not (is_unknown(arn) or (isinstance(arn, str) and arn.startswith("arn:"))):
            yield "zip package without codeSigningConfigArn: Lambda would deploy unsigned code"


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    if not (data.has("pci") or data.unknown):
        return
    if ctx.resource_type == KNATIVE_SERVICE:
        yield from _ksvc(ctx, {**metadata_of(ctx.resource_type, props), **ksvc_template_annotations(props)})
    else:
        yield from _lambda(props)


CONTROL = ResourceControl(
    id="dc.pci-signed-artifacts",
    description="PCI-scoped workloads deploy signed, immutable artifacts: Knative images pinned by digest with "
    "a Sigstore signature bundle annotation per container; Lambda images pinned by digest and zip packages "
    "behind a code signing config.",
    severity="critical",
    remediation_steps="Pin images as registry/repo@sha256:<digest>, sign them in CI (cosign/Sigstore) and add "
    "`security.<domain>/signature-bundle[.<container>]: <path to bundle>`; for Lambda zips set "
    "codeSigningConfigArn to a config with untrustedArtifactOnDeployment=Enforce.",
    url="https://docs.sigstore.dev/cosign/verifying/verify/",
    # PCI-scoped signatures: not the same rule as digest pinning (CKV_K8S_43 is img.digest-pinned), Kyverno's
    # verify-image for every matching image, or Lambda code signing everywhere (CKV_AWS_272, see peer_gaps.py).
    peer_ids=(),
    framework="PCI-DSS",
    resource_types=(KNATIVE_SERVICE, LAMBDA_FUNCTION),
    check=check,
)


