"""pod.run-as-non-root: the Pod Security restricted "Running as Non-root" rule (`runAsNonRoot: true`).

Every container's effective `runAsNonRoot` is true, and a pod-level value, when set, is true. UID 0 is the separate
restricted rule `pod.run-as-user-non-zero`; the stack's minimum UID is `pod.min-uid`.
"""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, effective_security_value, pod_security_context
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    pod_value = pod_security_context(spec).get("runAsNonRoot")
    if pod_value is not None and pod_value is not True:
        yield f"spec.template.spec.securityContext.runAsNonRoot is {pod_value!r}; must be true"
    for ref in ctx.containers():
        if effective_security_value(spec, ref, "runAsNonRoot") is not True:
            yield f"{ref.label} does not set securityContext.runAsNonRoot: true (container or pod level)"


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    return remediate_containers(ctx, lambda sc: sc.update(runAsNonRoot=True))


CONTROL = ResourceControl(
    id="pod.run-as-non-root",
    description="Containers must run with runAsNonRoot: true (container level, or pod level not overridden).",
    severity="high",
    remediation_steps="Set `securityContext.runAsNonRoot: true` on every container and build the image with a "
    "non-root USER.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("kyverno:pod-security/restricted/require-run-as-nonroot",),
    # Checkov and Polaris accept either runAsNonRoot: true or a non-zero runAsUser; we require runAsNonRoot
    # (Polaris also rejects UID 0, which `pod.run-as-user-non-zero` covers).
    stricter_than=("CKV_K8S_23", "polaris:runAsRootAllowed"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
