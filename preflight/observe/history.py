"""An observed service as the usage history the predictions accept (`guardrails_predict.usage_history`, v1).

One sample per whole 24-hour block of the window (dated by the block's first hour, UTC), oldest first:

    requests               sum of the block's hourly request counts
    meanDurationMs         request-weighted mean of the hourly mean durations; a block without requests has no
                           duration of its own and gets the window's mean (said in `observed.notes`)
    peakRequestsPerMinute  the busiest minute, from what is published per minute: peak concurrency x 60 s / mean
                           duration (Little's law on the hour's ConcurrentExecutions Maximum), and never less than
                           the busiest hour / 60 (a lower bound, used alone where concurrency is not known)
    maxMemoryUsedMb        Lambda Insights `used_memory_max`, when the extension publishes it

The `observed:` block (ignored by the loader) says where every field came from: the query and the window; and,
under `declared`, the declaration's memory and trigger (what `preflight train workload --history` needs).
A service whose requests are missing gets no history (and the reason), never a history of zeros.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from preflight.observe.model import ObservedService

SCHEMA = "usage-history/v1"
MIN_DAYS = 7  # guardrails_predict.usage_history.MIN_DAYS: fewer samples would be refused by the loader


def _weighted_mean(values: list[tuple[float, float]]) -> float | None:
    total = sum(w for _, w in values)
    return sum(v * w for v, w in values) / total if total > 0 else None


def daily_samples(observed: ObservedService) -> tuple[list[dict[str, Any]], list[str]]:
    """(samples, notes); raises ValueError with the reason when requests are missing."""
    requests = observed.hourly.get("requests")
    if requests is None or any(v is None for v in requests.values):
        raise ValueError(observed.requests_per_hour.missing_reason or "requests missing for some hours")
    durations = observed.hourly.get("duration_ms")
    duration_values = durations.values if durations else (None,) * len(requests.values)
    concurrency = observed.hourly.get("concurrency_max")
    memory = observed.hourly.get("memory_used_max_mb")
    mean_all = observed.duration_mean_ms.value if observed.duration_mean_ms else None
    if mean_all is None:
        mean_all = observed.latency_p50_ms.value
    if mean_all is None:
        raise ValueError("no duration observed in the window (no invocations): the history needs meanDurationMs")
    notes: list[str] = []
    samples = []
    start = observed.window.start
    for day in range(len(requests.values) // 24):
        hours = range(day * 24, (day + 1) * 24)
        count = sum(float(requests.values[h]) for h in hours)  # type: ignore[arg-type]
        weighted = [(float(duration_values[h]), float(requests.values[h])) for h in hours  # type: ignore[arg-type]
                    if duration_values[h] is not None and requests.values[h]]
        mean = _weighted_mean(weighted)
        date = (start + timedelta(days=day)).date()
        if mean is None:
            mean = mean_all
            notes.append(f"{date.isoformat()}: no requests, meanDurationMs is the window's mean")
        peak = max(float(requests.values[h]) for h in hours) / 60  # type: ignore[arg-type]
        if concurrency is not None:
            for h in hours:
                c, d = concurrency.values[h], duration_values[h]
                if c is not None and d:
                    peak = max(peak, float(c) * 60_000 / float(d))
        sample: dict[str, Any] = {"date": date.isoformat(), "requests": round(count, 3),
                                  "meanDurationMs": round(mean, 3), "peakRequestsPerMinute": round(peak, 3)}
        used = [float(memory.values[h]) for h in hours if memory.values[h] is not None] if memory else []
        if used:
            sample["maxMemoryUsedMb"] = round(max(used), 3)
        samples.append(sample)
    return samples, notes


def usage_history(observed: ObservedService, region: str | None = None, declared: dict[str, Any] | None = None
                  ) -> tuple[dict[str, Any] | None, str | None]:
    """(the usage-history document, None) or (None, why there is none). `declared`: what the declaration says
    that training on the history needs (`memoryMb`, `trigger`; `preflight train workload --history`)."""
    try:
        samples, notes = daily_samples(observed)
    except ValueError as exc:
        return None, str(exc)
    if len(samples) < MIN_DAYS:
        return None, f"{len(samples)} whole day(s) observed; the predictions need at least {MIN_DAYS}"
    hourly = observed.hourly
    fields: dict[str, Any] = {
        "requests": {"from": "sum of 24 hourly values", "query": hourly["requests"].query},
        "meanDurationMs": {"from": "request-weighted mean of hourly means",
                           "query": hourly["duration_ms"].query if "duration_ms" in hourly else None},
        "peakRequestsPerMinute": {
            "from": "max(busiest hour / 60, peak concurrency x 60000 / mean duration ms)",
            "query": [hourly[k].query for k in ("requests", "concurrency_max", "duration_ms") if k in hourly]},
    }
    if any("maxMemoryUsedMb" in s for s in samples):
        fields["maxMemoryUsedMb"] = {"from": "max of hourly maxima", "query": hourly["memory_used_max_mb"].query}
    provenance: dict[str, Any] = {
        "service": observed.name, "kind": observed.kind, "declaration": observed.declaration,
        "source": observed.requests_per_hour.source,
        "window": {"start": observed.window.start.isoformat(), "end": observed.window.end.isoformat(),
                   "stepSeconds": observed.window.step_seconds},
        "fields": fields,
    }
    if region:
        provenance["region"] = region
    if declared:
        provenance["declared"] = declared
    if notes:
        provenance["notes"] = notes
    return {"schema": SCHEMA, "observed": provenance, "samples": samples}, None
