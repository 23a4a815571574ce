"""Usage-history files are validated with named fields (declaration edits: tests/gitops)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.usage_history import load_usage_history


def _write(tmp_path: Path, samples: list[dict]) -> None:
    (tmp_path / "h.yaml").write_text(yaml.safe_dump({"schema": "usage-history/v1", "samples": samples}))


def test_usage_history_quantiles(tmp_path: Path) -> None:
    _write(tmp_path, [{"date": f"d{i}", "requests": 1440, "meanDurationMs": 100, "peakRequestsPerMinute": 3}
                      for i in range(7)])
    history = load_usage_history(tmp_path, "h.yaml", "finops.x/usage-history")
    assert history.requests_per_month == (1440 * 730 / 24,) * 3
    assert history.burstiness == (3.0, 3.0, 3.0)  # 3 per minute at peak / 1 per minute on average


@pytest.mark.parametrize(("samples", "needle"), [
    ([{"date": "d", "requests": 1, "meanDurationMs": 1, "peakRequestsPerMinute": 1}] * 3, "at least 7 daily"),
    ([{"date": "d", "requests": -1, "meanDurationMs": 1, "peakRequestsPerMinute": 1}] * 7,
     r"samples\[0\]\.requests: must be a number >= 0"),
    ([{"date": "d", "requests": 1, "meanDurationMs": 1}] * 7, r"samples\[0\]\.peakRequestsPerMinute: required"),
    ([{"date": "d", "requests": 1, "meanDurationMs": 1, "peakRequestsPerMinute": 1, "cpu": 1}] * 7,
     r"unknown fields \['cpu'\]"),
])
def test_usage_history_errors(tmp_path: Path, samples: list[dict], needle: str) -> None:
    _write(tmp_path, samples)
    with pytest.raises(PredictionInputError, match=needle):
        load_usage_history(tmp_path, "h.yaml", "finops.x/usage-history")


def test_usage_history_must_stay_in_project(tmp_path: Path) -> None:
    with pytest.raises(PredictionInputError, match="outside the repository"):
        load_usage_history(tmp_path, "../../etc/passwd", "finops.x/usage-history")
