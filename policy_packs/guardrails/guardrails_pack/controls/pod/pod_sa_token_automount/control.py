"""pod.sa-token-automount: the ServiceAccount token is not automounted into the revision.

A Knative Service sets `automountServiceAccountToken: false` in its pod spec (Knative's field mask keeps the field
only when false, so `true` cannot even be applied); a ServiceAccount in the stack sets it false too.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def check(ctx: ResourceContext) -> Iterator[str]:
    if ctx.resource_type == SERVICE_ACCOUNT:
        props = ctx.props
        value = props["automountServiceAccountToken"] if "automountServiceAccountToken" in props else None
        if value is not False:
            yield "ServiceAccount does not set automountServiceAccountToken: false"
        return
    spec = ctx.pod_spec()
    value = spec["automountServiceAccountToken"] if "automountServiceAccountToken" in spec else None
    if value is not False:
        shown = "unset (Kubernetes mounts the token)" if value is None else repr(value)
        yield f"spec.template.spec.automountServiceAccountToken is {shown}; set it to false"


CONTROL = ResourceControl(
    id="pod.sa-token-automount",
    description="Service account tokens are not automounted (pod spec or ServiceAccount).",
    severity="low",
    remediation_steps="Set `automountServiceAccountToken: false` in the revision's pod spec (and on its "
    "ServiceAccount); mount a projected token only where the workload calls the Kubernetes API.",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/",
    peer_ids=("CKV_K8S_38", "kyverno:other/restrict-automount-sa-token"),
    # Polaris also accepts a pod spec without the field when the ServiceAccount disables it; Kyverno's
    # disable-automountserviceaccounttoken mutates ServiceAccounts (not a validation): not claimed.
    stricter_than=("polaris:automountServiceAccountToken",),
    resource_types=(KNATIVE_SERVICE, SERVICE_ACCOUNT),
    check=check,
)
