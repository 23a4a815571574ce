"""pod.any-probe: every serving container has at least one of liveness, readiness or startup probe (Kyverno's rule)."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def check(ctx: ResourceContext) -> Iterator[str]:
    if ctx.environment not in ctx.option("requiredIn"):
        return
    for ref in ctx.containers(include_init=False):
        if all(ref.get(probe) is None for probe in PROBES):
            yield f"{ref.label} has no livenessProbe, readinessProbe or startupProbe ({ctx.environment} requires one)"


CONTROL = ResourceControl(
    id="pod.any-probe",
    description="Serving containers declare at least one liveness, readiness or startup probe (default: in prod).",
    severity="low",
    remediation_steps="Add a probe to every serving container; a livenessProbe is the one Knative does not add itself.",
    url="https://kyverno.io/policies/best-practices/require-probes/require-probes/",
    peer_ids=("kyverno:best-practices/require-probes",),
    config_schema={"requiredIn": {"type": "array", "items": {"type": "string"}, "default": ["prod"],
                                  "description": "environments that require a probe"}},
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
