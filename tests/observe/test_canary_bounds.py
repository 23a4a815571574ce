"""The bounds the Lambda canary test takes from per-minute aggregates hold the exact figures between them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from preflight.observe.canary import MetricTest, count_above, quantile_bounds


def _periods(rng: np.random.Generator, minutes: int, per_minute: int) -> tuple[list, np.ndarray]:
    groups = [rng.lognormal(5, 0.4, size=rng.integers(1, per_minute + 1)) for _ in range(minutes)]
    return [(len(g), float(g.min()), float(g.max())) for g in groups], np.concatenate(groups)


@pytest.mark.parametrize("seed", range(20))
def test_bounds_contain_the_exact_quantile_and_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    periods, samples = _periods(rng, minutes=int(rng.integers(5, 200)), per_minute=int(rng.integers(1, 120)))
    for q in (0.95, 0.99):
        exact = float(np.sort(samples)[math.ceil(round(q * len(samples), 9)) - 1])  # the ceil(q n)-th smallest
        lo, hi = quantile_bounds(periods, q)
        assert hi is not None and exact <= hi
        assert lo is None or lo <= exact
    bound = float(np.quantile(samples, 0.9))
    k_lo, k_hi = count_above(periods, bound)
    assert k_lo <= int((samples > bound).sum()) <= k_hi


def test_the_safe_test_uses_the_upper_count_and_the_harm_test_the_lower() -> None:
    # 1 provably slow request, up to 60 possibly slow, of 2000: harm cannot be shown, nor can safety
    t = MetricTest("latency_p99", 2000, 1, 0.01, 0.025, {}, [], k_safe=60).run()
    assert t.outcome == "undecided"
    assert t.as_dict()["canary_bad_upper"] == 60
    assert MetricTest("latency_p99", 2000, 1, 0.01, 0.025, {}, []).run().outcome == "safe"
