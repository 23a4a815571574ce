"""pod.seccomp-runtime-default: the Pod Security restricted seccomp rule (RuntimeDefault or Localhost, set).

Every container's effective profile must be RuntimeDefault or Localhost, and a pod-level profile, when set, must be
one of them too (restricted checks the pod-level field itself, even when every container overrides it). The
baseline rule (only `Unconfined` is forbidden) is `pod.seccomp-not-unconfined`.
"""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import (
    KNATIVE_SERVICE,
    ResourceContext,
    effective_security_value,
    get_in,
    pod_security_context,
)
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers

ALLOWED = ("RuntimeDefault", "Localhost")


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    pod_kind = get_in(pod_security_context(spec), "seccompProfile.type")
    if pod_kind is not None and pod_kind not in ALLOWED:
        yield (f"spec.template.spec.securityContext.seccompProfile.type is {pod_kind!r}; "
               "must be RuntimeDefault or Localhost")
    for ref in ctx.containers():
        profile = effective_security_value(spec, ref, "seccompProfile")
        kind = get_in(profile, "type") if profile is not None else None
        if kind not in ALLOWED:
            found = "unset" if kind is None else repr(kind)
            yield f"{ref.label} seccompProfile.type is {found}; must be RuntimeDefault or Localhost"


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    def fix(sc: dict[str, Any]) -> None:
        if (sc.get("seccompProfile") or {}).get("type") not in ALLOWED:
            sc["seccompProfile"] = {"type": "RuntimeDefault"}

    return remediate_containers(ctx, fix)


CONTROL = ResourceControl(
    id="pod.seccomp-runtime-default",
    description="Every container runs with the RuntimeDefault (or a Localhost) seccomp profile.",
    severity="medium",
    remediation_steps="Set `securityContext.seccompProfile: {type: RuntimeDefault}` on every container.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("kyverno:pod-security/restricted/restrict-seccomp-strict",),
    # Polaris' linuxHardening is met by any of seccomp, AppArmor, SELinux or dropped capabilities; kube-score accepts
    # any profile (Unconfined too) or the legacy annotation. Checkov's CKV_K8S_31 is not claimed: it rejects
    # Localhost, which the restricted standard allows, so it is neither this rule nor weaker than it.
    stricter_than=("polaris:linuxHardening", "kube-score:container-seccomp-profile"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
