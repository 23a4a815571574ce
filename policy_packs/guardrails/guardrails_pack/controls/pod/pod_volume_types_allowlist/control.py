"""pod.volume-types-allowlist: volumes use only the restricted PSS volume types."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, pod_volumes
from guardrails_pack.control import ResourceControl

ALLOWED = ("configMap", "secret", "projected", "emptyDir", "persistentVolumeClaim", "csi", "downwardAPI",
           "ephemeral")


def check(ctx: ResourceContext) -> Iterator[str]:
    for path, volume in pod_volumes(ctx.pod_spec()):
        sources = [k for k in volume if k != "name"]
        if not sources:
            yield f"{path} ('{volume.get('name', '?')}') has no volume source"
        for source in sources:
            if source not in ALLOWED:
                yield f"{path} ('{volume.get('name', '?')}') uses volume type {source}; allowed: {', '.join(ALLOWED)}"


CONTROL = ResourceControl(
    id="pod.volume-types-allowlist",
    description="Volumes are only configMap, secret, projected, emptyDir, PVC, csi, downwardAPI or ephemeral.",
    severity="medium",
    remediation_steps="Replace other volume types (hostPath, nfs, iscsi, ...) with a PVC, configMap, secret or "
    "projected volume.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("kyverno:pod-security/restricted/restrict-volume-types",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
