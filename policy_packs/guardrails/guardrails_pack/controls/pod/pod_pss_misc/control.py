"""pod.pss-misc: no procMount, custom SELinux type, unsafe sysctls, AppArmor override or hostProcess."""

from collections.abc import Iterator, Mapping
from typing import Any

from guardrails_pack.context import (
    KNATIVE_SERVICE,
    ResourceContext,
    container_security_context,
    get_in,
    is_list,
    mapping_at,
    pod_security_context,
)
from guardrails_pack.control import ResourceControl

SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _sc_findings(sc: Mapping[str, Any], where: str) -> Iterator[str]:
    proc_mount = get_in(sc, "procMount")
    if proc_mount not in (None, "Default"):
        yield f"{where}.procMount is {proc_mount!r}; only Default is allowed"
    selinux_type = get_in(sc, "seLinuxOptions.type")
    if selinux_type is not None and selinux_type not in SELINUX_TYPES:
        yield f"{where}.seLinuxOptions.type is {selinux_type!r}; allowed: {', '.join(t for t in SELINUX_TYPES if t)}"
    for key in ("user", "role"):
        if get_in(sc, f"seLinuxOptions.{key}"):
            yield f"{where}.seLinuxOptions.{key} must not be set"
    if get_in(sc, "windowsOptions.hostProcess") is True:
        yield f"{where}.windowsOptions.hostProcess is true"
    if get_in(sc, "appArmorProfile.type") == "Unconfined":
        yield f"{where}.appArmorProfile.type is Unconfined"


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    pod_sc = pod_security_context(spec)
    yield from _sc_findings(pod_sc, "spec.template.spec.securityContext")
    sysctls = get_in(pod_sc, "sysctls", [])
    for index in range(len(sysctls) if is_list(sysctls) else 0):
        name = get_in(sysctls[index], "name")
        if name not in SAFE_SYSCTLS:
            yield f"spec.template.spec.securityContext.sysctls[{index}] {name!r} is not a safe sysctl"
    for ref in ctx.containers():
        yield from _sc_findings(container_security_context(ref), f"{ref.path}.securityContext")
    annotations = mapping_at(ctx.props, "spec.template.metadata.annotations")
    for key in annotations:
        if key.startswith(APPARMOR_PREFIX):
            value = str(annotations[key])
            if value != "runtime/default" and not value.startswith("localhost/"):
                yield f"annotation {key}={value!r} overrides AppArmor; allowed: runtime/default, localhost/*"


CONTROL = ResourceControl(
    id="pod.pss-misc",
    description="No procMount, custom SELinux type/user/role, unsafe sysctls, AppArmor override or hostProcess.",
    severity="medium",
    remediation_steps="Remove procMount, seLinuxOptions (other than container_t types), unsafe sysctls, "
    "Unconfined AppArmor and windowsOptions.hostProcess from the revision template.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    peer_ids=("kyverno:pod-security/baseline/disallow-proc-mount", "kyverno:pod-security/baseline/disallow-selinux",
              "kyverno:pod-security/baseline/restrict-sysctls",
              "kyverno:pod-security/baseline/restrict-apparmor-profiles",
              "kyverno:pod-security/baseline/disallow-host-process", "polaris:procMount", "polaris:hostProcess"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
