"""pod.no-cri-socket: no hostPath volume exposes a container runtime socket (docker, containerd, CRI-O, cri-dockerd).

The paths are Kyverno's `disallow-cri-sock-mount` list. Checkov's CKV_K8S_27 checks only the Docker socket, so this
rule is stricter than it. Any hostPath at all is `pod.no-host-path`.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, get_in, pod_volumes
from guardrails_pack.control import ResourceControl

RUNTIME_SOCKETS = (
    "/var/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
)


def check(ctx: ResourceContext) -> Iterator[str]:
    for path, volume in pod_volumes(ctx.pod_spec()):
        host_path = get_in(volume, "hostPath.path")
        if host_path in RUNTIME_SOCKETS:
            yield f"{path} ('{volume.get('name', '?')}') mounts the container runtime socket {host_path}"


CONTROL = ResourceControl(
    id="pod.no-cri-socket",
    description="No hostPath volume mounts a container runtime socket (docker/containerd/CRI-O/cri-dockerd).",
    severity="critical",
    remediation_steps="Remove the hostPath volume for the runtime socket; a workload that controls the runtime "
    "controls the node.",
    url="https://kyverno.io/policies/best-practices/disallow-cri-sock-mount/disallow-cri-sock-mount/",
    peer_ids=("kyverno:best-practices/disallow-cri-sock-mount",),
    stricter_than=("CKV_K8S_27",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
