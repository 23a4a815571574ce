"""img.registry-allowlist: images come from the stack's allowed registries / repository prefixes."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, parse_image, registry_allowed
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    allowed = ctx.settings.allowed_registries
    for ref in ctx.containers():
        image = parse_image(ref.get("image"), f"{ref.path}.image")
        if not allowed:
            yield f"{ref.label} image {image.full_name}: guardrails:allowedRegistries is empty, nothing is allowed"
        elif not registry_allowed(image, allowed):
            yield (f"{ref.label} image {image.full_name} is not from an allowed registry "
                   f"(allowed: {', '.join(allowed)})")


CONTROL = ResourceControl(
    id="img.registry-allowlist",
    description="Container images come from an allowed registry or repository prefix (Docker Hub short names "
    "resolve to docker.io).",
    severity="high",
    remediation_steps="Push the image to an allowed registry, or add the registry to guardrails:allowedRegistries "
    "after review.",
    url="https://kyverno.io/policies/best-practices/restrict-image-registries/restrict-image-registries/",
    peer_ids=("kyverno:best-practices/restrict-image-registries", "kyverno:other/allowed-image-repos"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
