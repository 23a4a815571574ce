"""pod.run-as-non-root: runAsNonRoot true, no UID/GID 0, and a high UID when one is set."""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, effective_security_value
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    min_uid = int(ctx.option("minUid"))
    for ref in ctx.containers():
        if effective_security_value(spec, ref, "runAsNonRoot") is not True:
            yield f"{ref.label} does not set securityContext.runAsNonRoot: true (container or pod level)"
        uid = effective_security_value(spec, ref, "runAsUser")
        if uid is not None and int(uid) == 0:
            yield f"{ref.label} runs as UID 0 (runAsUser: 0)"
        elif uid is not None and int(uid) < min_uid:
            yield f"{ref.label} runAsUser {int(uid)} is below {min_uid} (may collide with host users)"
        gid = effective_security_value(spec, ref, "runAsGroup")
        if gid is not None and int(gid) == 0:
            yield f"{ref.label} runs with GID 0 (runAsGroup: 0)"


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    return remediate_containers(ctx, lambda sc: sc.update(runAsNonRoot=True))


CONTROL = ResourceControl(
    id="pod.run-as-non-root",
    description="Containers run as non-root: runAsNonRoot true, runAsUser/runAsGroup not 0, UID >= minUid.",
    severity="high",
    remediation_steps="Set `securityContext.runAsNonRoot: true` and a non-zero `runAsUser` (>= 10000) on every "
    "container; build the image with a non-root USER.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("CKV_K8S_23", "CKV_K8S_40", "kyverno:pod-security/restricted/require-run-as-nonroot",
              "kyverno:pod-security/restricted/require-run-as-non-root-user", "polaris:runAsRootAllowed",
              "kube-score:container-security-context-user-group-id"),
    config_schema={"minUid": {"type": "integer", "minimum": 1, "default": 10000,
                              "description": "lowest runAsUser accepted when one is set"}},
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
