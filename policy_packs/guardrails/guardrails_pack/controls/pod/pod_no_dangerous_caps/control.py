"""pod.no-dangerous-caps: capabilities.add stays within the PSS baseline list."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context, get_in, is_list
from guardrails_pack.control import ResourceControl

# Pod Security Standards (baseline) allow-list for capabilities.add.
BASELINE_ALLOWED = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        added = get_in(container_security_context(ref), "capabilities.add", [])
        if not is_list(added):
            yield f"{ref.label} securityContext.capabilities.add must be a list"
            continue
        bad = sorted({str(c).upper().removeprefix("CAP_") for c in added} - BASELINE_ALLOWED)
        if bad:
            yield (f"{ref.label} adds capabilities {', '.join(bad)}; allowed: {', '.join(sorted(BASELINE_ALLOWED))}")


CONTROL = ResourceControl(
    id="pod.no-dangerous-caps",
    description="No container adds capabilities beyond the Pod Security baseline list (never SYS_ADMIN, NET_ADMIN).",
    severity="high",
    remediation_steps="Remove SYS_ADMIN, NET_ADMIN, ALL and other non-baseline entries from "
    "`securityContext.capabilities.add`.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("CKV_K8S_25", "CKV_K8S_39", "kyverno:pod-security/baseline/disallow-capabilities",
              "polaris:dangerousCapabilities"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
