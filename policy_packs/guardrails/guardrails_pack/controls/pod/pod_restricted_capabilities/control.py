"""pod.restricted-capabilities: the Pod Security restricted "Capabilities" rule.

Every container drops ALL and adds back nothing but NET_BIND_SERVICE. Both halves are one PSS rule (Kyverno's
`disallow-capabilities-strict`), so they are one control here; the drop half alone is `pod.drop-all-caps`.
"""

from collections.abc import Iterator

from guardrails_pack.capabilities import dropped
from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context, get_in, is_list
from guardrails_pack.control import ResourceControl

RESTRICTED_ADD = frozenset({"NET_BIND_SERVICE"})


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        sc = container_security_context(ref)
        if "ALL" not in dropped(sc):
            yield f"{ref.label} does not drop ALL capabilities (restricted requires capabilities.drop: [ALL])"
        added = get_in(sc, "capabilities.add", [])
        if not is_list(added):
            yield f"{ref.label} securityContext.capabilities.add must be a list"
            continue
        extra = sorted({str(c) for c in added} - RESTRICTED_ADD)
        if extra:
            yield f"{ref.label} adds capabilities {', '.join(extra)}; restricted allows only NET_BIND_SERVICE"


CONTROL = ResourceControl(
    id="pod.restricted-capabilities",
    description="Every container drops ALL capabilities and adds back at most NET_BIND_SERVICE (PSS restricted).",
    severity="high",
    remediation_steps="Set `securityContext.capabilities: {drop: [ALL]}` and add back only `NET_BIND_SERVICE` when the "
    "process must bind a port below 1024.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    peer_ids=("kyverno:pod-security/restricted/disallow-capabilities-strict",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
