"""Guardrails from predictions, as plain functions the CrossGuard stack controls and preflight both call.

Each takes `resources` (`[{type, name, urn, props}]` or `PlannedResource`s; props may hold unknowns) and the
`StackSettings` (or its `model_dump()` dict, validated again) and returns `[(urn_or_None, message)]`. When
predictions cannot be made (missing/corrupt model, undeclared requests, bad budgets) the result is one violation
saying why: fail closed.

Previous state (for change risk and anomalies): pass `previous`, or set `GUARDRAILS_PREVIOUS_STATE` to the
JSON of `pulumi stack export` (the pack has no other way to see it). Observed provisioned-concurrency utilisation:
`GUARDRAILS_OBSERVED_PC` names the file preflight wrote (observed.py).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guardrails_predict.model_store import ModelError
from guardrails_predict.observed import observed_pc_from_env
from guardrails_predict.plan import PlanPrediction, PredictionError, predict_services
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.services import Service

Violation = tuple[str | None, str]
PREVIOUS_STATE_ENV = "GUARDRAILS_PREVIOUS_STATE"


def load_previous_state(path: Path) -> list[dict[str, Any]]:
    """Resources of a `pulumi stack export` file as `{type, name, urn, props, parent}` dicts."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PredictionInputError(f"{path} ({PREVIOUS_STATE_ENV}): cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise PredictionInputError(f"{path} ({PREVIOUS_STATE_ENV}): not valid JSON ({exc})") from exc
    resources = (doc.get("deployment") or {}).get("resources") if isinstance(doc, dict) else None
    if not isinstance(resources, list):
        raise PredictionInputError(f"{path}: expected `pulumi stack export` JSON with deployment.resources")
    out = []
    for res in resources:
        if not isinstance(res, dict) or "urn" not in res or "type" not in res:
            continue
        out.append({"type": res["type"], "name": str(res["urn"]).rsplit("::", 1)[-1], "urn": res["urn"],
                    "props": res.get("inputs") or {}, "parent": res.get("parent")})
    return out


def _previous(previous: Sequence[Any] | None) -> Sequence[Any] | None:
    if previous is not None:
        return previous
    path = os.environ.get(PREVIOUS_STATE_ENV)
    return load_previous_state(Path(path)) if path else None


def _predict(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None,
             project_dir: Path | None) -> PlanPrediction | list[Violation]:
    try:
        return predict_services(resources, settings, _previous(previous), project_dir,
                                with_recommendations=False, observed_pc=observed_pc_from_env())
    except (ModelError, PredictionInputError, PredictionError) as exc:
        return [(None, f"cost/risk predictions unavailable, so budgets and risk cannot be checked: {exc}")]


PlanRule = Callable[[PlanPrediction], list[Violation]]
StackRule = Callable[..., list[Violation]]


def on_prediction(rule: PlanRule) -> StackRule:
    """A stack rule judged on the shared prediction pass: `rule(plan)` runs only when predictions are available;
    otherwise the rule reports why, so budgets and risk are never silently unchecked (fail closed)."""

    @functools.wraps(rule)
    def checked(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None = None,
                project_dir: Path | None = None) -> list[Violation]:
        plan = _predict(resources, settings, previous, project_dir)
        return plan if isinstance(plan, list) else rule(plan)

    return checked


def _money(value: float, currency: str) -> str:
    """A monthly amount in the stack's currency (budgets and the converted predictions are in it)."""
    return f"${value:,.2f}/month" if currency == "USD" else f"{value:,.2f} {currency}/month"


@on_prediction
def predicted_cost_within_budget(plan: PlanPrediction) -> list[Violation]:
    """Stack total and each service at the configured quantile vs `stackMonthlyUsd` / `serviceMonthlyUsd` (both
    in the stack's currency, as the converted predictions are)."""
    cfg, q = plan.settings, plan.settings.quantile
    code = cfg.exchange.code

    def money(value: float) -> str:
        return _money(value, code)

    out: list[Violation] = []
    total = sum(r["cost"][q] for r in plan.results.values())
    if cfg.stack_monthly_usd is not None and total > cfg.stack_monthly_usd:
        top = sorted(plan.results.items(), key=lambda kv: -kv[1]["cost"][q])[:3]
        out.append((None, f"predicted {q.upper()} monthly cost of the {cfg.environment} stack {money(total)} exceeds "
                          f"guardrails:budgets.stackMonthlyUsd {money(cfg.stack_monthly_usd)}; largest: "
                          + ", ".join(f"{n} {money(r['cost'][q])}" for n, r in top)))
    if cfg.service_monthly_usd is not None:
        for name, result in sorted(plan.results.items()):
            cost = result["cost"][q]
            if cost > cfg.service_monthly_usd:
                where = f" ({result['file']}:{result['line']})" if result["file"] else ""
                out.append((result["urn"], f"{name}{where}: predicted {q.upper()} "
                                           f"{money(cost)} exceeds guardrails:budgets.serviceMonthlyUsd "
                                           f"{money(cfg.service_monthly_usd)} (workload source: "
                                           f"{result['workload']['source']})"))
    return out


@on_prediction
def budget_cap_per_cost_center(plan: PlanPrediction) -> list[Violation]:
    """Sum per cost-center / project-id vs `costCenters` / `projects` budgets."""
    cfg, q = plan.settings, plan.settings.quantile
    code = cfg.exchange.code

    def money(value: float) -> str:
        return _money(value, code)

    out: list[Violation] = []
    for label, field, key, budgets in (("cost-center", "cost_center", "costCenters", cfg.cost_centers),
                                       ("project-id", "project_id", "projects", cfg.projects)):
        if not budgets:
            continue
        totals: dict[str, float] = {}
        for name, result in sorted(plan.results.items()):
            owner = result[field]
            if not owner:
                out.append((result["urn"], f"{name}: no {label} label/tag, so its predicted cost cannot be charged "
                                           f"to a guardrails:budgets.{key} budget"))
                continue
            totals[owner] = totals.get(owner, 0.0) + result["cost"][q]
        for owner, total in sorted(totals.items()):
            if owner in budgets and total > budgets[owner]:
                out.append((None, f"{label} {owner}: predicted {q.upper()} {money(total)} exceeds "
                                  f"guardrails:budgets.{key}.{owner} {money(budgets[owner])}"))
    return out


@on_prediction
def ml_risk_threshold(plan: PlanPrediction) -> list[Violation]:
    """Change risk vs `risk.changeRiskThreshold`, capacity risk vs `risk.capacityRiskThreshold`."""
    cfg = plan.settings
    out: list[Violation] = []
    for name, result in sorted(plan.results.items()):
        change, capacity = result["change_risk"], result["capacity_risk"]
        # A SYNTHETIC-only model is advisory (shown in the report, never blocking) unless the stack opts in.
        if (cfg.change_risk_threshold is not None and change["enforced"]
                and change["probability"] > cfg.change_risk_threshold):
            drivers = ", ".join(k for k in change["contributions"] if k != "bias")
            note = " (model trained on SYNTHETIC data)" if change["synthetic_training"] else ""
            out.append((result["urn"], f"{name}: change-risk {change['probability']:.2f} exceeds "
                                       f"guardrails:risk.changeRiskThreshold {cfg.change_risk_threshold:.2f} in "
                                       f"{cfg.environment}{note}; main drivers: {drivers}"))
        if cfg.capacity_risk_threshold is not None and capacity["probability"] > cfg.capacity_risk_threshold:
            basis = ("" if capacity["source"] == "model"
                     else " [capacity-only baseline: neither requests nor latency declared]")
            out.append((result["urn"], f"{name}: P(predicted burst exceeds declared capacity{basis} "
                                       f"{capacity['declared_capacity']:g}) = {capacity['probability']:.2f} exceeds "
                                       f"guardrails:risk.capacityRiskThreshold {cfg.capacity_risk_threshold:.2f}"))
    return out


def _knobs(svc: Service) -> dict[str, float]:
    """Requests/limits a change could multiply (0 = not set)."""
    if svc.kind == "lambda":
        return {"memorySize": svc.memory_mb, "reservedConcurrentExecutions": float(svc.reserved_concurrency or 0),
                "provisioned concurrency": float(svc.provisioned_concurrency)}
    return {"cpu request": float(svc.cpu_request_vcpu), "memory request": float(svc.memory_request_gib),
            "max-scale": float(svc.max_scale), "min-scale": float(svc.min_scale)}


def cost_anomaly(resources: Sequence[Any], settings: Any, previous: Sequence[Any] | None = None,
                 project_dir: Path | None = None) -> list[Violation]:
    """A change multiplying predicted P50 cost or a request/limit by more than `anomalyFactor` x the declared
    `finops.<domain>/expected-traffic-change` (1 when absent) is flagged. Needs the previous state."""
    before_resources = _previous(previous)
    if before_resources is None:
        return []  # nothing to compare with: a first deployment cannot be an anomaly against itself
    plan = _predict(resources, settings, before_resources, project_dir)
    if isinstance(plan, list):
        return plan
    old = _predict(before_resources, settings, None, project_dir)
    if isinstance(old, list):
        return [(None, f"previous state: {msg}") for _, msg in old]
    cfg = plan.settings
    old_services = {s.name: s for s in old.services}
    out: list[Violation] = []
    for svc in plan.services:
        if svc.name not in old_services or svc.name not in plan.results or svc.name not in old.results:
            continue
        key = f"finops.{cfg.annotation_domain}/expected-traffic-change"
        raw = svc.annotations.get(key, "1")
        try:
            declared = float(raw)
        except ValueError:
            declared = -1.0
        if not declared > 0:
            out.append((svc.primary.urn, f"{svc.name}: annotation {key} {raw!r} must be a number > 0"))
            continue
        allowed = cfg.anomaly_factor * max(1.0, declared)
        ratios = {"predicted P50 cost": (old.results[svc.name]["cost_usd_month"]["p50"],
                                         plan.results[svc.name]["cost_usd_month"]["p50"])}
        new_knobs, old_knobs = _knobs(svc), _knobs(old_services[svc.name])
        ratios.update({k: (old_knobs[k], new_knobs[k]) for k in new_knobs})
        for what, (before, after) in ratios.items():
            if before > 0 and after / before > allowed:
                out.append((svc.primary.urn, f"{svc.name}: {what} goes from {before:g} to {after:g} "
                                             f"(x{after / before:.1f}), above the allowed x{allowed:g} "
                                             f"(guardrails:budgets.anomalyFactor {cfg.anomaly_factor:g} x declared "
                                             f"{key} {declared:g}); declare the traffic change or revert"))
    return out


GUARDRAILS = {
    "fin.predicted-cost-within-budget": predicted_cost_within_budget,
    "fin.budget-cap-per-cost-center": budget_cap_per_cost_center,
    "risk.ml-threshold": ml_risk_threshold,
    "fin.cost-anomaly": cost_anomaly,
}
