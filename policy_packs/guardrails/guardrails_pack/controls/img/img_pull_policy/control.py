"""img.pull-policy: the effective imagePullPolicy is Always unless the image is pinned by digest.

"Effective" applies Kubernetes' defaulting: with no imagePullPolicy, an image tagged `latest` or untagged is pulled
Always, any other tag IfNotPresent. (`latest` itself is `img.no-latest-tag`.) Not claimed: Polaris'
pullPolicyNotAlways wants the literal value even for digest-pinned images; Kyverno's imagepullpolicy-always is only
about `:latest` images and wants the field written out.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, parse_image
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        image = parse_image(ref.get("image"), f"{ref.path}.image")
        if image.digest:
            continue  # a digest is immutable; the pull policy no longer matters
        policy = ref.get("imagePullPolicy")
        effective = policy if policy is not None else ("Always" if image.tag in (None, "latest") else "IfNotPresent")
        if effective != "Always":
            shown = policy if policy is not None else f"unset (so {effective} for tag {image.tag!r})"
            yield f"{ref.label} imagePullPolicy is {shown} for a tag-only image; use Always or pin the digest"


CONTROL = ResourceControl(
    id="img.pull-policy",
    description="Tag-only images are pulled Always (explicitly, or by Kubernetes' default for untagged/latest); "
    "digest-pinned images are exempt.",
    severity="low",
    remediation_steps="Pin the image digest (preferred) or set imagePullPolicy: Always.",
    url="https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
    peer_ids=("CKV_K8S_15", "kube-score:container-image-pull-policy"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
