"""pod.run-as-user-non-zero: the Pod Security restricted "Running as Non-root user" rule (no `runAsUser: 0`).

An unset runAsUser passes (the image's USER applies; `pod.run-as-non-root` makes the kubelet refuse root).
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context, pod_security_context
from guardrails_pack.control import ResourceControl


def _is_zero(value: object) -> bool:
    return value is not None and not isinstance(value, bool) and isinstance(value, int | float) and value == 0


def check(ctx: ResourceContext) -> Iterator[str]:
    if _is_zero(pod_security_context(ctx.pod_spec()).get("runAsUser")):
        yield "spec.template.spec.securityContext.runAsUser is 0 (root)"
    for ref in ctx.containers():
        if _is_zero(container_security_context(ref).get("runAsUser")):
            yield f"{ref.label} securityContext.runAsUser is 0 (root)"


CONTROL = ResourceControl(
    id="pod.run-as-user-non-zero",
    description="No container or pod-level securityContext sets runAsUser: 0.",
    severity="high",
    remediation_steps="Remove `runAsUser: 0` or set a non-zero UID (the image's non-root USER).",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("kyverno:pod-security/restricted/require-run-as-non-root-user",),
    stricter_than=("polaris:runAsRootAllowed",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
