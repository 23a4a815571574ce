"""pod.drop-all-caps: every container drops ALL Linux capabilities."""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context, get_in, is_list
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import remediate_containers


def dropped(sc: Any) -> list[str]:
    drop = get_in(sc, "capabilities.drop", [])
    return [str(c).upper() for c in drop] if is_list(drop) else []


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
    description="Every container drops ALL Linux capabilities (which includes NET_RAW).",
    severity="medium",
    remediation_steps="Set `securityContext.capabilities.drop: [ALL]` on every container and add back only "
    "NET_BIND_SERVICE if needed.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("CKV_K8S_37", "CKV_K8S_28", "kyverno:best-practices/require-drop-all",
              "kyverno:best-practices/require-drop-cap-net-raw",
              "kyverno:pod-security/restricted/disallow-capabilities-strict", "polaris:insecureCapabilities"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
