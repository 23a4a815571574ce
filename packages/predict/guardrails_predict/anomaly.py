"""Cost anomalies against a service's *usual* behaviour, with the driver named.

The recent period (the last `recent_hours`) is compared with what the same hours of the week usually look like
in the service's own history (hour-of-week seasonality: the median of the history's hours with the same weekday
and hour; hour of day, then the whole history, when a slot has no sample):

    observed  = price(observed requests, observed drivers)
    usual     = price(usual requests,    usual drivers)
    explained = price(observed requests, usual drivers)    # what the usual service costs at today's traffic

`observed / explained` is the cost move traffic does not explain. It is an anomaly when it exceeds both the
stack's factor and what the history itself shows: the same ratio for every whole day of the history against the
other days (leave one day out), at its 95th percentile. A genuine traffic increase moves `explained` with it, so
it is reported as a traffic change, never as a cost anomaly. The unexplained dollars are split between the
drivers that moved (duration, memory, provisioned concurrency, replicas) by Shapley values over the pricing
function (exact for these few drivers), and the largest share names the driver.

Durations are weighted by the observed requests of each hour, for the usual value too, so that a change in the
shape of traffic over the day is not mistaken for a change in duration. Prices come from the caller (the real
pricing engine, `service_price`), so dollars match `preview`'s to the cent.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from guardrails_predict.pricing.currency import USD

HOURS_PER_MONTH = 730
MIN_HISTORY_HOURS = 7 * 24  # one value for every hour of the week
WEIGHTED = frozenset({"duration"})  # drivers averaged per request; the others per hour
DRIVERS = ("duration", "memory", "provisioned concurrency", "replicas")

Price = Callable[[float, Mapping[str, float]], float]  # (requests per month, driver values) -> USD per month


@dataclass(frozen=True)
class HourlyWorkload:
    """One value per hour from `start` (UTC); None where nothing is known. `drivers` keys are from DRIVERS:
    duration (ms), memory (MB), provisioned concurrency (instances), replicas (pods)."""

    start: datetime
    requests: Sequence[float | None]
    drivers: Mapping[str, Sequence[float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Anomaly:
    status: str  # "anomaly" | "normal" | "insufficient-history"
    message: str
    observed_usd_month: float | None = None
    usual_usd_month: float | None = None
    explained_usd_month: float | None = None
    traffic_ratio: float | None = None
    unexplained_ratio: float | None = None
    threshold: float | None = None
    driver: str | None = None
    contributions_usd_month: dict[str, float] = field(default_factory=dict)
    observed: dict[str, float] = field(default_factory=dict)
    usual: dict[str, float] = field(default_factory=dict)
    history_hours: int = 0
    recent_hours: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _slot_medians(start: datetime, values: Sequence[float | None], hours: Sequence[int]) -> dict[tuple, float]:
    """Medians of the given hours per (weekday, hour), per hour of day and overall (keys ('w', d, h), ('h', h),
    ('all',))."""
    groups: dict[tuple, list[float]] = {}
    for i in hours:
        value = values[i]
        if value is None:
            continue
        t = start + timedelta(hours=i)
        for key in (("w", t.weekday(), t.hour), ("h", t.hour), ("all",)):
            groups.setdefault(key, []).append(float(value))
    return {k: float(np.median(v)) for k, v in groups.items()}


def _usual(medians: dict[tuple, float], t: datetime) -> float | None:
    for key in (("w", t.weekday(), t.hour), ("h", t.hour), ("all",)):
        if key in medians:
            return medians[key]
    return None


def _period(work: HourlyWorkload, hours: Sequence[int], history: Sequence[int]) -> tuple[dict, dict] | None:
    """(observed, usual) aggregates of `hours` against `history`: requests per month and each driver."""
    known = [i for i in hours if work.requests[i] is not None]
    if not known or len(known) < len(hours) / 2:
        return None
    medians = {"requests": _slot_medians(work.start, work.requests, history)}
    medians.update({d: _slot_medians(work.start, s, history) for d, s in work.drivers.items()})
    scale = HOURS_PER_MONTH / len(known)
    times = {i: work.start + timedelta(hours=i) for i in known}
    usual_req = [_usual(medians["requests"], times[i]) for i in known]
    if any(v is None for v in usual_req):
        return None
    observed = {"requests": sum(float(work.requests[i]) for i in known) * scale}  # type: ignore[arg-type]
    usual = {"requests": sum(usual_req) * scale}  # type: ignore[arg-type]
    for driver, series in work.drivers.items():
        pairs = []
        for i in known:
            u = _usual(medians[driver], times[i])
            weight = float(work.requests[i]) if driver in WEIGHTED else 1.0  # type: ignore[arg-type]
            if u is not None:
                pairs.append((series[i], u, weight))
        if not pairs:
            continue
        usual_w = [(u, w) for _, u, w in pairs]
        obs_w = [(float(o), w) for o, _, w in pairs if o is not None]
        usual[driver] = _mean(usual_w)
        # no observation of a driver (e.g. no duration in hours without requests): it did not move
        observed[driver] = _mean(obs_w) if obs_w else usual[driver]
    return observed, usual


def _mean(pairs: Sequence[tuple[float, float]]) -> float:
    total = sum(w for _, w in pairs)
    if total <= 0:
        return float(np.mean([v for v, _ in pairs]))
    return sum(v * w for v, w in pairs) / total


def shapley(price: Price, requests: float, before: Mapping[str, float], after: Mapping[str, float]
            ) -> dict[str, float]:
    """Each driver's share of price(after) - price(before) at fixed requests (exact Shapley values)."""
    moved = [d for d in after if not math.isclose(after[d], before.get(d, after[d]))]
    shares = {d: 0.0 for d in moved}
    if not moved:
        return shares
    orders = list(itertools.permutations(moved))
    for order in orders:
        current = dict(before)
        cost = price(requests, current)
        for driver in order:
            current[driver] = after[driver]
            new_cost = price(requests, current)
            shares[driver] += (new_cost - cost) / len(orders)
            cost = new_cost
    return shares


def _ratio(observed: float, explained: float) -> float:
    if explained > 0:
        return observed / explained
    return math.inf if observed > 0 else 1.0


def _baseline_ratios(work: HourlyWorkload, price: Price, history: list[int]) -> list[float]:
    """observed/explained of each whole day of the history against the rest of the history."""
    ratios = []
    for day in range(len(history) // 24):
        block = history[day * 24:(day + 1) * 24]
        skip = set(block)
        rest = [i for i in history if i not in skip]
        period = _period(work, block, rest)
        if period is None:
            continue
        observed, usual = period
        drivers_obs = {k: v for k, v in observed.items() if k != "requests"}
        drivers_usual = {k: v for k, v in usual.items() if k != "requests"}
        ratios.append(_ratio(price(observed["requests"], drivers_obs), price(observed["requests"], drivers_usual)))
    return ratios


def cost_anomaly(work: HourlyWorkload, price: Price, *, recent_hours: int = 24, factor: float = 1.5,
                 min_delta_usd: float = 1.0, money: Callable[[float], str] = USD.text) -> Anomaly:
    """Compare the last `recent_hours` with the history before them (see the module docstring).

    `min_delta_usd`: an unexplained move smaller than this many dollars a month is not worth a finding. `money`
    writes the message's USD figures in the stack's currency (the `*_usd_month` fields stay USD)."""
    total = len(work.requests)
    history = list(range(0, max(0, total - recent_hours)))
    recent = list(range(max(0, total - recent_hours), total))
    known_history = sum(1 for i in history if work.requests[i] is not None)
    if known_history < MIN_HISTORY_HOURS:
        return Anomaly("insufficient-history", f"{known_history} hours of history before the last {recent_hours} h; "
                       f"comparing with usual behaviour needs {MIN_HISTORY_HOURS} (one week)",
                       history_hours=known_history, recent_hours=len(recent))
    period = _period(work, recent, history)
    if period is None:
        return Anomaly("insufficient-history", f"requests unknown for most of the last {recent_hours} h",
                       history_hours=known_history, recent_hours=len(recent))
    observed, usual = period
    drivers_obs = {k: v for k, v in observed.items() if k != "requests"}
    drivers_usual = {k: v for k, v in usual.items() if k != "requests"}
    cost_obs = price(observed["requests"], drivers_obs)
    cost_usual = price(usual["requests"], drivers_usual)
    cost_explained = price(observed["requests"], drivers_usual)
    traffic = _ratio(observed["requests"], usual["requests"])
    unexplained = _ratio(cost_obs, cost_explained)
    spread = _baseline_ratios(work, price, history)
    history_p95 = float(np.quantile(spread, 0.95)) if spread else 1.0
    threshold = max(factor, history_p95)
    shares = shapley(price, observed["requests"], drivers_usual, drivers_obs)
    contributions = {"requests": round(cost_explained - cost_usual, 2),
                     **{d: round(v, 2) for d, v in shares.items()}}
    driver = max(shares, key=lambda d: shares[d]) if shares and max(shares.values()) > 0 else None
    common = dict(observed_usd_month=round(cost_obs, 2), usual_usd_month=round(cost_usual, 2),
                  explained_usd_month=round(cost_explained, 2), traffic_ratio=round(traffic, 3),
                  unexplained_ratio=round(unexplained, 3), threshold=round(threshold, 3),
                  contributions_usd_month=contributions, observed=_rounded(observed), usual=_rounded(usual),
                  history_hours=known_history, recent_hours=len(recent))
    usd = f"{money(cost_usual)} -> {money(cost_obs)}/month"
    if unexplained > threshold and cost_obs - cost_explained >= min_delta_usd and driver is not None:
        moved = f"{_describe(driver, drivers_usual[driver], drivers_obs[driver])}"
        return Anomaly("anomaly", f"cost {usd} at {traffic:.2f}x the usual traffic: x{unexplained:.2f} that traffic "
                       f"does not explain (threshold x{threshold:.2f}); driver: {driver} ({moved}, "
                       f"+{money(shares[driver])}/month)", driver=driver, **common)  # type: ignore[arg-type]
    why = "cost follows traffic" if abs(traffic - 1) > 0.2 else "cost as usual"
    return Anomaly("normal", f"cost {usd} at {traffic:.2f}x the usual traffic: {why} (unexplained x{unexplained:.2f}, "
                   f"threshold x{threshold:.2f})", driver=None, **common)  # type: ignore[arg-type]


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in values.items()}


def _describe(driver: str, before: float, after: float) -> str:
    unit = {"duration": " ms", "memory": " MB"}.get(driver, "")
    return f"{before:,.0f}{unit} usual -> {after:,.0f}{unit} now"


def service_price(service: Any, settings: Any, prices: Any) -> Price:
    """The pricing engine (`costing.service_cost`) for one `Service` as a `Price`: duration in ms (Knative: the
    request latency, which sets the replicas through the per-pod target), and for Lambda memory (MB) and
    provisioned concurrency. Raises `PricingError` / `PredictionInputError` when the service cannot be priced."""
    from guardrails_predict.costing import service_cost

    def price(requests: float, drivers: Mapping[str, float]) -> float:
        overrides: dict[str, Any] = {}
        if "memory" in drivers and service.kind == "lambda":
            overrides["memory_mb"] = max(128, int(round(drivers["memory"])))
        if "provisioned concurrency" in drivers and service.kind == "lambda":
            overrides["provisioned_concurrency"] = max(0, int(math.ceil(drivers["provisioned concurrency"] - 1e-9)))
        duration = drivers.get("duration", 0.0)
        return float(service_cost(service, max(0.0, requests), max(0.0, duration), settings, prices, **overrides)
                     .quantize(Decimal("0.0001")))

    return price
