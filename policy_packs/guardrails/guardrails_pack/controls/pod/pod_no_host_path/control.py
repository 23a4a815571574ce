"""pod.no-host-path: no hostPath volumes at all (the Pod Security baseline "HostPath Volumes" rule).

Mounting a container runtime socket is the narrower rule `pod.no-cri-socket`.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, is_mapping, pod_volumes
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for path, volume in pod_volumes(ctx.pod_spec()):
        if "hostPath" in volume:
            host = volume["hostPath"]
            where = host["path"] if is_mapping(host) and "path" in host else "?"
            yield f"{path} ('{volume.get('name', '?')}') is a hostPath volume ({where}); use configMap/secret/emptyDir"


CONTROL = ResourceControl(
    id="pod.no-host-path",
    description="No hostPath volumes in a Knative revision.",
    severity="high",
    remediation_steps="Replace hostPath volumes with configMap, secret, projected or emptyDir volumes.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("kyverno:pod-security/baseline/disallow-host-path", "polaris:hostPathSet"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
