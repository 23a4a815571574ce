"""img.pull-policy: imagePullPolicy Always unless the image is pinned by digest."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, parse_image
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        image = parse_image(ref.get("image"), f"{ref.path}.image")
        if image.digest:
            continue  # a digest is immutable; the pull policy no longer matters
        policy = ref.get("imagePullPolicy")
        if policy != "Always":
            yield (f"{ref.label} imagePullPolicy is {policy or 'unset'} for a tag-only image; use Always "
                   "or pin the digest")


CONTROL = ResourceControl(
    id="img.pull-policy",
    description="Tag-only images use imagePullPolicy: Always (digest-pinned images are exempt).",
    severity="low",
    remediation_steps="Pin the image digest (preferred) or set imagePullPolicy: Always.",
    url="https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
    peer_ids=("CKV_K8S_15", "kyverno:other/imagepullpolicy-always", "polaris:pullPolicyNotAlways",
              "kube-score:container-image-pull-policy"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
