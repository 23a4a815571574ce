"""pod.no-default-sa: the revision names its own service account, not `default`."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, get_in
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    name = get_in(ctx.pod_spec(), "serviceAccountName")
    if name is None or str(name).strip() == "":
        yield "spec.template.spec.serviceAccountName is not set (the namespace's `default` account would be used)"
    elif str(name) == "default":
        yield "spec.template.spec.serviceAccountName is `default`; create a dedicated service account"


CONTROL = ResourceControl(
    id="pod.no-default-sa",
    description="spec.template.spec.serviceAccountName is set and is not `default`.",
    severity="medium",
    remediation_steps="Create a ServiceAccount per workload (least privilege) and set serviceAccountName.",
    url="https://kubernetes.io/docs/concepts/security/service-accounts/",
    # Not claimed: Checkov's CKV_K8S_41/42 check the `default` ServiceAccount object and RoleBindings to it, not
    # the pods; Kyverno's restrict-service-account restricts pods to a configured list.
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
