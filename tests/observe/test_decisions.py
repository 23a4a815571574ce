"""Idle detection, Lambda rightsizing and model monitoring on observed series (no backend needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from guardrails_core.settings import settings_from_config
from guardrails_predict.config import prediction_settings
from guardrails_predict.costing import kubernetes_prices
from guardrails_predict.resources import to_views
from guardrails_predict.services import group_services

from components.specs.annotations import FINOPS
from preflight.gitops import REMOVE, apply_edits
from preflight.observe.history import usage_history
from preflight.observe.idle import find_idle
from preflight.observe.model import Measurement, ObservedService, Series, Window
from preflight.observe.monitoring import compare
from preflight.observe.rightsize import rightsize_lambda
from tests.predict.helpers import knative, lambda_fn, with_inputs

END = datetime(2026, 11, 29, tzinfo=UTC)
WINDOW = Window(END - timedelta(days=14), END, 3600)
HOURS = 14 * 24


def settings(**observe):
    return settings_from_config({"guardrails:environment": "dev", "guardrails:awsRegion": "us-east-1",
                                 "guardrails:observe": observe}, "test")


def seen(name: str, kind: str = "lambda", requests=lambda h: 100.0, duration=lambda h: 200.0,
         **hourly) -> ObservedService:
    def series(f, unit: str) -> Series:
        return Series(tuple(f(h) for h in range(HOURS)), unit, "cloudwatch", f"q-{unit}", WINDOW)

    req = series(requests, "count/hour")
    known = [v for v in req.values if v is not None]
    dur = series(duration, "ms")

    def m(value, unit="x", reason="missing"):
        return Measurement(value, unit, "cloudwatch", "q", WINDOW, None if value is not None else reason)

    weighted = [(d, r) for d, r in zip(dur.values, req.values, strict=True) if d is not None and r]
    mean = sum(d * r for d, r in weighted) / sum(r for _, r in weighted) if weighted else None
    return ObservedService(
        name=name, kind=kind, declaration=f"services/{name}.yaml", window=WINDOW,  # type: ignore[arg-type]
        requests_per_hour=m(sum(known) / HOURS if len(known) == HOURS else None), error_rate=m(0.0),
        latency_p50_ms=m(None), latency_p99_ms=m(None, reason="moto: no extended statistics"),
        peak_concurrency=m(4.0), duration_mean_ms=m(mean), throttles=m(hourly.pop("throttles", 0.0)),
        hourly={"requests": req, "duration_ms": dur, "duration_max_ms": series(lambda h: 400.0, "ms"),
                **{k: series(f, k) for k, f in hourly.items()}})


def context(tmp_path: Path, resources, **observe):
    svc = group_services(to_views(resources))[0]
    stack = settings(**observe)
    cfg = prediction_settings(stack)
    return svc, stack, cfg, kubernetes_prices(cfg)


def test_idle_lambda_without_pc_is_marked_for_deletion_with_a_valid_expiry(tmp_path: Path) -> None:
    svc, stack, cfg, prices = context(tmp_path, lambda_fn(tmp_path))
    findings, undecided = find_idle(svc, seen("embeddings", requests=lambda h: 0.0, duration=lambda h: None),
                                    stack, cfg, prices, date(2026, 11, 29))
    assert undecided is None and [f.rule for f in findings] == ["no-traffic"]
    edit = findings[0].proposal.edits[0].edits[0]
    assert edit.path == ("metadata", "annotations", "finops.apexlogic.com/delete-after")
    assert edit.value == "2026-12-13" and FINOPS["delete-after"](edit.value) is None  # the loader accepts it
    text = (tmp_path / "services/embeddings.yaml").read_text()
    assert 'finops.apexlogic.com/delete-after: "2026-12-13"' in apply_edits(text, "services/embeddings.yaml", 1,
                                                                            [edit])


def test_near_zero_traffic_counts_as_idle_and_more_does_not(tmp_path: Path) -> None:
    svc, stack, cfg, prices = context(tmp_path, lambda_fn(tmp_path), idleRequestsPerDay=5)
    quiet = seen("embeddings", requests=lambda h: 1.0 if h % 24 == 0 else 0.0)  # 1 a day
    assert [f.rule for f in find_idle(svc, quiet, stack, cfg, prices, date(2026, 11, 29))[0]] == ["no-traffic"]
    busy = seen("embeddings", requests=lambda h: 1.0)  # 24 a day
    assert find_idle(svc, busy, stack, cfg, prices, date(2026, 11, 29)) == ([], None)


def test_a_missing_day_is_unknown_not_idle(tmp_path: Path) -> None:
    svc, stack, cfg, prices = context(tmp_path, lambda_fn(tmp_path))
    gap = seen("embeddings", requests=lambda h: None if h == 100 else 0.0)
    findings, undecided = find_idle(svc, gap, stack, cfg, prices, date(2026, 11, 29))
    assert findings == [] and "missing" in undecided


def test_protected_services_get_findings_but_no_proposal(tmp_path: Path) -> None:
    svc, stack, cfg, prices = context(tmp_path, lambda_fn(tmp_path), protected=["embed*"])
    findings, _ = find_idle(svc, seen("embeddings", requests=lambda h: 0.0), stack, cfg, prices, date(2026, 11, 29))
    assert findings[0].protected and findings[0].proposal is None and "protected" in findings[0].message


def test_idle_knative_with_min_scale_is_scaled_to_zero_in_its_own_spelling(tmp_path: Path) -> None:
    svc, stack, cfg, prices = context(tmp_path, [knative(tmp_path, min_scale=2)])
    findings, _ = find_idle(svc, seen("inference", "knative", requests=lambda h: 0.0), stack, cfg, prices,
                            date(2026, 11, 29))
    assert [f.rule for f in findings] == ["min-scale-on-idle"] and findings[0].saving_usd_month > 0
    edit = findings[0].proposal.edits[0].edits[0]
    assert edit.path[-1] == "autoscaling.knative.dev/minScale" and edit.value == "0"  # the file's spelling


def test_knative_revision_left_at_zero_percent_is_removed(tmp_path: Path) -> None:
    ksvc = knative(tmp_path)
    svc, stack, cfg, prices = context(tmp_path, [ksvc])
    svc.declaration = {"spec": {"traffic": [{"latestRevision": True, "percent": 100},
                                            {"revisionName": "inference-00003", "percent": 0, "tag": "old"}]}}
    findings, _ = find_idle(svc, seen("inference", "knative"), stack, cfg, prices, date(2026, 11, 29))
    assert [f.rule for f in findings] == ["canary-at-zero"]
    assert findings[0].proposal.edits[0].edits[0].path == ("spec", "traffic", 1)
    assert findings[0].proposal.edits[0].edits[0].value is REMOVE


def test_provisioned_concurrency_is_cut_to_observed_p99_plus_headroom(tmp_path: Path) -> None:
    from tests.predict.helpers import PlannedResource

    resources = lambda_fn(tmp_path)
    parent = resources[1].parent
    pc = PlannedResource(f"{parent}$aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig::pc",
                         "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "pc", True, parent,
                         None, {"provisionedConcurrentExecutions": 10, "qualifier": "live"}, None, None)
    svc, stack, cfg, prices = context(tmp_path, [*resources, pc])
    assert svc.provisioned_concurrency == 10
    proposal, _ = rightsize_lambda(svc, seen("embeddings", pc_utilisation=lambda h: 0.2 if h % 24 else 0.0,
                                             concurrency_max=lambda h: 4.0), stack, cfg, prices)
    # 10 x 0.2 = 2 instances in use at P99, x 1.3 (guardrails:gitops.headroom) -> 3
    assert [(c.field, c.before, c.after) for c in proposal.changes] == [("spec.provisionedConcurrency", "10", "3")]
    s = proposal.saving_usd_month
    assert s["p10"] <= s["p50"] <= s["p90"] and s["p50"] == pytest.approx(7 * 1 * 730 * 3600 * 0.0000033334, 0.01)


def test_throttled_at_the_reservation_raises_it_and_memory_keeps_the_p99_within_the_timeout(tmp_path: Path) -> None:
    resources = lambda_fn(tmp_path, reserved=4)
    resources[1] = with_inputs(resources[1], timeout=3)
    svc, stack, cfg, prices = context(tmp_path, resources)
    observed = seen("embeddings", concurrency_max=lambda h: 4.0, memory_used_max_mb=lambda h: 100.0, throttles=12.0)
    proposal, notes = rightsize_lambda(svc, observed, stack, cfg, prices)
    changes = {c.field: (c.before, c.after) for c in proposal.changes}
    assert changes["spec.reservedConcurrency"] == ("4", "6")
    # 100 MB used x 1.3 -> 192 MB would make the fully CPU-bound P99 (400 ms hourly Maximum, p99 missing) 2.1 s,
    # x 1.3 = 2.8 s within the 3 s timeout: 192 MB is the smallest that fits
    assert changes["spec.memoryMib"] == ("1024", "192")
    assert "Maximum" in proposal.why or any("Maximum" in e for e in proposal.evidence)


def test_no_memory_figure_never_lowers_memory(tmp_path: Path) -> None:
    svc, stack, cfg, prices = context(tmp_path, lambda_fn(tmp_path))
    proposal, notes = rightsize_lambda(svc, seen("embeddings", concurrency_max=lambda h: 4.0), stack, cfg, prices)
    assert proposal is None and any("Lambda Insights" in n for n in notes)


def test_monitoring_coverage_bias_and_advice(tmp_path: Path) -> None:
    observed = seen("embeddings", requests=lambda h: 2_000_000 / 730 * 3)  # three times the prediction
    history, _ = usage_history(observed)
    prediction = {"workload": {"source": "declared",
                               "requests_per_month": {"p10": 1.6e6, "p50": 2e6, "p90": 2.4e6},
                               "mean_duration_ms": {"p10": 150, "p50": 200, "p90": 250}},
                  "cost_usd_month": {"p10": 1, "p50": 2, "p90": 3}}
    result = compare("embeddings", prediction, history["samples"], lambda r, d: None, 0.5, "apexlogic.com",
                     "out/observe/dev/usage-history/embeddings.yaml", "out/preflight-dev.json")
    assert result["status"] == "drifted" and result["drifted"] == ["requests_per_month"]
    assert result["bands"]["requests_per_month"]["coverage"] == 0.0
    assert result["bands"]["requests_per_month"]["bias"] == pytest.approx(3.0)
    assert result["bands"]["mean_duration_ms"] == {**result["bands"]["mean_duration_ms"], "coverage": 1.0,
                                                   "drifted": False}
    assert "declared hints" in result["advice"] and "usage-history: out/observe" in result["advice"]
