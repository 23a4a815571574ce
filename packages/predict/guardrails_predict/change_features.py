"""Change features of one service against its previous state (what the change-risk model reads)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from guardrails_predict.change_risk import CHANGE_FEATURES, CLASSIFICATION_LEVEL, ENVIRONMENT_LEVEL
from guardrails_predict.resources import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_predict.services import Service

# Input changes that make Pulumi replace the resource rather than update it in place.
REPLACE_KEYS = {KNATIVE_SERVICE: ("metadata.name", "metadata.namespace"), LAMBDA_FUNCTION: ("name", "packageType")}


def _dig(props: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(props, dict):
            return None
        props = props.get(key)  # type: ignore[assignment]
    return props


def capacity_of(svc: Service, max_scale_limit: int) -> float:
    """Declared capacity in concurrent requests: maxScale x per-pod target, or Lambda reserved concurrency."""
    if svc.kind == "lambda":
        return float(svc.reserved_concurrency) if svc.reserved_concurrency else 1000.0  # AWS default quota
    per_pod = float(svc.target) if svc.target is not None else 100.0
    if svc.container_concurrency:
        per_pod = min(per_pod, float(svc.container_concurrency))
    return float(svc.max_scale or max_scale_limit) * per_pod


def _log2_ratio(new: float, old: float) -> float:
    return abs(math.log2(new / old)) if new > 0 and old > 0 else 0.0


def _severity_counts(findings: Sequence[Any] | None, urns: set[str]) -> tuple[float, float]:
    if findings is None:
        return math.nan, math.nan  # not known: the model's learned default direction applies
    high = other = 0
    for finding in findings:
        if getattr(finding, "resource_urn", None) in urns:
            if getattr(finding, "severity", None) in ("high", "critical"):
                high += 1
            else:
                other += 1
    return float(high), float(other)


def change_features(svc: Service, previous: Service | None, previous_known: bool, environment: str,
                    findings: Sequence[Any] | None, max_scale_limit: int) -> dict[str, float]:
    classification = svc.labels.get("data-classification")
    high, other = _severity_counts(findings, {m.urn for m in svc.members})
    values: dict[str, float] = {name: math.nan for name in CHANGE_FEATURES}
    values.update({
        "data_classification_level": float(CLASSIFICATION_LEVEL.get(str(classification), math.nan)),
        "environment_level": float(ENVIRONMENT_LEVEL.get(environment, math.nan)),
        "policy_findings_high": high,
        "policy_findings_other": other,
    })
    if not previous_known:
        return values  # no previous state: deltas unknown (NaN), not zero
    if previous is None:
        values.update({"new_service": 1.0, "replacements": 0.0, "deletions": 0.0, "updates": 0.0,
                       "scale_delta_log2": 0.0, "resource_delta_log2": 0.0,
                       "iam_widening": float(bool(svc.iam_actions)),
                       "exposure_change": float(svc.public_url or (svc.kind == "knative" and not svc.cluster_local))})
        return values
    old_by_urn = {m.urn: m for m in previous.members}
    new_by_urn = {m.urn: m for m in svc.members}
    replacements = updates = 0
    for urn, member in new_by_urn.items():
        old = old_by_urn.get(urn)
        if old is None or old.props == member.props:
            continue
        keys = REPLACE_KEYS.get(member.type, ())
        if any(_dig(old.props, k) != _dig(member.props, k) for k in keys):
            replacements += 1
        else:
            updates += 1
    deletions = sum(1 for urn in old_by_urn if urn not in new_by_urn)
    new_actions = svc.iam_actions - previous.iam_actions
    widening = bool(new_actions) or (svc.service_account != previous.service_account and svc.kind == "knative")
    exposure = (svc.public_url and not previous.public_url) or (previous.cluster_local and not svc.cluster_local)
    values.update({
        "replacements": float(replacements), "deletions": float(deletions), "updates": float(updates),
        "new_service": 0.0,
        "scale_delta_log2": _log2_ratio(capacity_of(svc, max_scale_limit), capacity_of(previous, max_scale_limit)),
        "resource_delta_log2": max(_log2_ratio(svc.memory_mb, previous.memory_mb),
                                   _log2_ratio(float(svc.cpu_request_vcpu), float(previous.cpu_request_vcpu))),
        "iam_widening": float(widening), "exposure_change": float(exposure),
    })
    return values
