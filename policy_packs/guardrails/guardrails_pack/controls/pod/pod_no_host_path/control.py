"""pod.no-host-path: no hostPath volumes and no container-runtime socket mounts."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_list, is_mapping, pod_volumes
from guardrails_pack.control import ResourceControl

RUNTIME_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock")


def check(ctx: ResourceContext) -> Iterator[str]:
    for path, volume in pod_volumes(ctx.pod_spec()):
        if "hostPath" in volume:
            host = volume["hostPath"]
            where = host["path"] if is_mapping(host) and "path" in host else "?"
            yield f"{path} ('{volume.get('name', '?')}') is a hostPath volume ({where}); use configMap/secret/emptyDir"
    for ref in ctx.containers():
        mounts = container_list(ref, "volumeMounts")
        for index in range(len(mounts)):
            mount_path = str(mounts[index]["mountPath"]) if "mountPath" in mounts[index] else ""
            if mount_path.endswith(RUNTIME_SOCKETS):
                yield f"{ref.label} mounts the container runtime socket at {mount_path}"


CONTROL = ResourceControl(
    id="pod.no-host-path",
    description="No hostPath volumes and no container-runtime socket mounts in a Knative revision.",
    severity="high",
    remediation_steps="Replace hostPath volumes with configMap, secret, projected or emptyDir volumes; never mount "
    "docker.sock/containerd.sock/crio.sock.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("CKV_K8S_27", "kyverno:pod-security/baseline/disallow-host-path",
              "kyverno:best-practices/disallow-cri-sock-mount", "polaris:hostPathSet"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
