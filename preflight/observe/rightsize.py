"""Rightsizing from what was observed, as `preflight.gitops` proposals (branch + commit + PR body).

## Knative (`knative_rightsizing`)

The rules live with the other rightsizing rules (`guardrails_predict.rightsizing.knative_from_observed`: never
below the observed P99 + `guardrails:gitops.headroom`); this module turns an `ObservedService` into their inputs
and their answer into a `Proposal` whose evidence is every figure with its PromQL and window.

## Lambda (`rightsize_lambda`)

Never below what the observed P99 needs plus `guardrails:gitops.headroom` (h):
  * memory: at least max memory used (Lambda Insights `used_memory_max`) x (1 + h), in 64 MB steps, >= 128 MB.
    Without a memory figure memory is never lowered. Lambda gives CPU in proportion to memory up to 1,769 MB
    (1 vCPU), so a smaller function may run longer: duration(m) = d x (a x cpu(m0)/cpu(m) + (1 - a)), where a is
    the CPU-bound share of the duration, which CloudWatch cannot tell. The new memory must keep the *fully
    CPU-bound* (a = 1) P99 duration x (1 + h) within the timeout. Savings: P10 with a = 1 and the P10 day's
    requests, P50 with a = 0.5 and P50 requests, P90 with a = 0 (I/O-bound) and P90 requests.
    P99 duration is CloudWatch's p99 extended statistic; where the endpoint cannot compute it, the hourly
    Maximum (which is >= p99, so conservative), and the proposal says which.
  * provisioned concurrency: P99 of the hourly peak of instances in use (allocation x
    ProvisionedConcurrencyUtilization Maximum) x (1 + h), rounded up; 0 removes it.
  * reserved concurrency: throttled at the reservation -> raise it by the headroom (the true demand is hidden by
    the throttling); otherwise more than twice P99 peak concurrency x (1 + h) -> lower it to that (frees account
    concurrency, no saving). Capped at `guardrails:limits.reservedConcurrencyMax`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from guardrails_predict.config import prediction_settings
from guardrails_predict.costing import kubernetes_prices, service_cost
from guardrails_predict.pricing import PricingError
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.rightsizing import ObservedKnativeUsage, knative_from_observed

from preflight.gitops import REMOVE, Change, Edit, FileEdits, Proposal
from preflight.gitops.recommendations import recommendation_edits
from preflight.observe.idle import daily_requests
from preflight.observe.model import Measurement, ObservedService


def _value(m: Measurement | None) -> float | None:
    return None if m is None or m.missing else m.value


def _evidence(name: str, m: Measurement | None) -> str | None:
    if m is None:
        return None
    shown = f"missing ({m.missing_reason})" if m.missing else f"{m.value:.4g} {m.unit}"
    return f"{name}: {shown} over {m.window.label()} (query: `{m.query}`)"


def knative_rightsizing(decl: Any, observed: ObservedService, settings: Any) -> tuple[dict[str, Any], Proposal | None]:
    """(the recommendation: changes, floors, saving; the proposal, or None when nothing should change)."""
    target_figures = {"per-pod concurrency": observed.pod_concurrency_p99, "queue depth": observed.queue_depth_p99,
                      "busiest pod CPU P99": observed.cpu_p99_millicores}
    usage = ObservedKnativeUsage(
        cpu_p99_millicores=_value(observed.cpu_p99_millicores), memory_p99_mib=_value(observed.memory_p99_mib),
        memory_max_mib=_value(observed.memory_max_mib), concurrency_p99=_value(observed.concurrency_p99),
        hourly_rps=[v / 3600 for v in (observed.hourly.get("requests").values if "requests" in observed.hourly
                                       else ()) if v is not None],
        mean_latency_ms=_value(observed.duration_mean_ms),
        pod_concurrency_p99=_value(observed.pod_concurrency_p99),
        pod_concurrency_p50=_value(observed.pod_concurrency_p50),
        cpu_p50_millicores=_value(observed.cpu_p50_millicores), memory_p50_mib=_value(observed.memory_p50_mib),
        autoscaler_target_per_pod=_value(observed.autoscaler_target_per_pod),
        queue_depth_p99=_value(observed.queue_depth_p99), panic_max=_value(observed.panic_max),
        missing={name: (m.missing_reason if m is not None and m.missing_reason else "not measured")
                 for name, m in target_figures.items() if m is None or m.missing})
    document = decl.origin.data if decl.origin is not None else decl.document  # the file as written, not overlaid
    headroom = settings.gitops.headroom
    cfg = prediction_settings(settings)
    result = knative_from_observed(document, decl.file, decl.line, usage, headroom,
                                   kubernetes_prices(cfg), settings.limits.max_scale)
    if not result["edits"]:
        return result, None
    changes = [Change(knob, str(c["current"]), str(c["recommended"])) for knob, c in result["changes"].items()]
    summary = ", ".join(f"{c.field} {c.before} -> {c.after}" for c in changes)
    figures = [("busiest pod CPU P99", observed.cpu_p99_millicores),
               ("busiest pod CPU P50", observed.cpu_p50_millicores),
               ("memory working set P50", observed.memory_p50_mib),
               ("memory working set P99", observed.memory_p99_mib), ("memory working set max", observed.memory_max_mib),
               ("requests in flight P99", observed.concurrency_p99), ("mean latency", observed.duration_mean_ms),
               ("requests", observed.requests_per_hour),
               ("requests in flight per pod P99", observed.pod_concurrency_p99),
               ("requests in flight per pod P50", observed.pod_concurrency_p50),
               ("autoscaler target per pod", observed.autoscaler_target_per_pod),
               ("queue depth P99 (busiest pod)", observed.queue_depth_p99),
               ("autoscaler panic mode (max)", observed.panic_max)]
    evidence = [line for name, m in figures if (line := _evidence(name, m))]
    evidence += [f"{knob}: {c['why']}" for knob, c in result["changes"].items()]
    evidence += [f"{knob} not changed: {why}" for knob, why in result["not_changed"].items()]
    evidence.append(f"floors (observed P99 x (1 + headroom {headroom:g})): "
                    + ", ".join(f"{k} {v}" for k, v in result["floors"].items()))
    saving = result["saving_usd_month"]
    overlays = f" The stack overlays {', '.join(decl.overlays)} also touch this service; check they do not " \
               "override these fields." if decl.overlays else ""
    target = result["target"]["direction"]
    why = (f"Observed usage over {observed.window.label()} differs from what {decl.file} requests; every value "
           f"stays at or above the observed P99 plus {headroom:.0%} headroom.")
    risk = ("Requests below a future peak throttle CPU (latency) or, for memory limits, OOM-kill pods; the floors "
            "are the observed P99 (max for the memory limit) plus headroom, so only traffic beyond what the "
            "window saw is at risk.")
    if target == "raise":
        risk += (" A higher target packs more requests into each pod: the CPU it needs is extrapolated from "
                 "the busiest pod's CPU at the observed loads (a line through its P50 and P99 points), but "
                 "latency that grows with in-flight requests for other reasons (locks, a downstream pool, GPU "
                 "batching) is not measured by these figures; watch the P99 latency after the change.")
    elif target == "lower":
        extra, money = result["extra_cost_usd_month"], cfg.exchange.text
        why = ("The pods are CPU-saturated while requests queue or the autoscaler panics: a lower target makes "
               "the autoscaler add pods earlier. This is a risk fix, not a saving"
               + (f"; it costs P10/P50/P90 {money(extra['p10'])} / {money(extra['p50'])} / {money(extra['p90'])} "
                  "a month more at the observed traffic." if extra else "."))
        risk += " More replicas cost more; max-scale must leave room for them (checked against the observed P99)."
    proposal = Proposal(
        kind="rightsize", service=decl.name, title=f"rightsize {decl.name}: {summary}", why=why,
        evidence=evidence,
        edits=[FileEdits(decl.file, decl.line, tuple(recommendation_edits(result["edits"])))],
        changes=changes, saving_usd_month=saving, currency=cfg.exchange,
        risk=risk + " Revert the commit to undo." + overlays)
    return result, proposal


# ---------------------------------------------------------------- Lambda

ONE_VCPU_MB = 1769
STEP_MB = 64


def _known(values: Any) -> list[float]:
    return [float(v) for v in values if v is not None]


def _p99(values: list[float]) -> float:
    return float(np.quantile(values, 0.99)) if values else 0.0


def cpu_factor(before_mb: float, after_mb: float) -> float:
    """How much longer CPU-bound work runs at `after_mb` than at `before_mb` (CPU share proportional to memory up
    to one vCPU; above it, more vCPUs only help multi-threaded code, assumed not to)."""
    return min(before_mb, ONE_VCPU_MB) / min(after_mb, ONE_VCPU_MB)


def _quantiles(observed: ObservedService) -> dict[str, float] | None:
    days = [d for d in daily_requests(observed) if d is not None]
    if len(days) < 7:
        return None
    q = np.quantile(np.array(days) * 730 / 24, [0.1, 0.5, 0.9])
    return {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def rightsize_lambda(svc: Any, observed: ObservedService, settings: Any, cfg: Any, prices: Any
                     ) -> tuple[Proposal | None, list[str]]:
    """(proposal or None, notes on what was not changed and why)."""
    h = settings.gitops.headroom
    notes: list[str] = []
    requests = _quantiles(observed)
    duration = observed.duration_mean_ms.value if observed.duration_mean_ms else None
    if requests is None or duration is None:
        return None, ["fewer than 7 whole days with requests and duration observed: nothing to size from"]
    changes: dict[str, tuple[Any, Any, str]] = {}  # knob -> (before, after, why)
    edits: list[Edit] = []
    overrides: dict[str, Any] = {}
    evidence = [f"window {observed.window.label()}",
                f"requests: {observed.hourly['requests'].query}",
                f"duration: {observed.hourly['duration_ms'].query}"]

    # memory
    used = _known(observed.hourly.get("memory_used_max_mb", _Empty()).values)
    p99 = observed.latency_p99_ms.value
    p99_from = "CloudWatch Duration p99"
    if p99 is None:
        maxima = _known(observed.hourly["duration_max_ms"].values)
        p99 = max(maxima) if maxima else None
        p99_from = f"hourly Maximum Duration (>= p99; p99 missing: {observed.latency_p99_ms.missing_reason})"
    memory_after = svc.memory_mb
    if not used:
        notes.append("memory not lowered: no memory-used figure (enable Lambda Insights for used_memory_max)")
    elif p99 is None:
        notes.append("memory not lowered: no P99 duration to keep within the timeout")
    else:
        floor = max(128, math.ceil(max(used) * (1 + h) / STEP_MB) * STEP_MB)
        candidate = floor
        timeout_ms = svc.timeout_s * 1000
        while candidate < svc.memory_mb and p99 * cpu_factor(svc.memory_mb, candidate) * (1 + h) > timeout_ms:
            candidate += STEP_MB
        if candidate < svc.memory_mb:
            memory_after = candidate
            worst = p99 * cpu_factor(svc.memory_mb, candidate)
            changes["memoryMib"] = (int(svc.memory_mb), candidate,
                                    f"max memory used {max(used):,.0f} MB x {1 + h:g}; fully CPU-bound P99 "
                                    f"{p99:,.0f} -> {worst:,.0f} ms x {1 + h:g} stays within the "
                                    f"{svc.timeout_s:g} s timeout ({p99_from})")
            edits.append(Edit(("spec", "memoryMib"), candidate))
            overrides["memory_mb"] = candidate
            evidence += [f"memory used: {observed.hourly['memory_used_max_mb'].query}", f"P99 duration: {p99_from}"]
        else:
            notes.append(f"memory kept at {svc.memory_mb:g} MB: max used {max(used):,.0f} MB x {1 + h:g} "
                         "and the P99 duration need it")

    # provisioned concurrency
    pcu = observed.hourly.get("pc_utilisation")
    if svc.provisioned_concurrency > 0:
        util = _known(pcu.values) if pcu else []
        if not util:
            notes.append("provisioned concurrency kept: no ProvisionedConcurrencyUtilization observed")
        else:
            in_use = [u * svc.provisioned_concurrency for u in util]
            need = math.ceil(_p99(in_use) * (1 + h) - 1e-9)
            if need < svc.provisioned_concurrency:
                changes["provisionedConcurrency"] = (svc.provisioned_concurrency, need,
                                                     f"P99 of hourly peak instances in use {_p99(in_use):.2f} x "
                                                     f"{1 + h:g}")
                edits.append(Edit(("spec", "provisionedConcurrency"), need if need else REMOVE))
                overrides["provisioned_concurrency"] = need
                evidence.append(f"PC utilisation: {pcu.query}")  # type: ignore[union-attr]

    # reserved concurrency
    conc = _known(observed.hourly["concurrency_max"].values)
    throttles = observed.throttles.value if observed.throttles else None
    limit = settings.limits.reserved_concurrency_max
    if svc.reserved_concurrency is not None and conc:
        peak = _p99(conc)
        need = max(1, math.ceil(peak * (1 + h) - 1e-9))
        reserved = svc.reserved_concurrency
        if throttles and peak >= reserved * 0.9:
            raised = min(limit, max(reserved + 1, math.ceil(reserved * (1 + h))))
            if raised > reserved:
                changes["reservedConcurrency"] = (reserved, raised, f"{throttles:g} throttles with P99 peak "
                                                  f"concurrency {peak:g} at the reservation: raised by the headroom")
        elif reserved > 2 * need:
            changes["reservedConcurrency"] = (reserved, min(limit, need),
                                              f"P99 peak concurrency {peak:g} x {1 + h:g} = {need}: frees account "
                                              "concurrency (no saving)")
        if "reservedConcurrency" in changes:
            edits.append(Edit(("spec", "reservedConcurrency"), changes["reservedConcurrency"][1]))
            evidence += [f"concurrency: {observed.hourly['concurrency_max'].query}",
                         f"throttles: {observed.throttles.query if observed.throttles else 'n/a'}"]
    if not changes:
        return None, notes

    savings = _savings(svc, requests, duration, memory_after, overrides, cfg, prices)
    title = f"{svc.name}: rightsize " + ", ".join(f"{k} {b} -> {a}" for k, (b, a, _) in changes.items())
    why = "; ".join(f"{k}: {why}" for k, (_, _, why) in changes.items())
    if savings:
        why += (f". Saving at the observed daily requests (P10/P50/P90 {requests['p10']:,.0f} / "
                f"{requests['p50']:,.0f} / {requests['p90']:,.0f} a month) and mean duration {duration:,.0f} ms; "
                "P10 assumes fully CPU-bound work (a smaller function runs proportionally longer), P90 I/O-bound")
    else:
        why += ". Saving unknown or none (no price for an item in this region, or a concurrency-only change)"
    if notes:
        why += ". Not changed: " + "; ".join(notes)
    proposal = Proposal(
        kind="rightsize", service=svc.name, title=title, why=why, evidence=evidence,
        edits=[FileEdits(svc.primary.source_file or observed.declaration, svc.primary.source_line, tuple(edits))],
        changes=[Change(f"spec.{k}", str(b), str(a)) for k, (b, a, _) in changes.items()],
        saving_usd_month=savings if savings and savings["p90"] > 0 else None, currency=cfg.exchange,
        risk=_risk(changes))
    return proposal, notes


def _savings(svc: Any, requests: dict[str, float], duration: float, memory_after: float,
             overrides: dict[str, Any], cfg: Any, prices: Any) -> dict[str, float] | None:
    out = {}
    for q, cpu_share in (("p10", 1.0), ("p50", 0.5), ("p90", 0.0)):
        slower = cpu_share * cpu_factor(svc.memory_mb, memory_after) + (1 - cpu_share)
        try:
            before = service_cost(svc, requests[q], duration, cfg, prices)
            after = service_cost(svc, requests[q], duration * slower, cfg, prices, **overrides)
        except (PricingError, PredictionInputError):
            return None
        out[q] = float(round(before - after, 2))
    return dict(zip(("p10", "p50", "p90"), sorted(out.values()), strict=True))


class _Empty:
    values: tuple = ()


def _risk(changes: dict[str, tuple[Any, Any, str]]) -> str:
    risks = []
    if "memoryMib" in changes:
        risks.append("Less memory is also less CPU: CPU-bound work runs longer (the P99 bound kept is the fully "
                     "CPU-bound case), and memory use growing past the headroom fails with out-of-memory.")
    if "provisionedConcurrency" in changes:
        risks.append("Fewer provisioned instances: bursts above the observed P99 peak get cold starts.")
    if "reservedConcurrency" in changes:
        risks.append("Reserved concurrency caps the function: a burst above it is throttled.")
    return " ".join(risks)
