"""img.no-latest-tag: every image has an explicit tag other than latest (or a digest)."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, parse_image
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        image = parse_image(ref.get("image"), f"{ref.path}.image")
        if image.digest:
            continue
        if image.tag is None:
            yield f"{ref.label} image {image.original!r} has no tag (means :latest)"
        elif image.tag == "latest":
            yield f"{ref.label} image {image.original!r} uses :latest"


CONTROL = ResourceControl(
    id="img.no-latest-tag",
    description="Every container image has an explicit, non-latest tag or a digest.",
    severity="high",
    remediation_steps="Reference images by an immutable version tag, ideally also by digest (@sha256:...).",
    url="https://kubernetes.io/docs/concepts/containers/images/#image-names",
    peer_ids=("CKV_K8S_14", "kyverno:best-practices/disallow-latest-tag", "polaris:tagNotSpecified",
              "kube-score:container-image-tag"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
