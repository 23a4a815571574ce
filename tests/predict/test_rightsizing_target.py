"""The Knative target rule of `knative_from_observed` on figures given directly (the Prometheus path is tested in
tests/observe/test_rightsize_target.py): when it keeps the target, the reason says why."""

from __future__ import annotations

from typing import Any

from guardrails_predict.pricing.tables import load_kubernetes_prices
from guardrails_predict.rightsizing import ObservedKnativeUsage, knative_from_observed

PRICES = load_kubernetes_prices()


def _document(annotations: dict[str, str], cpu: str = "1", memory: str = "2Gi", cc: int | None = None
              ) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [{"image": "x", "resources": {"requests": {"cpu": cpu, "memory": memory},
                                                                        "limits": {"memory": "3Gi"}}}]}
    if cc is not None:
        pod["containerConcurrency"] = cc
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "svc"},
            "spec": {"template": {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1",
                                                                **annotations}}, "spec": pod}}}


def _usage(**overrides: Any) -> ObservedKnativeUsage:
    # CPU-idle pods: 55..66 in flight each, 100m + 5.5m per request of a 1 vCPU request
    figures: dict[str, Any] = dict(
        cpu_p99_millicores=100 + 5.5 * 66, cpu_p50_millicores=100 + 5.5 * 55, memory_p99_mib=1332,
        memory_p50_mib=1310, memory_max_mib=1340, concurrency_p99=240, hourly_rps=[2600.0] * 24,
        mean_latency_ms=84.0, pod_concurrency_p99=66, pod_concurrency_p50=55, autoscaler_target_per_pod=70,
        queue_depth_p99=None, panic_max=0)
    figures.update(overrides)
    return ObservedKnativeUsage(**figures)


def _rightsize(document: dict[str, Any], usage: ObservedKnativeUsage) -> dict[str, Any]:
    return knative_from_observed(document, "svc.yaml", 1, usage, 0.3, PRICES, 50)


def test_raise_from_the_fitted_line() -> None:
    result = _rightsize(_document({"autoscaling.knative.dev/target": "100"}), _usage())
    # (1000 / 1.3 - 100) / 5.5 = 121.7 in flight -> floor(121.7 / 0.7) = 173
    assert result["changes"]["target"]["recommended"] == "173"
    saving = result["saving_usd_month"]
    assert saving["p50"] > 0 and result["extra_cost_usd_month"] is None
    assert result["edits"]["changes"] == [{"path": ["spec", "template", "metadata", "annotations",
                                                    "autoscaling.knative.dev/target"], "value": "173",
                                           "quote": True}]


def test_no_spread_in_the_load_sizes_cpu_from_zero() -> None:
    usage = _usage(pod_concurrency_p50=65, cpu_p50_millicores=100 + 5.5 * 65)
    result = _rightsize(_document({"autoscaling.knative.dev/target": "100"}), usage)
    # 463m at 66 in flight, linear from zero: 1000 / 1.3 / (463 / 66) = 109.6 -> 156 (lower than the fitted 173)
    assert result["changes"]["target"]["recommended"] == "156"
    assert "from zero" in result["changes"]["target"]["why"]


def test_missing_autoscaler_figures_change_nothing_and_say_so() -> None:
    usage = _usage(pod_concurrency_p99=None, pod_concurrency_p50=None,
                   missing={"per-pod concurrency": "no Knative autoscaler metrics"})
    result = _rightsize(_document({"autoscaling.knative.dev/target": "100"}), usage)
    assert "target" not in result["changes"]
    assert result["not_changed"]["target"] == "missing: per-pod concurrency (no Knative autoscaler metrics)"


def test_container_concurrency_needs_the_queue_depth_and_caps_the_raise() -> None:
    document = _document({"autoscaling.knative.dev/target": "100"}, cc=150)
    missing = _rightsize(document, _usage())
    assert missing["not_changed"]["target"].startswith("missing: queue depth")
    capped = _rightsize(document, _usage(queue_depth_p99=0))
    # the autoscaler aims for min(target, cc): 150 at most, which here saves less than smaller pods
    assert capped["not_changed"]["target"].startswith("target 100 -> 150 saves $")


def test_queueing_without_cpu_saturation_keeps_the_target() -> None:
    usage = _usage(queue_depth_p99=4, autoscaler_target_per_pod=56)  # containerConcurrency 80 x 0.7
    result = _rightsize(_document({"autoscaling.knative.dev/target": "100"}, cc=80), usage)
    assert "target" not in result["changes"]
    assert result["not_changed"]["target"].startswith("requests queue in queue-proxy while CPU is at 46%")


def test_the_autoscaler_disagreeing_with_the_declaration_keeps_the_target() -> None:
    result = _rightsize(_document({"autoscaling.knative.dev/target": "100"}), _usage(autoscaler_target_per_pod=35))
    assert "target" not in result["changes"]
    assert "the autoscaler aimed at 35 per pod, the declaration gives 70" in result["not_changed"]["target"]


def test_rps_metric_is_not_sized_from_concurrency() -> None:
    document = _document({"autoscaling.knative.dev/metric": "rps", "autoscaling.knative.dev/target": "100"})
    result = _rightsize(document, _usage())
    assert result["not_changed"]["target"].startswith("autoscaling.knative.dev/metric is rps")


def test_a_raise_that_saves_less_than_smaller_pods_is_not_proposed() -> None:
    # a tiny memory request and a large CPU one: shrinking the CPU request beats packing more into each pod
    usage = _usage(memory_p99_mib=100, memory_p50_mib=90, memory_max_mib=110, concurrency_p99=30,
                   hourly_rps=[300.0] * 24)
    result = _rightsize(_document({"autoscaling.knative.dev/target": "100"}, memory="128Mi"), usage)
    assert "target" not in result["changes"] and result["changes"]["cpu_request"]["recommended"] == "650m"
    assert "smaller pods at the current target" in result["not_changed"]["target"]


def test_a_saturated_service_is_lowered_from_what_the_autoscaler_aims_for() -> None:
    # target 200 above containerConcurrency 50: the autoscaler aims for 50 x 0.7 = 35 per pod, and the pods there
    # burn 480m of 500m with the autoscaler panicking
    usage = _usage(cpu_p99_millicores=480, cpu_p50_millicores=480, memory_p99_mib=400, memory_p50_mib=400,
                   memory_max_mib=410, pod_concurrency_p99=35, pod_concurrency_p50=35, autoscaler_target_per_pod=35,
                   queue_depth_p99=0, panic_max=1)
    document = _document({"autoscaling.knative.dev/target": "200"}, cpu="500m", memory="1Gi", cc=50)
    result = _rightsize(document, usage)
    # 500 / 1.3 / (480 / 35) = 28.0 in flight -> floor(28.0 / 0.7) = 40, below the 50 the autoscaler aims for
    assert result["changes"]["target"]["current"] == "200" and result["changes"]["target"]["recommended"] == "40"
    assert result["saving_usd_month"] is None and result["extra_cost_usd_month"]["p50"] > 0
    assert set(result["changes"]) == {"target"}  # no request is lowered for a saturated service


def test_container_concurrency_is_never_edited_but_says_whether_it_binds() -> None:
    document = _document({"autoscaling.knative.dev/target": "100"}, cc=80)
    # queueing at the limit with CPU at 46 % of the request: the limit holds the pods back
    binding = _rightsize(document, _usage(queue_depth_p99=4, autoscaler_target_per_pod=56))
    note = binding["not_changed"]["containerConcurrency"]
    assert note.startswith("binding: requests queue in queue-proxy (depth P99 4) at containerConcurrency 80 while "
                           "the busiest pod's P99 CPU is 46% of its request")
    assert "containerConcurrency" not in binding["changes"]
    assert all("containerConcurrency" not in str(e["path"]) for e in (binding["edits"] or {}).get("changes", []))
    # nothing queues: not binding, with how far the per-pod P99 is from it
    free = _rightsize(document, _usage(queue_depth_p99=0, autoscaler_target_per_pod=56))
    assert free["not_changed"]["containerConcurrency"] == ("not binding: nothing queues in queue-proxy at "
                                                           "containerConcurrency 80; per-pod P99 in flight 66")
    # CPU-saturated pods queueing: CPU is the bottleneck, not the limit
    hot = _rightsize(document, _usage(queue_depth_p99=4, autoscaler_target_per_pod=56, cpu_p99_millicores=950))
    assert hot["not_changed"]["containerConcurrency"].startswith("requests queue at containerConcurrency 80 with "
                                                                 "CPU at 95% of the request: CPU is the bottleneck")
    # no queue depth measured: missing, never a guess
    unknown = _rightsize(document, _usage(missing={"queue depth": "no revision_queue_depth series"}))
    assert unknown["not_changed"]["containerConcurrency"] == "missing: queue depth (no revision_queue_depth series)"
    # no hard limit declared: nothing to say
    assert "containerConcurrency" not in _rightsize(_document({}), _usage())["not_changed"]
