"""A service's own usage history (annotation `finops.<domain>/usage-history: path/to/file`).

Format (YAML or JSON, path relative to the project root), one sample per day, at least 7 days:

    schema: usage-history/v1
    samples:
      - date: "2026-08-01"            # ISO date
        requests: 65000                # invocations that day
        meanDurationMs: 150            # mean duration (Lambda) / mean latency (Knative), ms
        peakRequestsPerMinute: 400     # busiest minute that day
        maxMemoryUsedMb: 310           # optional: Lambda "Max Memory Used" / container working set
        cpuP95Millicores: 420          # optional: container CPU p95 (Knative rightsizing)

Monthly requests P10/P50/P90 are the day quantiles x 730/24; duration and burstiness
(peak minute / mean minute) quantiles come from the same days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from guardrails_core.safe_input import UnsafeInputError, load_yaml_bounded, read_text_bounded, resolve_inside

from guardrails_predict.resources import PredictionInputError

MIN_DAYS = 7
REQUIRED = ("date", "requests", "meanDurationMs", "peakRequestsPerMinute")
OPTIONAL = ("maxMemoryUsedMb", "cpuP95Millicores")


@dataclass(frozen=True)
class UsageHistory:
    path: str
    days: int
    requests_per_month: tuple[float, float, float]
    mean_duration_ms: tuple[float, float, float]
    burstiness: tuple[float, float, float]
    max_memory_used_mb: float | None
    cpu_p95_millicores: float | None


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    q = np.quantile(np.array(values, dtype=float), [0.1, 0.5, 0.9])
    return float(q[0]), float(q[1]), float(q[2])


def load_usage_history(project_dir: Path | None, relative: str, annotation: str) -> UsageHistory:
    where = f"{relative} (from annotation {annotation})"
    if project_dir is None:
        raise PredictionInputError(f"{where}: reading it needs the project directory (policy option project_dir)")
    try:
        doc = load_yaml_bounded(read_text_bounded(resolve_inside(project_dir, relative)))
    except UnsafeInputError as exc:
        raise PredictionInputError(f"{where}: usage history refused: the file {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise PredictionInputError(f"{where}: not valid YAML/JSON ({str(exc)[:200]})") from None
    if not isinstance(doc, dict) or doc.get("schema") != "usage-history/v1":
        raise PredictionInputError(f"{where}: field 'schema' must be 'usage-history/v1'")
    samples = doc.get("samples")
    if not isinstance(samples, list) or len(samples) < MIN_DAYS:
        raise PredictionInputError(f"{where}: field 'samples' needs at least {MIN_DAYS} daily samples")
    requests, durations, bursts, memory, cpu = [], [], [], [], []
    for i, sample in enumerate(samples):
        sw = f"{where}: samples[{i}]"
        if not isinstance(sample, dict):
            raise PredictionInputError(f"{sw}: expected a mapping with {', '.join(REQUIRED)}")
        unknown = set(sample) - set(REQUIRED) - set(OPTIONAL)
        if unknown:
            raise PredictionInputError(f"{sw}: unknown fields {sorted(unknown)}; allowed {[*REQUIRED, *OPTIONAL]}")
        values: dict[str, float] = {}
        for key in (*REQUIRED[1:], *OPTIONAL):
            if key not in sample:
                if key in REQUIRED:
                    raise PredictionInputError(f"{sw}.{key}: required")
                continue
            value: Any = sample[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise PredictionInputError(f"{sw}.{key}: must be a number >= 0, got {value!r}")
            values[key] = float(value)
        requests.append(values["requests"] * 730 / 24)
        durations.append(values["meanDurationMs"])
        per_minute_mean = values["requests"] / 1440
        bursts.append(max(1.0, values["peakRequestsPerMinute"] / per_minute_mean) if per_minute_mean > 0 else 1.0)
        if "maxMemoryUsedMb" in values:
            memory.append(values["maxMemoryUsedMb"])
        if "cpuP95Millicores" in values:
            cpu.append(values["cpuP95Millicores"])
    return UsageHistory(
        path=relative, days=len(samples), requests_per_month=_quantiles(requests),
        mean_duration_ms=_quantiles(durations), burstiness=_quantiles(bursts),
        max_memory_used_mb=max(memory) if memory else None,
        cpu_p95_millicores=float(np.quantile(cpu, 0.95)) if cpu else None,
    )


# ---- an observed history as training data (`preflight train workload --history`) ---------------------------

MAX_MEAN_DURATION_MS = 900_000  # Lambda's 15-minute limit (Knative allows less): more is another unit (us?)
TRAINING_TRIGGERS = ("http", "queue", "event", "timer", "storage", "orchestration", "others")


@dataclass(frozen=True)
class ObservedHistory:
    """A usage history written by `preflight observe`, with what training needs beyond the samples."""

    path: str
    service: str
    kind: str
    memory_mb: float
    trigger: str | None
    history: UsageHistory
    first_date: str
    last_date: str
    window: dict[str, Any]
    sha256: str


def load_observed_history(path: Path) -> ObservedHistory:
    """Read and check one `out/observe/<stack>/usage-history/<service>.yaml`: the samples as the predictions read
    them (`load_usage_history`), units consistent (a day's peak minute between its mean minute and its total;
    durations under Lambda's 15-minute limit), and the `observed` block naming the service and its declared
    memory and trigger. Errors (PredictionInputError) name the file and the field."""
    import hashlib

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise PredictionInputError(f"{where}: usage history not found")
    try:
        history = load_usage_history(path.parent, path.name, "--history")
    except PredictionInputError as exc:  # name the file as the user gave it
        raise PredictionInputError(str(exc).replace(f"{path.name} (from annotation --history)", where)) from None
    doc = load_yaml_bounded(read_text_bounded(resolve_inside(path.parent, path.name)))
    for i, sample in enumerate(doc["samples"]):
        per_day, peak, mean = sample["requests"], sample["peakRequestsPerMinute"], sample["meanDurationMs"]
        if per_day > 0 and not per_day / 1440 - 1e-6 <= peak <= per_day + 1e-6:
            raise PredictionInputError(
                f"{where}: samples[{i}].peakRequestsPerMinute: {peak:g} is not a requests-per-minute figure for a day "
                f"of {per_day:g} requests (it must lie between the mean minute {per_day / 1440:.3g} and the day's "
                "total): wrong unit (per second? per hour?)")
        if mean > MAX_MEAN_DURATION_MS or (per_day > 0 and mean <= 0):
            raise PredictionInputError(
                f"{where}: samples[{i}].meanDurationMs: {mean:g} is not a duration in milliseconds of a serverless "
                f"request (0 < ms <= {MAX_MEAN_DURATION_MS:,}): wrong unit (microseconds? seconds?)")
    dates = [str(s.get("date")) for s in doc["samples"]]
    for i, date in enumerate(dates):
        if not _is_date(date):
            raise PredictionInputError(f"{where}: samples[{i}].date: {date!r} is not an ISO date (YYYY-MM-DD)")
    if len(set(dates)) != len(dates):
        raise PredictionInputError(f"{where}: samples[*].date: a day appears twice")
    observed = doc.get("observed")
    if not isinstance(observed, dict):
        raise PredictionInputError(f"{where}: field 'observed' missing: training needs a history written by "
                                   "`preflight observe` (it names the service and its declared memory and trigger)")
    declared = observed.get("declared")
    service = observed.get("service")
    if not isinstance(service, str) or not service:
        raise PredictionInputError(f"{where}: field 'observed.service' missing (the service's metadata.name)")
    if not isinstance(declared, dict):
        raise PredictionInputError(f"{where}: field 'observed.declared' missing (memoryMb and trigger of the "
                                   "declaration; re-run `preflight observe` to write it)")
    memory = declared.get("memoryMb")
    if isinstance(memory, bool) or not isinstance(memory, int | float) or not 0 < memory <= 1_048_576:
        raise PredictionInputError(f"{where}: field 'observed.declared.memoryMb': must be the declared memory in MB "
                                   f"(a number > 0), got {memory!r}")
    trigger = declared.get("trigger")
    if trigger == "other":
        trigger = "others"  # the declaration's spelling -> the trace's
    if trigger is not None and trigger not in TRAINING_TRIGGERS:
        raise PredictionInputError(f"{where}: field 'observed.declared.trigger': {trigger!r} is not one of "
                                   f"{', '.join(TRAINING_TRIGGERS)}")
    return ObservedHistory(where, service, str(observed.get("kind", "")), float(memory), trigger, history,
                           min(dates), max(dates), observed.get("window") or {},
                           hashlib.sha256(path.read_bytes()).hexdigest())


def _is_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
