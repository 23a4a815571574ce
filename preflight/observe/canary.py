"""Canary vs stable: an always-valid sequential test per metric, and the decision promote / hold / rollback.

The test (a mixture sequential probability ratio test, Robbins 1970; Howard et al. 2021 for the always-valid
view). Every metric is a count of *bad* events among the canary's n trials: 5xx responses among requests,
requests slower than the stable's p95 (p99) x (1 + latencyTolerance) - read exactly from the histogram bucket
at or above that bound - and KPI samples on the wrong side of the declared threshold. With θ the canary's
bad-event rate and θ0 the tolerated rate (stable's error rate + errorRateTolerance; 0.05 above the p95 bound,
0.01 above the p99 bound; kpiViolationTolerance), after k bad events in n trials:

    harm  (H0: θ <= θ0):  Λ+ = [∫_{θ0}^{1} θ^k (1-θ)^(n-k) dθ / (1-θ0)] / [θ0^k (1-θ0)^(n-k)]
    safe  (H0: θ >= θ0):  Λ- = [∫_{0}^{θ0} θ^k (1-θ)^(n-k) dθ / θ0]     / [θ0^k (1-θ0)^(n-k)]

(uniform mixtures over the alternative; the integrals are incomplete beta functions). Under H0 each Λ is a
non-negative supermartingale in n with E <= 1, so by Ville's inequality P(Λ ever >= 1/a) <= a: the test may be
re-run on the growing data (every `preflight rollout`) as often as wanted without inflating the false-alarm
rate, and 1/Λ is an always-valid p-value. With m metrics each test runs at a = falseAlarmRate / m
(Bonferroni), so the chance of any false alarm in a decision is <= falseAlarmRate.

Decision: no revision may be judged before it served `minRequests`; then rollback if any harm test rejects
(the canary is worse than tolerated), promote if every safe test rejects (proved within tolerance on every
metric), hold otherwise, with the extra canary traffic that would decide at the observed rates.
Assumption, stated: requests are independent trials (the usual one for A/B tests); KPI samples at the query
step are treated the same way, so a KPI's step should be no shorter than its own averaging window.

When only per-period aggregates are known (CloudWatch's standard statistics of Lambda's Duration: SampleCount,
Minimum, Maximum per minute), the number of slow canary requests is known only within bounds [k_lo, k_hi]
(`count_above`), and the stable's quantile only within [q_lo, q_hi] (`quantile_bounds`). The harm test then uses
the smallest count against the largest bound and the safe test the largest count against the smallest bound:
Λ+ grows and Λ- shrinks with k, so each test is at least as strict as with the exact (unknown) figures and keeps
its false-alarm guarantee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from scipy.special import betainc, betaln

Decision = Literal["promote", "hold", "rollback"]
LATENCY_QUANTILES = {"latency_p95": 0.95, "latency_p99": 0.99}
# Lambda canaries are judged on Duration p99: from CloudWatch's per-minute standard statistics a quantile is
# bounded below only by the minutes' maxima, which prove a p99 (1 % of invocations) far more often than a p95.
LAMBDA_LATENCY_QUANTILES = {"latency_p99": 0.99}
_MAX_TRAFFIC = 10**9


def _log_lr(n: int, k: int, theta0: float, side: Literal["harm", "safe"]) -> float:
    """log Λ of the uniform-mixture SPRT above; -inf when the alternative has no mass left."""
    if not 0 < theta0 < 1:
        raise ValueError(f"tolerated rate must be in (0, 1), found {theta0}")
    n, k = int(n), int(k)
    a, b = k + 1, n - k + 1
    # The Beta(k+1, n-k+1) mass on the alternative's side of θ0 (regularised incomplete beta; the upper tail as
    # I_{1-θ0}(b, a) avoids the cancellation of 1 - I_θ0(a, b)).
    mass = betainc(b, a, 1.0 - theta0) if side == "harm" else betainc(a, b, theta0)
    if mass <= 0:
        return -math.inf
    width = (1 - theta0) if side == "harm" else theta0
    return betaln(a, b) + math.log(mass) - math.log(width) - k * math.log(theta0) - (n - k) * math.log1p(-theta0)


@dataclass
class MetricTest:
    """One metric's sequential test: n trials and k bad events of the canary against the tolerated rate θ0."""

    metric: str
    n: int
    k: int
    theta0: float
    alpha: float
    stable: dict[str, Any]  # what the tolerance was derived from (the stable's figures)
    queries: list[str]
    log_lr_harm: float = 0.0
    log_lr_safe: float = 0.0
    outcome: Literal["harm", "safe", "undecided"] = "undecided"
    more_needed: int | None = None  # extra canary trials to decide at the observed rate (None: cannot say)
    # The bad-event count the safe test uses when k is only known within bounds: k is then the lower bound (the
    # harm test's) and k_safe the upper one (see the module docstring). None: k is exact.
    k_safe: int | None = None

    @property
    def k_upper(self) -> int:
        return self.k if self.k_safe is None else self.k_safe

    def run(self) -> MetricTest:
        self.log_lr_harm = _log_lr(self.n, self.k, self.theta0, "harm")
        self.log_lr_safe = _log_lr(self.n, self.k_upper, self.theta0, "safe")
        bound = math.log(1 / self.alpha)
        if self.log_lr_harm >= bound:
            self.outcome = "harm"
        elif self.log_lr_safe >= bound:
            self.outcome = "safe"
        else:
            self.more_needed = _more_needed(self.n, self.k if self.k_safe is None else
                                            round((self.k + self.k_safe) / 2), self.theta0, bound)
        return self

    @property
    def observed_rate(self) -> float | None:
        return self.k / self.n if self.n else None

    def as_dict(self) -> dict[str, Any]:
        def p(log_lr: float) -> float:
            return 1.0 if log_lr <= 0 else float(min(1.0, math.exp(-log_lr)))

        return {"metric": self.metric, "canary_trials": self.n, "canary_bad": self.k,
                **({"canary_bad_upper": self.k_safe} if self.k_safe is not None else {}),
                "canary_rate": self.observed_rate, "tolerated_rate": self.theta0, "alpha": self.alpha,
                "threshold_log_lr": math.log(1 / self.alpha), "log_lr_harm": _finite(self.log_lr_harm),
                "log_lr_safe": _finite(self.log_lr_safe), "p_value_harm": p(self.log_lr_harm),
                "p_value_safe": p(self.log_lr_safe), "outcome": self.outcome, "more_trials_needed": self.more_needed,
                "stable": self.stable, "queries": self.queries}


def _finite(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else round(value, 4)


def _more_needed(n: int, k: int, theta0: float, bound: float) -> int | None:
    """Extra trials after which one of the tests would reject if the canary kept its observed rate (k/n, or 0
    before any trial); None when that rate sits on the tolerance (no amount of traffic separates them)."""
    rate = k / n if n else 0.0
    if abs(rate - theta0) < 1e-12:
        return None
    side: Literal["harm", "safe"] = "harm" if rate > theta0 else "safe"

    def decides(total: int) -> bool:
        return _log_lr(total, round(total * rate), theta0, side) >= bound

    hi = max(n, 1)
    while not decides(hi):
        if hi >= _MAX_TRAFFIC:
            return None
        hi = min(_MAX_TRAFFIC, hi * 2)
    lo = max(n, 0)
    while lo < hi:  # smallest total that decides
        mid = (lo + hi) // 2
        if decides(mid):
            hi = mid
        else:
            lo = mid + 1
    return max(0, hi - n)


def error_rate_test(stable: str, n_stable: int, k_stable: int, n_canary: int, k_canary: int, tolerance: float,
                    alpha: float, queries: list[str]) -> MetricTest | str:
    """The error-rate test (run), or why it cannot be run: errors among the canary's requests against the
    stable's error rate + `tolerance` (rollout's `errorRateTolerance`)."""
    if not n_stable:
        return f"error rate: the stable {stable} served no requests in the window"
    stable_rate = k_stable / n_stable
    theta0 = min(0.999, max(1e-6, stable_rate + tolerance))
    return MetricTest("error_rate", n_canary, k_canary, theta0, alpha,
                      {"revision": stable, "requests": n_stable, "errors": k_stable, "error_rate": stable_rate,
                       "tolerance": tolerance}, queries).run()


# A KPI holds for a sample when `value <op> threshold` (the declared condition; Knative annotation or Lambda spec).
KPI_OPS = {"<": lambda v, t: v < t, "<=": lambda v, t: v <= t, ">": lambda v, t: v > t, ">=": lambda v, t: v >= t}


def kpi_test(name: str, canary_values: list[float], stable_values: list[float], op: str, threshold: float,
             tolerance: float, alpha: float, step_seconds: int, stable: str, canary: str, source: str,
             queries: list[str]) -> MetricTest | str:
    """The KPI test (run): canary samples on the wrong side of `<op> threshold` against the tolerated share
    `tolerance` (rollout's `kpiViolationTolerance`); or, when the canary has no samples, why it cannot be run
    (no data is never a pass). `source` says where the samples came from (the query), for that reason."""
    values = [v for v in canary_values if not math.isnan(v)]
    if not values:
        return f"kpi.{name}: {source} returned no samples for {canary} in the window"
    stable_ok = [v for v in stable_values if not math.isnan(v)]
    holds = KPI_OPS[op]
    return MetricTest(f"kpi.{name}", len(values), sum(1 for v in values if not holds(v, threshold)), tolerance, alpha,
                      {"revision": stable, "condition": f"{op} {threshold:g}", "samples": len(stable_ok),
                       "violations": sum(1 for v in stable_ok if not holds(v, threshold)),
                       "step_seconds": step_seconds}, queries).run()


@dataclass
class Analysis:
    decision: Decision
    reasons: list[str]
    tests: list[MetricTest] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": self.reasons, "tests": [t.as_dict() for t in self.tests]}


def decide(tests: list[MetricTest], untestable: list[str], canary: str, stable: str, canary_requests: int,
           stable_requests: int, min_requests: int) -> Analysis:
    """The decision from the metric tests (already `run()`); `untestable` lists metrics that could not be
    measured, with the reason (they hold the decision: missing is never a pass)."""
    reasons: list[str] = []
    short = [(name, n) for name, n in ((canary, canary_requests), (stable, stable_requests)) if n < min_requests]
    if short:
        total = canary_requests + stable_requests
        for name, n in short:
            reasons.append(f"{name} served {n} request(s); at least {min_requests} per revision are needed before "
                           f"any decision ({min_requests - n} more; {total} request(s) in total so far)")
        return Analysis("hold", reasons, tests)
    harm = [t for t in tests if t.outcome == "harm"]
    if harm:
        for t in harm:
            reasons.append(f"{t.metric}: canary {t.k}/{t.n} = {t.observed_rate:.4%} above the tolerated "
                           f"{t.theta0:.4%} (likelihood ratio e^{t.log_lr_harm:.1f} >= 1/{t.alpha:.4g})")
        return Analysis("rollback", reasons, tests)
    undecided = [t for t in tests if t.outcome != "safe"]
    if not undecided and not untestable:
        reasons += [f"{t.metric}: canary {t.k_upper}/{t.n} = {t.k_upper / t.n:.4%} proved below the tolerated "
                    f"{t.theta0:.4%} (likelihood ratio e^{t.log_lr_safe:.1f} >= 1/{t.alpha:.4g})" for t in tests]
        return Analysis("promote", reasons, tests)
    for t in undecided:
        more = (f"about {t.more_needed} more canary {'samples' if t.metric.startswith('kpi.') else 'requests'} "
                "would decide at the observed rate") if t.more_needed is not None else \
            "the observed rate sits on the tolerance; more traffic may not decide"
        seen = f"{t.k}/{t.n}" if t.k_safe is None else f"{t.k}..{t.k_safe} of {t.n}"
        reasons.append(f"{t.metric}: not enough evidence yet (canary {seen}, tolerated {t.theta0:.4%}); {more}")
    reasons += untestable
    return Analysis("hold", reasons, tests)


# ---- bounds from per-period aggregates (count, minimum, maximum) ------------------------------------------

Period = tuple[float, float, float]  # (sample count, minimum, maximum) of one period


def count_above(periods: list[Period], bound: float) -> tuple[int, int]:
    """(k_lo, k_hi): how many samples are provably above `bound`, and how many may be. A period whose minimum is
    above it has all its samples above; one whose maximum is above has at least one (its maximum) and maybe all."""
    lo = hi = 0
    for count, minimum, maximum in periods:
        if count <= 0 or maximum <= bound:
            continue
        hi += round(count)
        lo += round(count) if minimum > bound else 1
    return lo, hi


def quantile_bounds(periods: list[Period], q: float) -> tuple[float | None, float | None]:
    """(lo, hi) with lo <= the q-quantile of all samples <= hi, from per-period aggregates alone; None where the
    data cannot bound it (no samples; or too few periods to prove a lower bound)."""
    periods = [p for p in periods if p[0] > 0]
    total = sum(round(c) for c, _, _ in periods)
    if not total:
        return None, None
    # The quantile is the ceil(q*n)-th smallest sample: it is >= m when more than n - ceil(q*n) samples are >= m,
    # and <= m when at least ceil(q*n) are <= m (rounded first: 1 - 0.99 is not exactly 0.01 in binary).
    rank = max(1, math.ceil(round(q * total, 9)))
    need_above, need_below = total - rank + 1, rank
    candidates = sorted({v for _, mn, mx in periods for v in (mn, mx)})

    def at_least(m: float) -> int:  # samples provably >= m
        return sum(round(c) if mn >= m else (1 if mx >= m else 0) for c, mn, mx in periods)

    def at_most(m: float) -> int:  # samples provably <= m
        return sum(round(c) if mx <= m else (1 if mn <= m else 0) for c, mn, mx in periods)

    lo = next((m for m in reversed(candidates) if at_least(m) >= need_above), None)
    hi = next((m for m in candidates if at_most(m) >= need_below), None)
    return lo, hi
