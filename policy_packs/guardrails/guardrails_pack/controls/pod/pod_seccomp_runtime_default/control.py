"""pod.seccomp-runtime-default: the effective seccomp profile is RuntimeDefault or Localhost."""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, effective_security_value, get_in
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers

ALLOWED = ("RuntimeDefault", "Localhost")


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
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
    peer_ids=("CKV_K8S_31", "kyverno:pod-security/baseline/restrict-seccomp",
              "kyverno:pod-security/restricted/restrict-seccomp-strict", "polaris:linuxHardening",
              "kube-score:container-seccomp-profile"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
