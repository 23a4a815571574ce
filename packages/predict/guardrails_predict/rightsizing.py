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
  * target (`autoscaling.knative.dev/target`, concurrency metric only), from Knative's autoscaler metrics
    (Serving v1.17 names, OpenCensus -> Prometheus): per-pod concurrency c = autoscaler_stable_request_concurrency
    (the revision's requests in flight over the stable window, summed over its pods) / autoscaler_actual_pods,
    its P50 and P99 over the window's minutes. The busiest pod's CPU (and memory) as base + slope x c: the line
    through the (P50, P50) and (P99, P99) points (both grow with the load, so they pair); when c varied by less
    than 10 %, or the line falls or starts below zero, from zero through the P99 point (which over-states what
    more load needs). A pod at `capacity` = (cpu request / (1 + headroom) - base) / slope in flight stays within
    its request less the headroom; new target = floor(capacity / target utilisation).
      - raise when CPU is below 90 % of the request, nothing queues (queue-proxy revision_queue_depth P99 < 1,
        reported only with containerConcurrency > 0) and the autoscaler never panicked (autoscaler_panic_mode),
        the raise is >= 20 %, capped at containerConcurrency; the fuller pods' requests/limits are re-sized for
        the new per-pod load (the rules above, CPU and memory read off the lines at the new target). It is
        proposed only when it saves more (P50) than smaller pods at the current target; otherwise those are
        proposed and `not_changed` says why the target was kept.
      - lower when the busiest pod's P99 CPU is >= 90 % of its request *and* requests queue or the autoscaler
        panicked: more, equally sized pods; a risk fix, priced as `extra_cost_usd_month`, never as a saving
        (max-scale raised for the new target when the observed P99 needs it).
      - kept when the autoscaler's own target per pod (autoscaler_target_concurrency_per_pod) disagrees with the
        declaration's (the cluster's config-autoscaler or an overlay decides), and "missing: ..." whenever a
        figure it needs was not measured (never a guess).
  * containerConcurrency is never changed (it is the application's hard limit; lowering the target is the safe
    knob), but when it is set the result says whether it binds (`not_changed.containerConcurrency`): requests
    queue in queue-proxy (depth P99 >= 1) while the busiest pod's CPU is below 90 % of its request means the
    limit, not CPU, holds the pods back - raise it if the application can take more in flight; otherwise how
    far the per-pod P99 in flight is from it. min-scale is not changed from these figures (idle detection owns
    it).
  The saving is P10/P50/P90 over a bootstrap of the observed hours (730 hours drawn with replacement, 200 draws,
  fixed seed) of cost(current) - cost(recommended), both priced by `knative_monthly_cost` for each hour.

The declaration changes are data (`recommendation.edits`: file, line and (path, value) edits); applying them to
the file, comments kept, is preflight's job (`preflight.gitops`), which fills `recommendation.patch`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    # Knative's autoscaler (and queue-proxy) figures, for `autoscaling.knative.dev/target`:
    pod_concurrency_p99: float | None = None  # stable-window requests in flight per pod, P99 of the minutes
    pod_concurrency_p50: float | None = None  # the same, median
    cpu_p50_millicores: float | None = None  # busiest pod, median: with the P99s, how CPU/memory grow with load
    memory_p50_mib: float | None = None
    autoscaler_target_per_pod: float | None = None  # what the autoscaler aimed for (target x utilisation)
    queue_depth_p99: float | None = None  # requests waiting in the busiest pod's queue-proxy, P99 of the minutes
    panic_max: float | None = None  # 1 when the autoscaler panicked at least once in the window
    missing: Mapping[str, str] = field(default_factory=dict)  # figure name -> why it was not measured


_MIN_CHANGE = 0.2
_BOOTSTRAP_DRAWS, _BOOTSTRAP_SEED = 200, 0
SATURATED_CPU_SHARE = 0.9  # the busiest pod's P99 CPU at or above this share of its request: no CPU left
_TARGET_AGREES = 0.05  # the autoscaler's target per pod within 5 % of the declaration's: the same setting


def _step_up(value: float, step: int, floor: int) -> int:
    return max(floor, math.ceil(value / step) * step)


def _serving_container(document: dict[str, Any]) -> int:
    containers = get(document, "spec.template.spec.containers", []) or []
    with_port = [i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("ports")]
    return with_port[0] if with_port else 0


@dataclass
class _Sizing:
    """One way to size the service: its changes, edits, floors and the knobs the saving is priced with."""

    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)
    floors: dict[str, Any] = field(default_factory=dict)
    cpu_vcpu: Decimal = Decimal(0)
    memory_gib: Decimal = Decimal(0)
    max_scale: int = 0
    target: Decimal | None = None


def _resource_rules(sizing: _Sizing, svc: Service, document: dict[str, Any], file: str, cpu_p99: float | None,
                    mem_p99: float | None, mem_max: float | None, factor: float, basis: str,
                    lower: bool = True) -> None:
    """Requests and limits of the serving container for a pod using `cpu_p99`/`mem_p99`/`mem_max` (`basis` says
    where those per-pod figures come from); `lower=False` keeps requests that would go down."""
    index = _serving_container(document)
    container = (get(document, "spec.template.spec.containers", []) or [{}])[index]
    resources = container.get("resources", {}) if isinstance(container, dict) else {}
    base = ["spec", "template", "spec", "containers", index, "resources"]
    where = f"{file}: spec.template.spec.containers[{index}].resources"

    def current(kind: str, name: str) -> Any:
        return get(resources, f"{kind}.{name}")

    def request(name: str, observed: float, unit: str, step: int, floor_key: str,
                to_units: Callable[[Any, str], float], what: str) -> int | None:
        """The `name` request for an observed P99 of `observed` (in `unit`): a change when it moves by at least
        _MIN_CHANGE (with `lower=False`, only upwards). Returns the new value, or None when it is kept."""
        floor = observed * factor
        sizing.floors[floor_key] = round(floor, 1)
        wanted = _step_up(floor, step, step)
        now = current("requests", name)
        now_units = to_units(now, f"{where}.requests.{name}") if now is not None else None
        if now_units is not None and (abs(wanted - now_units) < _MIN_CHANGE * now_units
                                      or (not lower and wanted <= now_units)):
            return None
        sizing.changes[f"{name}_request"] = {"current": now, "recommended": f"{wanted}{unit}",
                                             "why": f"{basis} P99 {what} {observed:.0f}{unit} x {factor:g}"}
        sizing.edits.append(Edit([*base, "requests", name], f"{wanted}{unit}"))
        return wanted

    if cpu_p99 is not None:
        wanted = request("cpu", cpu_p99, "m", 50, "cpu_request_millicores",
                         lambda v, w: float(parse_cpu(v, w)) * 1000, "CPU")
        if wanted is not None:
            sizing.cpu_vcpu = Decimal(wanted) / 1000
        limit = current("limits", "cpu")
        new_m = int(sizing.cpu_vcpu * 1000)
        if limit is not None and float(parse_cpu(limit, f"{where}.limits.cpu")) * 1000 < new_m:
            sizing.changes["cpu_limit"] = {"current": limit, "recommended": f"{new_m}m",
                                           "why": "a limit below the request is refused by Kubernetes"}
            sizing.edits.append(Edit([*base, "limits", "cpu"], f"{new_m}m"))
    if mem_p99 is not None:
        wanted = request("memory", mem_p99, "Mi", 64, "memory_request_mib",
                         lambda v, w: float(parse_memory_gib(v, w)) * 1024, "working set")
        if wanted is not None:
            sizing.memory_gib = Decimal(wanted) / 1024
    if mem_max is not None:
        floor = max(mem_max * factor, float(sizing.memory_gib) * 1024)
        sizing.floors["memory_limit_mib"] = round(floor, 1)
        limit = current("limits", "memory")
        limit_mi = float(parse_memory_gib(limit, f"{where}.limits.memory")) * 1024 if limit is not None else None
        if limit_mi is not None and limit_mi < floor:
            wanted = _step_up(floor, 64, 64)
            sizing.changes["memory_limit"] = {"current": limit, "recommended": f"{wanted}Mi",
                                              "why": f"{basis} max working set {mem_max:.0f}Mi x {factor:g} "
                                                     "(below it the pod is OOM-killed)"}
            sizing.edits.append(Edit([*base, "limits", "memory"], f"{wanted}Mi"))


def _max_scale_rule(sizing: _Sizing, svc: Service, usage: ObservedKnativeUsage, factor: float, per_pod: float,
                    max_scale_limit: int) -> None:
    if usage.concurrency_p99 is None or not svc.max_scale:
        return
    need = math.ceil(usage.concurrency_p99 * factor / per_pod)
    sizing.floors["max_scale"] = need
    if need > svc.max_scale:
        new_max = min(max_scale_limit, need)
        sizing.max_scale = new_max
        sizing.changes["max_scale"] = {"current": svc.max_scale, "recommended": new_max,
                                       "why": f"P99 {usage.concurrency_p99:.1f} in flight x {factor:g} / "
                                              f"{per_pod:g} per pod" + (" (capped at limits.maxScale)"
                                                                        if new_max < need else "")}
        ann = ["spec", "template", "metadata", "annotations"]
        sizing.edits.append(Edit([*ann, _annotation_key(svc, "max-scale", "maxScale")], str(new_max), quote=True))


@dataclass(frozen=True)
class _PerLoad:
    """A pod's CPU or memory as a function of its requests in flight c: base + slope x c."""

    base: float
    slope: float
    fitted: bool  # through the P50 and P99 points; False: from zero through the P99 point (over-states growth)

    def at(self, c: float) -> float:
        return self.base + self.slope * c

    def how(self) -> str:
        return (f"{self.base:.0f} + {self.slope:.3g} per request in flight (through the P50 and P99 points)"
                if self.fitted else f"{self.slope:.3g} per request in flight, from zero (the load did not vary "
                                    "enough to fit a base)")


_MIN_SPREAD = 0.1  # P50 at least 10 % below P99 per-pod concurrency: enough spread to fit a line


def _per_load(c50: float | None, v50: float | None, c99: float, v99: float) -> _PerLoad:
    """Pairs the P50s and the P99s (both grow with the load, so the same minutes rank alike). A line that does not
    rise, or would start below zero, is not trusted: from zero through the P99 point instead."""
    if c50 is not None and v50 is not None and c99 - c50 >= _MIN_SPREAD * c99:
        slope = (v99 - v50) / (c99 - c50)
        base = v99 - slope * c99
        if slope > 0 and base >= 0:
            return _PerLoad(base, slope, True)
    return _PerLoad(0.0, v99 / c99, False)


@dataclass(frozen=True)
class _TargetRule:
    """What the target rule found: `direction` raise | lower | None (kept, `reason` says why)."""

    direction: str | None
    reason: str
    current: float = 0.0  # the declared target (or the default it falls back to)
    recommended: int = 0
    per_pod_now: float = 0.0  # target x utilisation (and containerConcurrency), what the autoscaler aims for
    per_pod_new: float = 0.0
    cpu: _PerLoad | None = None
    memory: _PerLoad | None = None


def _target_rule(svc: Service, usage: ObservedKnativeUsage, factor: float, prices: KubernetesPrices) -> _TargetRule:
    if svc.metric == "rps":
        return _TargetRule(None, "autoscaling.knative.dev/metric is rps: the target is requests per second per pod, "
                                 "which these concurrency figures do not size")
    needed = {"per-pod concurrency": usage.pod_concurrency_p99, "busiest pod CPU P99": usage.cpu_p99_millicores}
    if svc.container_concurrency > 0:  # queue-proxy reports its queue only when containerConcurrency > 0
        needed["queue depth"] = usage.queue_depth_p99
    absent = [f"{name} ({usage.missing.get(name, 'not measured')})" for name, v in needed.items() if v is None]
    if absent:
        return _TargetRule(None, "missing: " + "; ".join(absent))
    c99, cpu99 = float(usage.pod_concurrency_p99 or 0), float(usage.cpu_p99_millicores or 0)
    request_m = float(svc.cpu_request_vcpu) * 1000
    if request_m <= 0 or c99 <= 0 or cpu99 <= 0:
        return _TargetRule(None, "no cpu request, or no requests in flight / CPU used per pod: nothing to scale by")
    per_pod_now = float(per_pod_target(knative_scaling(svc), prices))
    utilisation = float(svc.target_utilization if svc.target_utilization is not None else prices.target_utilization)
    cc = svc.container_concurrency
    current = float(svc.target) if svc.target is not None else float(cc or prices.container_concurrency_target_default)
    seen = usage.autoscaler_target_per_pod
    if seen is not None and abs(seen - per_pod_now) > _TARGET_AGREES * per_pod_now:
        return _TargetRule(None, f"the autoscaler aimed at {seen:g} per pod, the declaration gives {per_pod_now:g} "
                                 "(target x utilisation): the cluster's config-autoscaler or an overlay differs",
                           current, per_pod_now=per_pod_now)
    # The busiest pod's CPU against the mean pod's requests in flight (over-states a pod's CPU: safe for a raise);
    # a pod at `capacity` requests in flight would use its request / (1 + headroom).
    cpu = _per_load(usage.pod_concurrency_p50, usage.cpu_p50_millicores, c99, cpu99)
    memory = (_per_load(usage.pod_concurrency_p50, usage.memory_p50_mib, c99, usage.memory_p99_mib)
              if usage.memory_p99_mib is not None else None)
    capacity = max(0.0, (request_m / factor - cpu.base) / cpu.slope)
    new = max(1, math.floor(capacity / utilisation + 1e-9))
    saturated = cpu99 >= SATURATED_CPU_SHARE * request_m
    queueing = (usage.queue_depth_p99 or 0) >= 1
    panicked = (usage.panic_max or 0) >= 1
    signs = ", ".join(s for s, on in (("requests queue in queue-proxy", queueing), ("the autoscaler panicked",
                                                                                   panicked)) if on)
    kept = _TargetRule(None, "", current, per_pod_now=per_pod_now)
    # what the autoscaler aims for now, before utilisation: min(target, containerConcurrency), or the default
    effective = per_pod_now / utilisation
    if saturated and signs:
        if new >= effective:
            return replace(kept, reason=f"CPU saturated and {signs}, but the autoscaler already aims for "
                                        f"{effective:g} <= {new} per pod")
        per_pod_new = float(per_pod_target(replace(knative_scaling(svc), target=Decimal(new)), prices))
        return _TargetRule("lower", f"busiest pod P99 CPU {cpu99:.0f}m is {cpu99 / request_m:.0%} of its "
                                    f"{request_m:.0f}m request and {signs}; CPU = {cpu.how()}: {capacity:.1f} "
                                    f"in flight keep it within request / {factor:g}", current, new, per_pod_now,
                           per_pod_new, cpu, memory)
    if saturated:
        return replace(kept, reason=f"busiest pod P99 CPU {cpu99:.0f}m is {cpu99 / request_m:.0%} of its request "
                                    "but nothing queues and the autoscaler never panicked: kept")
    if signs:
        return replace(kept, reason=f"{signs} while CPU is at {cpu99 / request_m:.0%} of the request: the "
                                    "bottleneck is not CPU, a higher target would make it worse")
    if cc > 0:
        new = min(new, cc)  # the autoscaler aims for min(target, containerConcurrency)
    if new < effective * (1 + _MIN_CHANGE):
        why = f"containerConcurrency {cc} caps it" if cc and new == cc else \
            f"a pod could take {capacity:.1f} in flight within its request / {factor:g}"
        return replace(kept, reason=f"target {effective:g} -> {new} is less than a {_MIN_CHANGE:.0%} change ({why})")
    per_pod_new = float(per_pod_target(replace(knative_scaling(svc), target=Decimal(new)), prices))
    return _TargetRule("raise", f"busiest pod P99 CPU {cpu99:.0f}m of a {request_m:.0f}m request at {c99:.1f} "
                                f"in flight per pod (P99); CPU = {cpu.how()}: {capacity:.1f} in flight keep it "
                                f"within request / {factor:g}", current, new, per_pod_now, per_pod_new, cpu, memory)


def _container_concurrency_note(svc: Service, usage: ObservedKnativeUsage) -> str:
    """Whether the declared hard limit binds, from the queue depth and the CPU (never an edit: see the docstring)."""
    cc = svc.container_concurrency
    if usage.queue_depth_p99 is None or usage.cpu_p99_millicores is None:
        absent = [name for name, v in (("queue depth", usage.queue_depth_p99),
                                       ("busiest pod CPU P99", usage.cpu_p99_millicores)) if v is None]
        return "missing: " + "; ".join(f"{n} ({usage.missing.get(n, 'not measured')})" for n in absent)
    request_m = float(svc.cpu_request_vcpu) * 1000
    cpu_share = float(usage.cpu_p99_millicores) / request_m if request_m > 0 else None
    if usage.queue_depth_p99 >= 1 and cpu_share is not None and cpu_share < SATURATED_CPU_SHARE:
        return (f"binding: requests queue in queue-proxy (depth P99 {usage.queue_depth_p99:g}) at containerConcurrency "
                f"{cc} while the busiest pod's P99 CPU is {cpu_share:.0%} of its request: the limit, not CPU, holds "
                "the pods back; raise it if the application can take more requests in flight (its declared limit: "
                "not changed automatically)")
    if usage.queue_depth_p99 >= 1:
        return (f"requests queue at containerConcurrency {cc} with CPU at {cpu_share:.0%} of the request: CPU is the "
                "bottleneck; a higher limit would not help (see target)")
    in_flight = f"; per-pod P99 in flight {usage.pod_concurrency_p99:g}" if usage.pod_concurrency_p99 else ""
    return f"not binding: nothing queues in queue-proxy at containerConcurrency {cc}{in_flight}"


def _target_edit(sizing: _Sizing, svc: Service, rule: _TargetRule) -> None:
    sizing.target = Decimal(rule.recommended)
    sizing.changes["target"] = {"current": f"{rule.current:g}", "recommended": str(rule.recommended),
                                "why": f"{rule.reason}; per pod {rule.per_pod_now:g} -> {rule.per_pod_new:g} "
                                       "(x target utilisation)"}
    sizing.edits.append(Edit(["spec", "template", "metadata", "annotations", "autoscaling.knative.dev/target"],
                             str(rule.recommended), quote=True))


def knative_from_observed(document: dict[str, Any], file: str, line: int | None, usage: ObservedKnativeUsage,
                          headroom: float, prices: KubernetesPrices, max_scale_limit: int) -> dict[str, Any]:
    """Rightsizing of a Knative declaration from observed usage: {changes, edits (file, line, path/value),
    saving_usd_month {p10, p50, p90} | None, extra_cost_usd_month (a risk fix that costs more) | None, floors,
    not_changed {knob: reason}, target {figures}}. See the module docstring for the rules."""
    svc = knative_service_from_declaration(document, file, line)
    factor = 1 + headroom

    def fresh() -> _Sizing:
        return _Sizing(cpu_vcpu=svc.cpu_request_vcpu, memory_gib=svc.memory_request_gib, max_scale=svc.max_scale)

    per_pod_now = float(per_pod_target(knative_scaling(svc), prices))
    smaller = fresh()  # smaller pods: requests from the observed P99, the replicas the target already gives
    _resource_rules(smaller, svc, document, file, usage.cpu_p99_millicores, usage.memory_p99_mib,
                    usage.memory_max_mib, factor, "observed")
    _max_scale_rule(smaller, svc, usage, factor, per_pod_now, max_scale_limit)
    rule = _target_rule(svc, usage, factor, prices)
    chosen, extra_cost = smaller, None
    not_changed: dict[str, str] = {}
    priceable = bool(usage.hourly_rps) and usage.mean_latency_ms is not None
    if rule.direction is not None:
        # Fuller (or, for a risk fix, emptier) pods: each pod at its new target's load, its requests/limits sized
        # for that load from the per-load lines (the memory max moves with the memory line).
        c_new, c99 = rule.per_pod_new, float(usage.pod_concurrency_p99 or 0)
        mem = rule.memory
        cpu_new = rule.cpu.at(c_new) if rule.cpu else None
        mem_new = mem.at(c_new) if mem else None
        max_new = (usage.memory_max_mib + mem.at(c_new) - mem.at(c99)) if mem and usage.memory_max_mib else None
        other = fresh()
        basis = f"at {c_new:g} in flight per pod (the new target), from the observed per-load lines:"
        _resource_rules(other, svc, document, file, cpu_new, mem_new, max_new, factor, basis,
                        lower=rule.direction == "raise")
        _max_scale_rule(other, svc, usage, factor, rule.per_pod_new, max_scale_limit)
        _target_edit(other, svc, rule)
        if rule.direction == "lower":
            chosen = other  # a risk fix: more replicas, priced as the extra cost, never as a saving
            if priceable:
                saving = _bootstrap_saving(svc, usage, prices, other)  # negative: it costs more
                extra_cost = {k: round(-saving[q], 2) for k, q in (("p10", "p90"), ("p50", "p50"), ("p90", "p10"))}
        elif not priceable:
            not_changed["target"] = "missing: hourly requests or mean latency (the fewer replicas cannot be priced)"
        else:
            fuller = _bootstrap_saving(svc, usage, prices, other)
            current = _bootstrap_saving(svc, usage, prices, smaller) if smaller.changes else None
            if fuller["p50"] > (current["p50"] if current else 0):
                chosen = other
            else:
                shown = f"${current['p50']:,.2f}" if current else "$0.00"
                not_changed["target"] = (f"target {rule.current:g} -> {rule.recommended} saves "
                                         f"${fuller['p50']:,.2f}/month (P50), smaller pods at the current target "
                                         f"{shown}: kept")
    else:
        not_changed["target"] = rule.reason
    if svc.container_concurrency > 0:
        not_changed["containerConcurrency"] = _container_concurrency_note(svc, usage)
    result: dict[str, Any] = {
        "changes": chosen.changes, "floors": chosen.floors, "saving_usd_month": None,
        "extra_cost_usd_month": extra_cost, "not_changed": not_changed,
        "target": {"current": rule.current or None, "recommended": rule.recommended or None,
                   "direction": rule.direction if "target" in chosen.changes else None,
                   "per_pod_now": rule.per_pod_now or per_pod_now, "per_pod_new": rule.per_pod_new or None,
                   "pod_concurrency_p99": usage.pod_concurrency_p99, "pod_concurrency_p50": usage.pod_concurrency_p50,
                   "cpu_p99_millicores": usage.cpu_p99_millicores, "queue_depth_p99": usage.queue_depth_p99,
                   "panic_max": usage.panic_max, "autoscaler_target_per_pod": usage.autoscaler_target_per_pod},
        "edits": {"file": file, "line": line, "changes": [e.as_dict() for e in chosen.edits]}
        if chosen.edits else None}
    if chosen.changes and priceable and extra_cost is None:
        result["saving_usd_month"] = _bootstrap_saving(svc, usage, prices, chosen)
    return result


def _bootstrap_saving(svc: Service, usage: ObservedKnativeUsage, prices: KubernetesPrices,
                      sizing: _Sizing) -> dict[str, float]:
    before = knative_scaling(svc)
    after = replace(before, cpu_request_vcpu=sizing.cpu_vcpu, memory_request_gib=sizing.memory_gib,
                    max_scale=sizing.max_scale, target=sizing.target if sizing.target is not None else before.target)
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
