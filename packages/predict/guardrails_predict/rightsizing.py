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

From what was *observed* (`knative_from_observed`, the numbers measured in Prometheus, per pod unless said):
  * cpu request = P99 CPU x (1 + headroom), memory request = P99 working set x (1 + headroom), memory limit
    >= max working set x (1 + headroom), cpu limit >= the new cpu request; rounded up to 50m / 64Mi steps. A
    request changes only when it differs by >= 20 % (noise is not a change); never below P99 + headroom.
  * max-scale >= ceil(P99 requests in flight x (1 + headroom) / per-pod target), capped at `limits.maxScale`
    (raised only: a lower cap saves nothing and queues requests).
  * min-scale, target and containerConcurrency are not changed from these figures (idle detection and latency
    SLOs own them).
  The saving is P10/P50/P90 over a bootstrap of the observed hours (730 hours drawn with replacement, 200 draws,
  fixed seed) of cost(current) - cost(recommended), both priced by `knative_monthly_cost` for each hour.

The declaration changes are data (`recommendation.edits`: file, line and (path, value) edits); applying them to
the file, comments kept, is preflight's job (`preflight.gitops`), which fills `recommendation.patch`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from guardrails_predict.config import PredictionSettings
from guardrails_predict.costing import PriceMemo, knative_scaling, service_cost
from guardrails_predict.features import peak_concurrency
from guardrails_predict.pricing import KubernetesPrices
from guardrails_predict.pricing.knative_cost import KnativeWorkload, knative_monthly_cost, per_pod_target
from guardrails_predict.resources import get
from guardrails_predict.services import Service, knative_service_from_declaration, parse_cpu, parse_memory_gib
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
              project_dir: Path, current_p50: Decimal, capacity_probability: float,
              memo: PriceMemo | None = None) -> dict[str, Any]:
    threshold = settings.capacity_risk_threshold if settings.capacity_risk_threshold is not None else 0.5
    at_risk = capacity_probability >= threshold
    rec = _knative(svc, wl, settings, prices, at_risk) if svc.kind == "knative" else _lambda(svc, wl, at_risk)
    result: dict[str, Any] = {"changes": rec.changes, "saving_usd_month": 0.0, "edits": None, "patch": None}
    if not rec.changes:
        return result
    if rec.overrides:
        after = service_cost(svc, wl.requests_per_month["p50"], wl.mean_duration_ms["p50"], settings, prices,
                             wl.burstiness["p50"], memo=memo, **rec.overrides)
        result["saving_usd_month"] = float(round(current_p50 - after, 2))
    file, line = svc.primary.source_file, svc.primary.source_line
    if file and rec.edits:
        result["edits"] = {"file": file, "line": line, "changes": [e.as_dict() for e in rec.edits]}
    return result


@dataclass(frozen=True)
class ObservedKnativeUsage:
    """Measured figures for one Knative Service; None = not measured (nothing is recommended from it)."""

    cpu_p99_millicores: float | None  # busiest pod, P99 over the window's minutes
    memory_p99_mib: float | None
    memory_max_mib: float | None
    concurrency_p99: float | None  # requests in flight, whole service (Little's law on the latency sum)
    hourly_rps: Sequence[float]  # one mean request rate per observed hour
    mean_latency_ms: float | None


_MIN_CHANGE = 0.2
_BOOTSTRAP_DRAWS, _BOOTSTRAP_SEED = 200, 0


def _step_up(value: float, step: int, floor: int) -> int:
    return max(floor, math.ceil(value / step) * step)


def _serving_container(document: dict[str, Any]) -> int:
    containers = get(document, "spec.template.spec.containers", []) or []
    with_port = [i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("ports")]
    return with_port[0] if with_port else 0


def knative_from_observed(document: dict[str, Any], file: str, line: int | None, usage: ObservedKnativeUsage,
                          headroom: float, prices: KubernetesPrices, max_scale_limit: int) -> dict[str, Any]:
    """Rightsizing of a Knative declaration from observed usage: {changes, edits (file, line, path/value),
    saving_usd_month {p10, p50, p90} | None, floors}. See the module docstring for the rules."""
    svc = knative_service_from_declaration(document, file, line)
    index = _serving_container(document)
    container = (get(document, "spec.template.spec.containers", []) or [{}])[index]
    resources = container.get("resources", {}) if isinstance(container, dict) else {}
    base = ["spec", "template", "spec", "containers", index, "resources"]
    where = f"{file}: spec.template.spec.containers[{index}].resources"
    factor = 1 + headroom
    changes: dict[str, dict[str, Any]] = {}
    edits: list[Edit] = []
    floors: dict[str, Any] = {}
    new_cpu_vcpu, new_mem_gib = svc.cpu_request_vcpu, svc.memory_request_gib

    def current(kind: str, name: str) -> Any:
        return get(resources, f"{kind}.{name}")

    if usage.cpu_p99_millicores is not None:
        floor = usage.cpu_p99_millicores * factor
        floors["cpu_request_millicores"] = round(floor, 1)
        wanted = _step_up(floor, 50, 50)
        cpu_now = current("requests", "cpu")
        now_m = float(parse_cpu(cpu_now, f"{where}.requests.cpu")) * 1000 if cpu_now is not None else None
        if now_m is None or abs(wanted - now_m) >= _MIN_CHANGE * now_m:
            changes["cpu_request"] = {"current": cpu_now, "recommended": f"{wanted}m",
                                      "why": f"observed P99 {usage.cpu_p99_millicores:.0f}m x {factor:g}"}
            edits.append(Edit([*base, "requests", "cpu"], f"{wanted}m"))
            new_cpu_vcpu = Decimal(wanted) / 1000
        limit = current("limits", "cpu")
        if limit is not None and float(parse_cpu(limit, f"{where}.limits.cpu")) * 1000 < float(new_cpu_vcpu) * 1000:
            changes["cpu_limit"] = {"current": limit, "recommended": f"{int(new_cpu_vcpu * 1000)}m",
                                    "why": "a limit below the request is refused by Kubernetes"}
            edits.append(Edit([*base, "limits", "cpu"], f"{int(new_cpu_vcpu * 1000)}m"))
    if usage.memory_p99_mib is not None:
        floor = usage.memory_p99_mib * factor
        floors["memory_request_mib"] = round(floor, 1)
        wanted = _step_up(floor, 64, 64)
        mem_now = current("requests", "memory")
        now_mi = float(parse_memory_gib(mem_now, f"{where}.requests.memory")) * 1024 if mem_now is not None else None
        if now_mi is None or abs(wanted - now_mi) >= _MIN_CHANGE * now_mi:
            changes["memory_request"] = {"current": mem_now, "recommended": f"{wanted}Mi",
                                         "why": f"observed P99 working set {usage.memory_p99_mib:.0f}Mi x {factor:g}"}
            edits.append(Edit([*base, "requests", "memory"], f"{wanted}Mi"))
            new_mem_gib = Decimal(wanted) / 1024
    if usage.memory_max_mib is not None:
        floor = max(usage.memory_max_mib * factor, float(new_mem_gib) * 1024)
        floors["memory_limit_mib"] = round(floor, 1)
        limit = current("limits", "memory")
        limit_mi = float(parse_memory_gib(limit, f"{where}.limits.memory")) * 1024 if limit is not None else None
        if limit_mi is not None and limit_mi < floor:
            wanted = _step_up(floor, 64, 64)
            changes["memory_limit"] = {"current": limit, "recommended": f"{wanted}Mi",
                                       "why": f"observed max working set {usage.memory_max_mib:.0f}Mi x {factor:g} "
                                              "(below it the pod is OOM-killed)"}
            edits.append(Edit([*base, "limits", "memory"], f"{wanted}Mi"))
    new_max = svc.max_scale
    if usage.concurrency_p99 is not None and svc.max_scale:
        target = float(per_pod_target(knative_scaling(svc), prices))
        need = math.ceil(usage.concurrency_p99 * factor / target)
        floors["max_scale"] = need
        if need > svc.max_scale:
            new_max = min(max_scale_limit, need)
            changes["max_scale"] = {"current": svc.max_scale, "recommended": new_max,
                                    "why": f"P99 {usage.concurrency_p99:.1f} in flight x {factor:g} / "
                                           f"{target:g} per pod" + (" (capped at limits.maxScale)"
                                                                    if new_max < need else "")}
            ann = ["spec", "template", "metadata", "annotations"]
            edits.append(Edit([*ann, _annotation_key(svc, "max-scale", "maxScale")], str(new_max), quote=True))
    result: dict[str, Any] = {"changes": changes, "floors": floors, "saving_usd_month": None,
                              "edits": {"file": file, "line": line, "changes": [e.as_dict() for e in edits]}
                              if edits else None}
    if changes and usage.hourly_rps and usage.mean_latency_ms is not None:
        result["saving_usd_month"] = _bootstrap_saving(svc, usage, prices, new_cpu_vcpu, new_mem_gib, new_max)
    return result


def _bootstrap_saving(svc: Service, usage: ObservedKnativeUsage, prices: KubernetesPrices, cpu: Decimal,
                      mem: Decimal, max_scale: int) -> dict[str, float]:
    before = knative_scaling(svc)
    after = type(before)(**{**before.__dict__, "cpu_request_vcpu": cpu, "memory_request_gib": mem,
                            "max_scale": max_scale})
    latency = Decimal(str(usage.mean_latency_ms))

    def hour_cost(scaling: Any, rps: float) -> float:
        wl = KnativeWorkload(requests_per_month=Decimal(0), mean_latency_ms=latency, hourly_rps=[Decimal(str(rps))])
        return float(knative_monthly_cost(wl, scaling, prices).total)

    per_hour = [hour_cost(before, r) - hour_cost(after, r) for r in usage.hourly_rps]
    rng = random.Random(_BOOTSTRAP_SEED)
    hours = int(prices.hours_per_month)
    draws = sorted(sum(rng.choice(per_hour) for _ in range(hours)) for _ in range(_BOOTSTRAP_DRAWS))

    def q(p: float) -> float:
        return round(draws[min(len(draws) - 1, int(p * len(draws)))], 2)

    return {"p10": q(0.1), "p50": q(0.5), "p90": q(0.9)}
