"""Rightsizing recommendations from the predicted workload, with the monthly saving and a patch.

Rules (each states what it assumes):
  * Knative min-scale: the replicas the P50 load keeps busy all month (floor of Little's law / per-pod
    target), never below the prod floor (`limits.minScaleProd`) - warm replicas beyond that cost 730 h a month
    and only save cold starts.
  * Knative max-scale / Lambda reserved concurrency: only when the capacity-risk model's probability is at
    or above `risk.capacityRiskThreshold` (0.5 when unset): enough for twice the P50 busiest-minute
    concurrency (P90 peaks combine tails and over-state), Knative capped at `limits.maxScale`.
  * Knative cpu/memory requests and Lambda memory: only from a usage history (p95 CPU x 1.2, max memory x 1.3);
    without measured usage nothing is recommended - the trace does not say how much a container uses.
  * Lambda x86_64 -> arm64: duration is ~20% cheaper; assumes the code runs unchanged on Graviton.
Savings are P50 cost(current) - P50 cost(recommended) with the same workload.

The declaration changes are data (`recommendation.edits`: file, line and (path, value) edits); applying them to
the file, comments kept, is preflight's job (`preflight.gitops`), which fills `recommendation.patch`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from guardrails_predict.config import PredictionSettings
from guardrails_predict.costing import knative_scaling, service_cost
from guardrails_predict.features import peak_concurrency
from guardrails_predict.pricing import KubernetesPrices
from guardrails_predict.pricing.knative_cost import per_pod_target
from guardrails_predict.resources import get
from guardrails_predict.services import Service
from guardrails_predict.workload import Workload

SECONDS_PER_MONTH = 730 * 3600


@dataclass(frozen=True)
class Edit:
    """Set the declaration field at `path` to `value`; `quote`: a double-quoted string (annotation values)."""

    path: list[str | int]
    value: str | int
    quote: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"path": list(self.path), "value": self.value, "quote": self.quote}


@dataclass
class Recommendation:
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # knob -> {current, recommended, why}
    overrides: dict[str, Any] = field(default_factory=dict)  # pricing what-if
    edits: list[Edit] = field(default_factory=list)


def _annotation_key(svc: Service, kebab: str, legacy: str) -> str:
    # The rendered template keeps the declaration's own spelling of each key (the component renames nothing).
    annotations = get(svc.primary.props, "spec.template.metadata.annotations", {}) or {}
    prefix = "autoscaling.knative.dev/"
    return prefix + (legacy if prefix + legacy in annotations and prefix + kebab not in annotations else kebab)


def _peak_p50(wl: Workload) -> float:
    return peak_concurrency(wl.requests_per_month["p50"], wl.mean_duration_ms["p50"], wl.burstiness["p50"])


def _knative(svc: Service, wl: Workload, settings: PredictionSettings, prices: KubernetesPrices,
             capacity_at_risk: bool) -> Recommendation:
    rec = Recommendation()
    target = float(per_pod_target(knative_scaling(svc), prices))
    rate_p50 = wl.requests_per_month["p50"] / SECONDS_PER_MONTH
    load_p50 = rate_p50 if svc.metric == "rps" else rate_p50 * wl.mean_duration_ms["p50"] / 1000
    floor = settings.min_scale_prod if settings.environment == "prod" else 0
    # Replicas the P50 load keeps busy all month anyway; anything above only buys cold-start latency.
    need_min = max(floor, math.floor(load_p50 / target))
    ann = ["spec", "template", "metadata", "annotations"]
    if svc.min_scale > need_min:
        rec.changes["min_scale"] = {"current": svc.min_scale, "recommended": need_min,
                                    "why": f"P50 load needs {need_min} warm replica(s) (floor {floor})"}
        rec.overrides["min_scale"] = need_min
        rec.edits.append(Edit([*ann, _annotation_key(svc, "min-scale", "minScale")], str(need_min), quote=True))
    peak = _peak_p50(wl)
    duration_s = wl.mean_duration_ms["p50"] / 1000
    peak_load = peak / duration_s if svc.metric == "rps" and duration_s else peak  # rps metric counts arrivals
    need_max = min(settings.max_scale_limit, max(1, svc.min_scale, math.ceil(peak_load * 2 / target)))
    if capacity_at_risk and svc.max_scale and need_max > svc.max_scale:
        rec.changes["max_scale"] = {"current": svc.max_scale, "recommended": need_max,
                                    "why": "capacity risk: 2x the P50 busiest minute needs more replicas"}
        rec.edits.append(Edit([*ann, _annotation_key(svc, "max-scale", "maxScale")], str(need_max), quote=True))
    history = wl.history
    containers = ["spec", "template", "spec", "containers", 0, "resources", "requests"]
    if history and history.cpu_p95_millicores is not None:
        cpu_m = max(50, math.ceil(history.cpu_p95_millicores * 1.2 / 50) * 50)
        if cpu_m < float(svc.cpu_request_vcpu) * 1000 * 0.7:
            rec.changes["cpu_request"] = {"current": f"{int(svc.cpu_request_vcpu * 1000)}m",
                                          "recommended": f"{cpu_m}m", "why": "history p95 CPU x 1.2"}
            rec.overrides["cpu_request_vcpu"] = Decimal(cpu_m) / 1000
            rec.edits.append(Edit([*containers, "cpu"], f"{cpu_m}m", quote=True))
    if history and history.max_memory_used_mb is not None:
        mem_mi = max(64, math.ceil(history.max_memory_used_mb * 1.3 / 64) * 64)
        if mem_mi < float(svc.memory_request_gib) * 1024 * 0.7:
            rec.changes["memory_request"] = {"current": f"{int(svc.memory_request_gib * 1024)}Mi",
                                             "recommended": f"{mem_mi}Mi", "why": "history max memory x 1.3"}
            rec.overrides["memory_request_gib"] = Decimal(mem_mi) / 1024
            rec.edits.append(Edit([*containers, "memory"], f"{mem_mi}Mi", quote=True))
    return rec


def _lambda(svc: Service, wl: Workload, capacity_at_risk: bool) -> Recommendation:
    rec = Recommendation()
    history = wl.history
    if history and history.max_memory_used_mb is not None:
        memory = max(128, math.ceil(history.max_memory_used_mb * 1.3 / 64) * 64)
        if memory < svc.memory_mb:
            rec.changes["memory_mb"] = {"current": int(svc.memory_mb), "recommended": memory,
                                        "why": "history max memory used x 1.3 (assumes duration unchanged)"}
            rec.overrides["memory_mb"] = memory
            rec.edits.append(Edit(["spec", "memoryMib"], memory))
    if svc.architecture == "x86_64":
        rec.changes["architecture"] = {"current": "x86_64", "recommended": "arm64",
                                       "why": "Graviton duration price ~20% lower; check native dependencies"}
        rec.overrides["architecture"] = "arm64"
        rec.edits.append(Edit(["spec", "architecture"], "arm64"))
    wanted = max(1, math.ceil(_peak_p50(wl) * 2))
    if capacity_at_risk and svc.reserved_concurrency is not None and wanted > svc.reserved_concurrency:
        rec.changes["reserved_concurrency"] = {"current": svc.reserved_concurrency, "recommended": wanted,
                                               "why": "capacity risk: 2x the P50 busiest-minute concurrency"}
        rec.edits.append(Edit(["spec", "reservedConcurrency"], wanted))
    return rec


def recommend(svc: Service, wl: Workload, settings: PredictionSettings, prices: KubernetesPrices,
              project_dir: Path, current_p50: Decimal, capacity_probability: float) -> dict[str, Any]:
    threshold = settings.capacity_risk_threshold if settings.capacity_risk_threshold is not None else 0.5
    at_risk = capacity_probability >= threshold
    rec = _knative(svc, wl, settings, prices, at_risk) if svc.kind == "knative" else _lambda(svc, wl, at_risk)
    result: dict[str, Any] = {"changes": rec.changes, "saving_usd_month": 0.0, "edits": None, "patch": None}
    if not rec.changes:
        return result
    if rec.overrides:
        after = service_cost(svc, wl.requests_per_month["p50"], wl.mean_duration_ms["p50"], settings, prices,
                             wl.burstiness["p50"], **rec.overrides)
        result["saving_usd_month"] = float(round(current_p50 - after, 2))
    file, line = svc.primary.source_file, svc.primary.source_line
    if file and rec.edits:
        result["edits"] = {"file": file, "line": line, "changes": [e.as_dict() for e in rec.edits]}
    return result
