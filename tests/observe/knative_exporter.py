"""A stand-in for Knative's queue-proxy (and autoscaler): serves `revision_app_request_*`, `revision_queue_depth` and
`autoscaler_*` gauges for simulated revisions on loopback.

Run: `python knative_exporter.py '<json>'` with {"namespace", "service", "revisions": [{name, rps, error_rate,
latency_median_ms, latency_sigma}]}. Prints the port it bound (127.0.0.1, a free port) and serves until killed or
until its stdin closes. Counts grow with time: `floor(rps * seconds since start)` requests per revision.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.exposition import MetricsHandler
from prometheus_client.registry import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from knative_metrics import AUTOSCALER_GAUGES, Revision, samples  # noqa: E402

LABELS = ["namespace_name", "service_name", "configuration_name", "revision_name", "pod_name", "container_name",
          "response_code", "response_code_class"]


class QueueProxyCollector:
    def __init__(self, namespace: str, service: str, revisions: list[Revision]) -> None:
        self.namespace, self.service, self.revisions = namespace, service, revisions
        self.started = time.monotonic()

    def collect(self):
        elapsed = time.monotonic() - self.started
        # Knative's exporter calls it a counter without `_total`; `unknown` keeps the exact name it exposes.
        count = Metric("revision_app_request_count", "The number of requests that are routed to queue-proxy",
                       "unknown")
        latencies = HistogramMetricFamily("revision_app_request_latencies",
                                          "The response latencies of the requests (ms)", labels=LABELS)
        for revision in self.revisions:
            served = int(revision.rps * elapsed)
            rows = samples(self.namespace, self.service, revision, served, elapsed)
            by_code: dict[str, dict] = {}
            for name, labels, value in rows:
                if name == "revision_app_request_count":
                    count.add_sample(name, labels, value)
                    by_code[labels["response_code"]] = {"labels": labels, "buckets": [], "sum": 0.0}
                elif name == "revision_app_request_latencies_bucket":
                    entry = by_code[labels["response_code"]]
                    entry["buckets"].append((labels["le"], value))
                elif name == "revision_app_request_latencies_sum":
                    by_code[labels["response_code"]]["sum"] = value
            for entry in by_code.values():
                labels = entry["labels"]
                latencies.add_metric([labels[k] for k in LABELS], entry["buckets"], entry["sum"])
        extra = {"model_quality": Metric("model_quality", "A model-quality score per revision", "gauge"),
                 "container_cpu_usage_seconds_total": Metric("container_cpu_usage_seconds_total",
                                                             "cAdvisor: CPU seconds used", "unknown"),
                 "container_memory_working_set_bytes": Metric("container_memory_working_set_bytes",
                                                              "cAdvisor: working set", "gauge"),
                 # Knative's autoscaler exports these from its own pod; one stand-in serves both here
                 **{name: Metric(name, "Knative autoscaler / queue-proxy gauge", "gauge")
                    for name in AUTOSCALER_GAUGES}}
        for revision in self.revisions:
            for name, labels, value in samples(self.namespace, self.service, revision, 0, elapsed):
                if name in extra:
                    extra[name].add_sample(name, labels, value)
        yield count
        yield latencies
        yield from (metric for metric in extra.values() if metric.samples)


def main() -> None:
    config = json.loads(sys.argv[1])
    revisions = [Revision(**r) for r in config["revisions"]]
    registry = CollectorRegistry()
    registry.register(QueueProxyCollector(config["namespace"], config["service"], revisions))
    server = ThreadingHTTPServer(("127.0.0.1", 0), MetricsHandler.factory(registry))
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test holds our stdin; when it goes away, so do we
    server.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
