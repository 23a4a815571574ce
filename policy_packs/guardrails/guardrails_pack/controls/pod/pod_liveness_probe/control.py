"""pod.liveness-probe: every serving container has a livenessProbe, in the environments that require one.

Only liveness: Knative's queue-proxy probes the user port itself, so a missing readinessProbe is not a gap in a
Knative Service (Checkov's CKV_K8S_9, Polaris' readinessProbeMissing and kube-score's pod-probes, which want an
explicit readinessProbe, are therefore not claimed). "Any probe at all" is `pod.any-probe`; liveness identical to
readiness is `pod.probes-distinct`.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    if ctx.environment not in ctx.option("livenessRequiredIn"):
        return
    for ref in ctx.containers(include_init=False):
        if ref.get("livenessProbe") is None:
            yield f"{ref.label} has no livenessProbe ({ctx.environment} requires one)"


CONTROL = ResourceControl(
    id="pod.liveness-probe",
    description="Serving containers have a livenessProbe in the environments that require one (default: prod).",
    severity="low",
    remediation_steps="Add a livenessProbe (e.g. httpGet /healthz) to every serving container.",
    url="https://knative.dev/docs/serving/services/configure-probing/",
    peer_ids=("CKV_K8S_8", "polaris:livenessProbeMissing"),
    config_schema={"livenessRequiredIn": {"type": "array", "items": {"type": "string"}, "default": ["prod"],
                                          "description": "environments that require a livenessProbe"}},
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
