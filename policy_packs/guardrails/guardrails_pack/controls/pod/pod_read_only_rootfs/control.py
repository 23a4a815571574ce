"""pod.read-only-rootfs: every container mounts its root filesystem read-only."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        sc = container_security_context(ref)
        if not ("readOnlyRootFilesystem" in sc and sc["readOnlyRootFilesystem"] is True):
            yield f"{ref.label} does not set securityContext.readOnlyRootFilesystem: true"


CONTROL = ResourceControl(
    id="pod.read-only-rootfs",
    description="Every container sets securityContext.readOnlyRootFilesystem: true.",
    severity="medium",
    remediation_steps="Set `readOnlyRootFilesystem: true`; mount an emptyDir for paths the app writes (e.g. /tmp).",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    peer_ids=("CKV_K8S_22", "kyverno:best-practices/require-ro-rootfs", "polaris:notReadOnlyRootFilesystem",
              "kube-score:container-security-context-readonlyrootfilesystem",
              "pulumi-cp:kubernetes-apps-v1-deployment-enable-read-only-root-filesystem"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
