"""pod.drop-net-raw: every container drops NET_RAW (dropping ALL counts), so it cannot forge packets on the network."""

from collections.abc import Iterator

from guardrails_pack.capabilities import dropped
from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_security_context
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        drop = dropped(container_security_context(ref))
        # The runtimes accept capability names with or without the CAP_ prefix.
        if not {"ALL", "NET_RAW", "CAP_NET_RAW"} & set(drop):
            yield f"{ref.label} does not drop NET_RAW (securityContext.capabilities.drop: [ALL] or [NET_RAW])"


CONTROL = ResourceControl(
    id="pod.drop-net-raw",
    description="Every container drops the NET_RAW capability (or ALL).",
    severity="medium",
    remediation_steps="Set `securityContext.capabilities.drop: [ALL]` (or at least `[NET_RAW]`) on every container.",
    url="https://kyverno.io/policies/best-practices/require-drop-cap-net-raw/require-drop-cap-net-raw/",
    peer_ids=("CKV_K8S_28", "kyverno:best-practices/require-drop-cap-net-raw"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
