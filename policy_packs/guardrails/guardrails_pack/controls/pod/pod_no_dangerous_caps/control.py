"""pod.no-dangerous-caps: capabilities.add stays within the Pod Security baseline list (exact names, as PSS compares).

The restricted add rule (only NET_BIND_SERVICE) is `pod.restricted-capabilities`.
"""

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
        # Exact comparison: PSS and the kubelet's admission treat `CAP_CHOWN` or `chown` as names outside the list.
        bad = sorted({str(c) for c in added} - BASELINE_ALLOWED)
        if bad:
            yield (f"{ref.label} adds capabilities {', '.join(bad)}; allowed: {', '.join(sorted(BASELINE_ALLOWED))}")


CONTROL = ResourceControl(
    id="pod.no-dangerous-caps",
    description="No container adds capabilities beyond the Pod Security baseline list (never SYS_ADMIN, NET_ADMIN).",
    severity="high",
    remediation_steps="Remove SYS_ADMIN, NET_ADMIN, ALL and other non-baseline entries from "
    "`securityContext.capabilities.add`.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("kyverno:pod-security/baseline/disallow-capabilities",),
    # Checkov's CKV_K8S_39 forbids only SYS_ADMIN, Polaris only ALL/SYS_ADMIN/NET_ADMIN. Checkov's CKV_K8S_25 (any
    # add at all fails) is not claimed: it also fails NET_BIND_SERVICE, which both PSS profiles allow.
    stricter_than=("CKV_K8S_39", "polaris:dangerousCapabilities"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
