"""pod.sa-token-automount: the ServiceAccount token is not automounted into the revision.

Knative rejects the pod-level field, so the token must be disabled on the ServiceAccount; when that
ServiceAccount is in the same stack we check it there.
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
    if "automountServiceAccountToken" in spec and spec["automountServiceAccountToken"] is True:
        yield ("spec.template.spec.automountServiceAccountToken is true; Knative rejects the field - disable "
               "the token on the ServiceAccount instead")


CONTROL = ResourceControl(
    id="pod.sa-token-automount",
    description="Service account tokens are not automounted (pod spec or ServiceAccount).",
    severity="low",
    remediation_steps="Set automountServiceAccountToken: false on the ServiceAccount the revision uses and mount a "
    "projected token only where the workload calls the Kubernetes API.",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/",
    peer_ids=("CKV_K8S_38", "kyverno:other/disable-automountserviceaccounttoken",
              "kyverno:other/restrict-automount-sa-token", "polaris:automountServiceAccountToken"),
    resource_types=(KNATIVE_SERVICE, SERVICE_ACCOUNT),
    check=check,
)
