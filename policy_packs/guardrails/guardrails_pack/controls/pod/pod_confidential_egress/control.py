"""pod.confidential-egress: a confidential or restricted Knative Service's egress is restricted by a NetworkPolicy.

Stack control. The Service's revision pods (its template labels, its namespace) must be selected by at least one
NetworkPolicy of the stack that covers Egress, and no selecting policy may open egress to every destination (a rule
without `to`, or ipBlock 0.0.0.0/0 or ::/0 without `except`); NetworkPolicies are additive, so one open rule opens
egress for the pod. A classification unknown at preview counts as confidential (fail closed).

How the plan carries NetworkPolicies: as `kubernetes:networking.k8s.io/v1:NetworkPolicy` resources registered in the
same stack. A cluster-wide default-deny-egress policy managed outside the stack cannot be seen by a preview; the
platform team can vouch for one with the option `egressPolicyLabels` (template labels, `key` or `key=value`, that
such a policy selects on), which this control then accepts.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, StackContext, get_in, mapping_at
from guardrails_pack.control import StackControl, StackViolation
from guardrails_pack.metadata import classification_of
from guardrails_pack.network_policy import NETWORK_POLICY, affects_egress, open_egress_rules, selects


def _vouched(labels: dict[str, str], vouched: list[str]) -> bool:
    for entry in vouched:
        key, _, value = str(entry).partition("=")
        if key in labels and (not value or labels[key] == value):
            return True
    return False


def check(ctx: StackContext) -> Iterator[StackViolation]:
    policies = ctx.of_type(NETWORK_POLICY)
    vouched = list(ctx.option("egressPolicyLabels"))
    for svc in ctx.of_type(KNATIVE_SERVICE):
        data = classification_of(KNATIVE_SERVICE, svc.props, ctx.settings.annotation_domain)
        if not (data.sensitive or data.unknown):
            continue
        level = data.level or "unknown (treated as confidential)"
        namespace = str(get_in(svc.props, "metadata.namespace", "default"))
        labels = {str(k): str(v) for k, v in mapping_at(svc.props, "spec.template.metadata.labels").items()}
        if _vouched(labels, vouched):
            continue
        egress = [p for p in policies if selects(p.props, namespace, labels, p.name) and affects_egress(p.props)]
        if not egress:
            yield StackViolation(
                f"Knative Service {svc.name!r} ({namespace}) holds {level} data but no NetworkPolicy in the stack "
                "restricts its egress (none selecting its template labels covers Egress)", svc.urn)
            continue
        for policy in egress:
            for problem in open_egress_rules(policy.props):
                yield StackViolation(
                    f"Knative Service {svc.name!r} holds {level} data but NetworkPolicy {policy.name!r} {problem}",
                    svc.urn)


CONTROL = StackControl(
    id="pod.confidential-egress",
    description="Confidential/restricted Knative Services are selected by a NetworkPolicy (in the stack) that "
    "restricts egress; no selecting policy allows every destination.",
    severity="high",
    remediation_steps="Add a NetworkPolicy with `policyTypes: [Egress]` whose podSelector matches the revision "
    "labels and whose egress rules name the destinations (DNS, the model store, ...) instead of 0.0.0.0/0.",
    url="https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic",
    config_schema={"egressPolicyLabels": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "template labels (key or key=value) a cluster-managed default-deny-egress policy selects on"}},
    resource_types=(KNATIVE_SERVICE, NETWORK_POLICY),
    check=check,
)
