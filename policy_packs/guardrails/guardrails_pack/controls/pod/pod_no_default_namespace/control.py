"""pod.no-default-namespace: the Knative Service is not deployed into `default`."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, get_in
from guardrails_pack.control import ResourceControl


def check(ctx: ResourceContext) -> Iterator[str]:
    namespace = get_in(ctx.props, "metadata.namespace")
    if namespace is None or str(namespace).strip() == "":
        yield "metadata.namespace is not set (the provider's default namespace would be used)"
    elif str(namespace) == "default":
        yield "metadata.namespace is `default`; deploy into a dedicated namespace (guardrails:namespace)"


CONTROL = ResourceControl(
    id="pod.no-default-namespace",
    description="The Knative Service has an explicit namespace other than `default`.",
    severity="low",
    remediation_steps="Set metadata.namespace (the component uses guardrails:namespace from the stack).",
    url="https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",
    peer_ids=("CKV_K8S_21", "kyverno:best-practices/disallow-default-namespace"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
