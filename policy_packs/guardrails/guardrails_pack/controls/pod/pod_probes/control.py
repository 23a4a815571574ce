"""pod.probes: liveness probe in prod (Knative's queue-proxy supplies readiness); probes not identical."""

from collections.abc import Iterator

from guardrails_core.values import plain
from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    required = ctx.option("livenessRequiredIn")
    for ref in ctx.containers(include_init=False):
        liveness = ref.get("livenessProbe")
        readiness = ref.get("readinessProbe")
        if liveness is None and ctx.environment in required:
            yield f"{ref.label} has no livenessProbe ({ctx.environment} requires one)"
        if liveness is not None and readiness is not None and plain(liveness) == plain(readiness):
            yield f"{ref.label} livenessProbe and readinessProbe are identical; a slow dependency would restart it"


CONTROL = ResourceControl(
    id="pod.probes",
    description="Serving containers have a liveness probe where required, distinct from the readiness probe.",
    severity="low",
    remediation_steps="Add a livenessProbe (e.g. httpGet /healthz) that differs from the readinessProbe.",
    url="https://knative.dev/docs/serving/services/configure-probing/",
    peer_ids=("CKV_K8S_8", "CKV_K8S_9", "kyverno:best-practices/require-probes",
              "kyverno:other/ensure-probes-different", "polaris:readinessProbeMissing",
              "polaris:livenessProbeMissing", "kube-score:pod-probes", "kube-score:pod-probes-identical"),
    config_schema={"livenessRequiredIn": {"type": "array", "items": {"type": "string"}, "default": ["prod"],
                                          "description": "environments that require a livenessProbe"}},
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
