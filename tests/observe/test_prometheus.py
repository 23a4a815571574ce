"""The Prometheus client against the real server: exact counts from backfilled history, live scrapes, and a
missing server or metric is an error / missing, never a zero."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from guardrails_core.settings import load_stack_settings
from knative_metrics import Revision, openmetrics_history

from components.specs.loader import load_declarations
from preflight.observe.model import Window
from preflight.observe.prometheus import PrometheusClient, PrometheusError, observe_knative, observe_targets
from tests.observe.conftest import free_port
from tests.observe.project import canary_project

STABLE = Revision("inference-00001", error_rate=0.001, latency_median_ms=80)
CANARY = Revision("inference-00002", error_rate=0.05, latency_median_ms=120)


def _history(totals: dict[Revision, int], minutes: int = 50) -> tuple[str, datetime]:
    end = int(time.time()) - 1
    return openmetrics_history("ai", "inference", totals, end - minutes * 60, end), datetime.fromtimestamp(end, UTC)


def test_backfilled_counts_are_exact_and_carry_their_query(prometheus_server) -> None:
    history, end = _history({STABLE: 2000, CANARY: 1000})
    server = prometheus_server(history=history)
    window = Window(end - timedelta(hours=1), end, 3600)
    client = PrometheusClient(server.url)
    targets = observe_targets(client, "ai", "inference", window)
    assert set(targets) == {"inference-00001", "inference-00002"}
    stable, canary = targets["inference-00001"], targets["inference-00002"]
    assert (round(stable.requests.value, 6), round(stable.errors.value, 6)) == (2000, 2)
    assert (round(canary.requests.value, 6), round(canary.errors.value, 6)) == (1000, 50)
    assert canary.error_rate.value == pytest.approx(0.05)
    assert 'revision_app_request_count{namespace_name="ai",service_name="inference"}[3600s]' in stable.requests.query
    assert stable.requests.window == window and stable.requests.source == "prometheus"
    # log-normal medians 80 and 120 ms: histogram_quantile interpolates inside the (60, 80] / (100, 150] buckets
    assert 60 < stable.latency_p50_ms.value <= 80 and 100 < canary.latency_p50_ms.value <= 150
    assert canary.latency_p99_ms.value > stable.latency_p99_ms.value
    assert "histogram_quantile(0.95, sum by (revision_name, le)" in stable.latency_p95_ms.query


def test_observe_knative_for_a_declaration(prometheus_server, tmp_path: Path) -> None:
    history, end = _history({STABLE: 3600, CANARY: 400}, minutes=50)
    server = prometheus_server(history=history)
    root, _ = canary_project(tmp_path / "repo")
    settings = load_stack_settings(root, "dev")
    decl = next(d for d in load_declarations(root, "dev", settings) if d.name == "inference")
    window = Window(end - timedelta(hours=1), end, 3600)
    observed = observe_knative(decl, server.url, window, namespace=settings.namespace)
    assert observed.kind == "knative" and observed.declaration == "services/inference.yaml"
    assert round(observed.requests_per_hour.value) == 4000  # 4000 requests in a one-hour window
    assert observed.error_rate.value == pytest.approx((3 + 20) / 4000)
    assert observed.peak_concurrency.value > 0  # Little's law on the latency sum
    assert len(observed.hourly["requests"].values) == 2 and set(observed.targets) == {STABLE.name, CANARY.name}
    # another service has no series at all: every figure is missing with the reason, never 0
    other = decl.__class__(**{**decl.__dict__, "name": "nothing-here"})
    empty = observe_knative(other, server.url, window, namespace="ai")
    assert empty.requests_per_hour.value is None and "no nothing-here metrics" in empty.requests_per_hour.missing_reason
    assert empty.error_rate.missing and empty.latency_p99_ms.missing and empty.targets == {}


def test_live_scrape_of_the_exporter(prometheus_server, knative_exporter) -> None:
    port = knative_exporter("ai", "inference", [Revision("inference-00001", rps=200, error_rate=0.01)])
    server = prometheus_server(scrape=[port])
    server.wait_for('sum(revision_app_request_count{service_name="inference"})',
                    lambda r: bool(r) and float(r[0]["value"][1]) > 1000, timeout_s=60)
    time.sleep(2)  # a few more scrapes so increase() has samples on both sides
    end = datetime.now(UTC)
    targets = observe_targets(PrometheusClient(server.url), "ai", "inference", Window(end - timedelta(minutes=5),
                                                                                     end, 300))
    rev = targets["inference-00001"]
    assert rev.requests.value > 500 and rev.error_rate.value == pytest.approx(0.01, abs=0.003)


def test_unreachable_prometheus_is_a_clear_error() -> None:
    port = free_port()  # nothing listens here
    client = PrometheusClient(f"http://user:secret@127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(PrometheusError, match=rf"cannot reach Prometheus at http://127\.0\.0\.1:{port}: ") as exc:
        client.check()
    assert "secret" not in str(exc.value)
    with pytest.raises(PrometheusError, match="expected http"):
        PrometheusClient("127.0.0.1:9090")


def test_query_budget_is_bounded(prometheus_server) -> None:
    server = prometheus_server()
    client = PrometheusClient(server.url, max_queries=2)
    at = datetime.now(UTC)
    client.query("up", at)
    client.query("vector(1)", at)
    with pytest.raises(PrometheusError, match="more than 2 queries"):
        client.query("vector(2)", at)
    with pytest.raises(PrometheusError, match="query failed for `sum\\(`"):
        PrometheusClient(server.url).query("sum(", at)
