"""pod.network-policy: a NetworkPolicy selects each Knative Service's pods (stack control).

Passes when a NetworkPolicy in the stack (same namespace, Ingress) selects the revision's template labels, or
when the template carries the label a cluster-wide NetworkPolicy selects on (option `policyLabel`).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, StackContext, StackResource, get_in, is_list, mapping_at
from guardrails_pack.control import StackControl, StackViolation

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _selects(policy: StackResource, namespace: str, labels: Mapping[str, Any]) -> bool:
    if str(get_in(policy.props, "metadata.namespace", "default")) != namespace:
        return False
    types = get_in(policy.props, "spec.policyTypes")
    if is_list(types) and "Ingress" not in list(types):
        return False
    match = mapping_at(policy.props, "spec.podSelector.matchLabels")
    expressions = get_in(policy.props, "spec.podSelector.matchExpressions", [])
    if is_list(expressions) and len(expressions) > 0:
        return False  # only matchLabels is evaluated; be conservative
    return all(key in labels and str(labels[key]) == str(match[key]) for key in match)


def check(ctx: StackContext) -> Iterator[StackViolation]:
    label = str(ctx.option("policyLabel"))
    policies = ctx.of_type(NETWORK_POLICY)
    for svc in ctx.of_type(KNATIVE_SERVICE):
        namespace = str(get_in(svc.props, "metadata.namespace", "default"))
        labels = mapping_at(svc.props, "spec.template.metadata.labels")
        if label in labels:
            continue
        if any(_selects(p, namespace, labels) for p in policies):
            continue
        yield StackViolation(
            f"Knative Service {svc.name!r} ({namespace}) is selected by no NetworkPolicy in the stack and its "
            f"template lacks the label {label!r} the cluster policy selects on",
            svc.urn,
        )


CONTROL = StackControl(
    id="pod.network-policy",
    description="Every Knative Service is selected by an ingress NetworkPolicy (in the stack or via the agreed label).",
    severity="medium",
    remediation_steps="Add a NetworkPolicy (allowing the knative-serving activator and ingress namespaces) whose "
    "podSelector matches the revision labels, or add the agreed policy label to spec.template.metadata.labels.",
    url="https://kubernetes.io/docs/concepts/services-networking/network-policies/",
    # Checkov and Kyverno accept any NetworkPolicy selecting the pod (egress-only too); we want ingress covered.
    # Not claimed: Polaris' missingNetworkPolicy and kube-score's pod-networkpolicy require ingress and egress
    # rules for every pod (egress is `pod.confidential-egress`, for confidential services); Kyverno's
    # add-network-policy generates a policy, it does not validate.
    stricter_than=("CKV2_K8S_6", "kyverno:other/require-netpol"),
    config_schema={"policyLabel": {"type": "string", "default": "serverless-guardrails.dev/network-policy",
                                   "description": "template label a cluster-wide NetworkPolicy selects on"}},
    resource_types=(KNATIVE_SERVICE, NETWORK_POLICY),
    check=check,
)
