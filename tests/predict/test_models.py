"""Training determinism, model-file integrity, committed metrics, and history parsing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from guardrails_predict.change_risk import HistoryError, load_change_history, synthetic_change_set
from guardrails_predict.metrics import brier_score, pinball_loss, roc_auc
from guardrails_predict.model_store import DEFAULT_MODELS_DIR, MODEL_NAMES, ModelError, load_all, load_model
from guardrails_predict.trace import TraceError, load_trace
from guardrails_predict.training import train_risk, train_workload

from preflight.train_cli import main as train_main


def test_same_seed_gives_identical_model_bytes(tmp_path: Path, trace_dir: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    train_workload(trace_dir, a, seed=11, nthread=1, max_functions=60)
    train_workload(trace_dir, b, seed=11, nthread=1, max_functions=60)
    for name in ("workload-requests", "workload-duration", "workload-burstiness"):
        assert (a / f"{name}.ubj").read_bytes() == (b / f"{name}.ubj").read_bytes()
    manifest_a = json.loads((a / "manifest.json").read_text())
    assert manifest_a == json.loads((b / "manifest.json").read_text())


def test_change_risk_training_is_deterministic(tmp_path: Path) -> None:
    train_risk(tmp_path / "a", seed=3)
    train_risk(tmp_path / "b", seed=3)
    assert (tmp_path / "a/change-risk.ubj").read_bytes() == (tmp_path / "b/change-risk.ubj").read_bytes()


def test_committed_models_load_with_checksums(repo: Path) -> None:
    models = load_all(DEFAULT_MODELS_DIR)
    assert set(models) == set(MODEL_NAMES)
    assert models["change-risk"].synthetic is True
    assert models["workload-requests"].synthetic is False


@pytest.fixture()
def model_copy(tmp_path: Path, repo: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, target)
    return target


def test_corrupt_model_is_a_clear_error(model_copy: Path) -> None:
    path = model_copy / "capacity-risk.ubj"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"capacity-risk\.ubj: sha256 .* does not match .*manifest\.json"):
        load_model("capacity-risk", model_copy)


def test_missing_model_file_is_a_clear_error(model_copy: Path) -> None:
    (model_copy / "workload-duration.ubj").unlink()
    with pytest.raises(ModelError, match=r"workload-duration\.ubj: model file for 'workload-duration' missing"):
        load_model("workload-duration", model_copy)


def test_missing_manifest_is_a_clear_error(model_copy: Path) -> None:
    (model_copy / "manifest.json").unlink()
    with pytest.raises(ModelError, match="model manifest missing; run `preflight train"):
        load_model("change-risk", model_copy)


def test_manifest_without_entry(model_copy: Path) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    del manifest["models"]["change-risk"]
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="no entry for model 'change-risk'"):
        load_model("change-risk", model_copy)


def test_committed_metrics_beat_baselines(repo: Path) -> None:
    metrics = json.loads((DEFAULT_MODELS_DIR / "metrics.json").read_text())
    for target, values in metrics["workload"]["targets"].items():
        held = values["held_out"]["all_hint_variants"]
        assert held["pinball_loss_model"] < held["pinball_loss_unconditional_baseline"], target
        assert 0.70 <= held["coverage_p10_p90"] <= 0.90, target
    cap = metrics["capacity_risk"]["held_out"]
    assert cap["auc_model"] > cap["auc_baseline_capacity_only"]
    assert cap["brier_model"] < cap["brier_baseline_capacity_only"]
    risk = metrics["change_risk"]
    assert risk["synthetic_training"] is True and "SYNTHETIC" in risk["data"]
    assert risk["held_out"]["auc_model"] > risk["held_out"]["auc_baseline_changed_resource_count"]
    assert risk["held_out"]["brier_model"] < risk["held_out"]["brier_baseline_base_rate"]


def test_metric_functions_on_known_values() -> None:
    y = np.array([0.0, 1.0, 2.0])
    pred = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    assert pinball_loss(y, pred, (0.1, 0.5, 0.9)) == 0.0
    # single row y=1, prediction 0 for alpha 0.9: 0.9 x 1
    assert pinball_loss(np.array([1.0]), np.array([[0.0]]), (0.9,)) == pytest.approx(0.9)
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert brier_score(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.25)


def test_synthetic_generator_is_seeded_and_documented() -> None:
    x1, y1 = synthetic_change_set(500, seed=1)
    x2, y2 = synthetic_change_set(500, seed=1)
    assert np.array_equal(np.nan_to_num(x1, nan=-1), np.nan_to_num(x2, nan=-1)) and np.array_equal(y1, y2)
    assert 0.05 < y1.mean() < 0.3


def _history(n: int = 40) -> list[dict]:
    rng = np.random.default_rng(0)
    entries = []
    for version in range(1, n + 1):
        replace = int(rng.integers(0, 3))
        entries.append({
            "kind": "update", "version": version, "startTime": "2026-08-01T10:00:00.000Z", "message": "deploy",
            "environment": {}, "config": {"guardrails:environment": {"value": "prod", "secret": False}},
            "result": "failed" if replace == 2 and version % 2 else "succeeded",
            "resourceChanges": {"same": 5, "update": int(rng.integers(0, 4)), "replace": replace},
        })
    entries.append({"kind": "preview", "version": 0, "result": "succeeded", "startTime": "x", "message": "",
                    "environment": {}, "config": {}})
    return entries


def test_pulumi_stack_history_with_labels(tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps(_history()))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"1": "rolled-back"}))
    x, y = load_change_history(history, labels)
    assert x.shape == (40, 12)  # the preview entry is skipped
    assert y[0] == 1.0  # version 1 relabelled as rolled back
    assert x[0, 9] == 3.0  # environment prod from the entry's config
    assert np.isnan(x[0, 6])  # IAM widening is not in stack history: left missing, not zero


def test_retrain_from_history_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps(_history()))
    assert train_main(["train", "risk", "--history", str(history), "--out", str(tmp_path / "m")]) == 0
    manifest = json.loads((tmp_path / "m/manifest.json").read_text())
    assert manifest["models"]["change-risk"]["synthetic_training"] is False
    assert '"synthetic_training": false' in capsys.readouterr().out


@pytest.mark.parametrize(("doc", "needle"), [
    ({"schema": "change-history/v1", "changes": [{"features": {"blast": 1}, "outcome": "failed"}]},
     "unknown keys \\['blast'\\]"),
    ({"schema": "change-history/v1", "changes": [{"features": {}, "outcome": "meh"}]}, "outcome 'meh'"),
    ([{"kind": "update", "result": "succeeded"}] * 3, "need at least 20 updates"),
    ({"hello": 1}, "expected a `pulumi stack history --json` array"),
])
def test_bad_history_is_named(tmp_path: Path, doc: object, needle: str) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match=needle):
        load_change_history(path)


def test_trace_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no trace files found"):
        load_trace(tmp_path)
    (tmp_path / "invocations.csv").write_text("HashOwner,HashApp,HashFunction,Trigger,1\n")
    (tmp_path / "durations.csv").write_text("HashFunction,Average\n")
    (tmp_path / "memory.csv").write_text("HashFunction\n")
    with pytest.raises(TraceError, match=r"memory\.csv: missing column 'AverageAllocatedMb'"):
        load_trace(tmp_path)


def test_train_cli_reports_bad_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["train", "workload", "--trace", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "trace folder not found" in capsys.readouterr().err


def test_deduplicated_prediction_equals_row_by_row(repo: Path) -> None:
    import xgboost as xgb
    from guardrails_predict.features import WORKLOAD_FEATURES
    from guardrails_predict.model_store import predict_rows

    booster = load_model("workload-burstiness", DEFAULT_MODELS_DIR).booster
    rows = np.array([[10.0] + [np.nan] * 6 + [6.0, np.nan], [11.0] + [np.nan] * 6 + [np.nan, 2.0],
                     [10.0] + [np.nan] * 6 + [6.0, np.nan]])
    names = list(WORKLOAD_FEATURES)
    direct = booster.predict(xgb.DMatrix(rows, feature_names=names), pred_contribs=True)
    assert np.array_equal(predict_rows(booster, rows, names, pred_contribs=True), direct)
    assert np.array_equal(predict_rows(booster, rows, names), booster.predict(xgb.DMatrix(rows, feature_names=names)))
