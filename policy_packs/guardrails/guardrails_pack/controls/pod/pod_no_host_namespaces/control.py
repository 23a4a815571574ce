"""pod.no-host-namespaces: the revision shares no host namespace (network, PID, IPC)."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if key in spec and spec[key] is True:
            yield f"spec.template.spec.{key} is true; host namespaces are not allowed (remove the field)"


CONTROL = ResourceControl(
    id="pod.no-host-namespaces",
    description="The Knative revision does not share the host network, PID or IPC namespace.",
    severity="critical",
    remediation_steps="Remove hostNetwork, hostPID and hostIPC from spec.template.spec (Knative rejects them anyway).",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "kyverno:pod-security/baseline/disallow-host-namespaces",
              "polaris:hostPIDSet", "polaris:hostIPCSet", "polaris:hostNetworkSet"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
