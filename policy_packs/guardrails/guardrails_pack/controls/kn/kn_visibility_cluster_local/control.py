"""kn.visibility-cluster-local: a non-public Knative Service is reachable only inside the cluster."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, mapping_at
from guardrails_pack.control import ResourceControl

VISIBILITY_LABEL = "networking.knative.dev/visibility"


def check(ctx: ResourceContext) -> Iterator[str]:
    classification = ctx.data_classification()
    levels = ctx.settings.data_classification.levels
    if classification is None:
        yield (f"no data classification ({ctx.domain_key('security', 'data-classification')} annotation or "
               "data-classification label); treated as non-public")
    elif classification not in levels:
        yield f"data classification {classification!r} is not one of {', '.join(levels)}"
    if classification == "public":
        return
    labels = mapping_at(ctx.props, "metadata.labels")
    value = labels[VISIBILITY_LABEL] if VISIBILITY_LABEL in labels else None
    if value != "cluster-local":
        yield (f"data classification {classification or 'unset'} is not public but metadata.labels"
               f"[{VISIBILITY_LABEL}] is {value!r}; set it to cluster-local")


CONTROL = ResourceControl(
    id="kn.visibility-cluster-local",
    description="A Knative Service whose data classification is not `public` carries visibility=cluster-local.",
    severity="high",
    remediation_steps="Add the label networking.knative.dev/visibility: cluster-local, or classify the service "
    "public (security.<domain>/data-classification: public) if it really is.",
    url="https://knative.dev/docs/serving/services/private-services/",
    # The LoadBalancer/NodePort rules of Pulumi, Kyverno and kube-score check core/v1 Services, another object:
    # analogues, not claimed.
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
