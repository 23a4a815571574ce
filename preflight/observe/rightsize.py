"""Knative rightsizing from what was observed, as a `preflight.gitops` proposal (branch + commit + PR body).

The rules live with the other rightsizing rules (`guardrails_predict.rightsizing.knative_from_observed`: never
below the observed P99 + `guardrails:gitops.headroom`); this module turns an `ObservedService` into their inputs
and their answer into a `Proposal` whose evidence is every figure with its PromQL and window.
"""

from __future__ import annotations

from typing import Any

from guardrails_predict.config import prediction_settings
from guardrails_predict.costing import kubernetes_prices
from guardrails_predict.rightsizing import ObservedKnativeUsage, knative_from_observed

from preflight.gitops import Change, FileEdits, Proposal
from preflight.gitops.recommendations import recommendation_edits
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
    usage = ObservedKnativeUsage(
        cpu_p99_millicores=_value(observed.cpu_p99_millicores), memory_p99_mib=_value(observed.memory_p99_mib),
        memory_max_mib=_value(observed.memory_max_mib), concurrency_p99=_value(observed.concurrency_p99),
        hourly_rps=[v / 3600 for v in (observed.hourly.get("requests").values if "requests" in observed.hourly
                                       else ()) if v is not None],
        mean_latency_ms=_value(observed.duration_mean_ms))
    document = decl.origin.data if decl.origin is not None else decl.document  # the file as written, not overlaid
    headroom = settings.gitops.headroom
    result = knative_from_observed(document, decl.file, decl.line, usage, headroom,
                                   kubernetes_prices(prediction_settings(settings)), settings.limits.max_scale)
    if not result["edits"]:
        return result, None
    changes = [Change(knob, str(c["current"]), str(c["recommended"])) for knob, c in result["changes"].items()]
    summary = ", ".join(f"{c.field} {c.before} -> {c.after}" for c in changes)
    figures = [("busiest pod CPU P99", observed.cpu_p99_millicores),
               ("memory working set P99", observed.memory_p99_mib), ("memory working set max", observed.memory_max_mib),
               ("requests in flight P99", observed.concurrency_p99), ("mean latency", observed.duration_mean_ms),
               ("requests", observed.requests_per_hour)]
    evidence = [line for name, m in figures if (line := _evidence(name, m))]
    evidence += [f"{knob}: {c['why']}" for knob, c in result["changes"].items()]
    evidence.append(f"floors (observed P99 x (1 + headroom {headroom:g})): "
                    + ", ".join(f"{k} {v}" for k, v in result["floors"].items()))
    saving = result["saving_usd_month"]
    overlays = f" The stack overlays {', '.join(decl.overlays)} also touch this service; check they do not " \
               "override these fields." if decl.overlays else ""
    proposal = Proposal(
        kind="rightsize", service=decl.name, title=f"rightsize {decl.name}: {summary}",
        why=f"Observed usage over {observed.window.label()} differs from what {decl.file} requests; every value "
            f"stays at or above the observed P99 plus {headroom:.0%} headroom.",
        evidence=evidence,
        edits=[FileEdits(decl.file, decl.line, tuple(recommendation_edits(result["edits"])))],
        changes=changes, saving_usd_month=saving,
        risk="Requests below a future peak throttle CPU (latency) or, for memory limits, OOM-kill pods; the floors "
             "are the observed P99 (max for the memory limit) plus headroom, so only traffic beyond what the "
             "window saw is at risk. Revert the commit to undo." + overlays)
    return result, proposal
