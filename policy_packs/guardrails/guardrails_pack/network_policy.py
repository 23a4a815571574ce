"""Kubernetes NetworkPolicy semantics the network controls share: which pods a policy selects, and its egress.

NetworkPolicies reach a plan as `kubernetes:networking.k8s.io/v1:NetworkPolicy` resources registered in the same
stack (props = the manifest). Policies applied to the cluster outside the stack are invisible to a preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guardrails_pack.context import ControlInputError, get_in, is_list, is_mapping

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ALL_ADDRESSES = ("0.0.0.0/0", "::/0")


def selector_matches(selector: Any, labels: Mapping[str, Any], where: str) -> bool:
    """Kubernetes label-selector semantics (matchLabels AND every matchExpression); `{}` selects every pod."""
    if selector is None:
        return True
    if not is_mapping(selector):
        raise ControlInputError(f"{where} must be a mapping (found {type(selector).__name__})")
    match = selector.get("matchLabels") or {}
    if not is_mapping(match):
        raise ControlInputError(f"{where}.matchLabels must be a mapping")
    if any(key not in labels or str(labels[key]) != str(value) for key, value in match.items()):
        return False
    expressions = selector.get("matchExpressions") or []
    if not is_list(expressions):
        raise ControlInputError(f"{where}.matchExpressions must be a list")
    for index, expr in enumerate(expressions):
        at = f"{where}.matchExpressions[{index}]"
        if not is_mapping(expr) or "key" not in expr or "operator" not in expr:
            raise ControlInputError(f"{at} needs key and operator")
        key, operator = str(expr["key"]), str(expr["operator"])
        values = [str(v) for v in (expr.get("values") or [])]
        present = key in labels
        if operator == "In":
            ok = present and str(labels[key]) in values
        elif operator == "NotIn":
            ok = not present or str(labels[key]) not in values
        elif operator == "Exists":
            ok = present
        elif operator == "DoesNotExist":
            ok = not present
        else:
            raise ControlInputError(f"{at}.operator {operator!r} is not In, NotIn, Exists or DoesNotExist")
        if not ok:
            return False
    return True


def selects(policy_props: Mapping[str, Any], namespace: str, labels: Mapping[str, Any], name: str) -> bool:
    if str(get_in(policy_props, "metadata.namespace", "default")) != namespace:
        return False
    return selector_matches(get_in(policy_props, "spec.podSelector"), labels,
                            f"NetworkPolicy {name!r} spec.podSelector")


def affects_egress(policy_props: Mapping[str, Any]) -> bool:
    """Egress is in policyTypes, or policyTypes is unset and the policy has an egress section (Kubernetes' default)."""
    types = get_in(policy_props, "spec.policyTypes")
    if is_list(types) and len(types) > 0:
        return "Egress" in [str(t) for t in types]
    return get_in(policy_props, "spec.egress") is not None


def open_egress_rules(policy_props: Mapping[str, Any]) -> list[str]:
    """Egress rules that allow every destination: no `to` peers, or an ipBlock of all addresses without except."""
    rules = get_in(policy_props, "spec.egress", [])
    if not is_list(rules):
        raise ControlInputError("spec.egress must be a list")
    found = []
    for index, rule in enumerate(_items(rules)):
        peers = rule.get("to") if is_mapping(rule) else None
        if not peers:
            found.append(f"spec.egress[{index}] has no `to`, so it allows every destination")
            continue
        for peer in _items(peers):
            cidr = get_in(peer, "ipBlock.cidr")
            if cidr in ALL_ADDRESSES and not get_in(peer, "ipBlock.except"):
                found.append(f"spec.egress[{index}] allows ipBlock {cidr} (the whole internet)")
    return found


def _items(values: Sequence[Any]) -> list[Any]:
    return [values[i] for i in range(len(values))]
