"""pod.drop-all-caps: every container drops ALL Linux capabilities.

Dropping only NET_RAW is `pod.drop-net-raw`; the restricted rule (drop ALL and add back at most NET_BIND_SERVICE)
is `pod.restricted-capabilities`.
"""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.capabilities import dropped
from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        if "ALL" not in dropped(container_security_context(ref)):
            yield f"{ref.label} does not drop ALL capabilities (securityContext.capabilities.drop: [ALL])"


def _drop_all(sc: dict[str, Any]) -> None:
    caps = sc.setdefault("capabilities", {})
    drop = [c for c in caps.get("drop") or [] if str(c).upper() != "ALL"]
    caps["drop"] = ["ALL", *drop]


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    return remediate_containers(ctx, _drop_all)


CONTROL = ResourceControl(
    id="pod.drop-all-caps",
    description="Every container drops ALL Linux capabilities.",
    severity="medium",
    remediation_steps="Set `securityContext.capabilities.drop: [ALL]` on every container.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("CKV_K8S_37", "kyverno:best-practices/require-drop-all"),
    # Polaris also accepts dropping its list of fifteen insecure capabilities one by one.
    stricter_than=("polaris:insecureCapabilities",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
