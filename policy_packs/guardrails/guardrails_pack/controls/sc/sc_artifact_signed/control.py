"""sc.artifact-signed: every declared artifact (image by digest, Lambda zip/image, model weights) has a Sigstore
bundle that verifies offline against the stack's trusted root and signer identities."""

from collections.abc import Iterator

from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_supply_chain.controls_support import SUPPORTED_TYPES, control_messages


def check(ctx: ResourceContext) -> Iterator[str]:
    yield from control_messages(ctx, "sc.artifact-signed", ctx.project_dir)


CONTROL = ResourceControl(
    id="sc.artifact-signed",
    description="Each artifact is pinned by digest and carries a Sigstore bundle that verifies offline against "
    "the trusted root and a trusted signer identity/issuer from `supply_chain` settings. High: mandatory where "
    "the stack makes high mandatory (staging, prod); PCI scope is enforced at critical by dc.pci-signed-artifacts.",
    # CrossGuard enforcement is per policy, not per resource: "high" makes it mandatory in prod/staging and
    # advisory in local/dev, while PCI workloads are held to critical by dc.pci-signed-artifacts.
    severity="high",
    remediation_steps="Sign the artifact digest in CI (`cosign sign-blob --bundle x.sigstore.json` or "
    "`sigstore sign`), commit the bundle, and name it in `security.<domain>/signature-bundle[.<container>]` "
    "(or `model-weights-bundle`). Check locally with `preflight verify ARTIFACT --bundle FILE --identity ID "
    "--issuer URL`.",
    url="https://docs.sigstore.dev/cosign/verifying/verify/",
    peer_ids=(
        "kyverno:other/verify-image",
        "sigstore:policy-controller/ClusterImagePolicy",
        "anchor:img.cosign-verified",
    ),
    framework=None,
    resource_types=SUPPORTED_TYPES,
    check=check,
)
