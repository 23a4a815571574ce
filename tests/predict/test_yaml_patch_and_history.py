"""Declaration patches keep formatting; usage-history files are validated with named fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.usage_history import load_usage_history
from guardrails_predict.yaml_patch import Edit, PatchError, apply_edits, unified_patch

TWO_DOCS = """# leading comment
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: a
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: '5'  # reviewed
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: b}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: "5"
"""


def test_edits_only_the_target_value_in_the_right_document() -> None:
    after = apply_edits(TWO_DOCS, "x.yaml", 12, [Edit(["spec", "template", "metadata", "annotations",
                                                      "autoscaling.knative.dev/max-scale"], "9", quote=True)])
    before_lines, after_lines = TWO_DOCS.splitlines(), after.splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before_lines, after_lines, strict=True)) if a != b]
    assert changed == [18] and after_lines[18] == '        autoscaling.knative.dev/max-scale: "9"'


def test_keeps_single_quotes_and_comments() -> None:
    after = apply_edits(TWO_DOCS, "x.yaml", 1, [Edit(["spec", "template", "metadata", "annotations",
                                                     "autoscaling.knative.dev/max-scale"], "7")])
    assert "        autoscaling.knative.dev/max-scale: '7'  # reviewed\n" in after
    assert after.startswith("# leading comment\n")


def test_inserts_missing_key_with_sibling_indent() -> None:
    after = apply_edits(TWO_DOCS, "x.yaml", 1, [Edit(["spec", "template", "metadata", "annotations",
                                                     "autoscaling.knative.dev/min-scale"], "0", quote=True)])
    assert '        autoscaling.knative.dev/min-scale: "0"\n        autoscaling.knative.dev/max-scale' in after
    assert yaml.safe_load_all(after)  # still valid YAML


def test_unified_patch_is_relative_and_errors_are_named(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(TWO_DOCS)
    patch = unified_patch(tmp_path, "svc.yaml", 1, [Edit(["metadata", "name"], "c")])
    assert patch.startswith("--- a/svc.yaml\n+++ b/svc.yaml\n") and "+  name: c\n" in patch
    with pytest.raises(PatchError, match=r"svc\.yaml: spec\.nope\.x: 'nope' not found"):
        unified_patch(tmp_path, "svc.yaml", 1, [Edit(["spec", "nope", "x"], "1")])


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
