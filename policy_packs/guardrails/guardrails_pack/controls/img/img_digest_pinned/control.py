"""img.digest-pinned: every image reference carries @sha256:<digest>."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, parse_image
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        image = parse_image(ref.get("image"), f"{ref.path}.image")
        if not image.digest:
            yield f"{ref.label} image {image.original!r} is not pinned by digest (@sha256:...)"


CONTROL = ResourceControl(
    id="img.digest-pinned",
    description="Every container image is pinned by digest.",
    severity="high",
    remediation_steps="Append the image digest: registry/repo:tag@sha256:<64 hex> (crane digest / docker "
    "buildx imagetools inspect).",
    url="https://knative.dev/docs/serving/tag-resolution/",
    peer_ids=("CKV_K8S_43", "kyverno:other/require-image-checksum"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
