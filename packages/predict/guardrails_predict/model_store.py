"""Versioned model files with a sha256 manifest; a missing or altered file is an error, never a silent zero."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

MANIFEST = "manifest.json"
METRICS = "metrics.json"
MANIFEST_SCHEMA = "model-manifest/v1"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "models"  # package data
PREDICT_NTHREAD_ENV = "GUARDRAILS_PREDICT_NTHREAD"
# One thread: rows are few (<= a few thousand per plan) and OpenMP spin-up/contention on a shared 2-core CI box
# cost more than the trees (benchmarks/predict_latency.py measures both settings).
DEFAULT_PREDICT_NTHREAD = 1
MODEL_NAMES = ("workload-requests", "workload-duration", "workload-burstiness", "capacity-risk", "change-risk")


class ModelError(RuntimeError):
    """A model cannot be used (missing, checksum mismatch, wrong features). Blocks the gate."""


def models_dir() -> Path:
    """`GUARDRAILS_MODELS_DIR` or the models shipped in this package."""
    return Path(os.environ.get("GUARDRAILS_MODELS_DIR") or DEFAULT_MODELS_DIR)


def predict_nthread() -> int:
    raw = os.environ.get(PREDICT_NTHREAD_ENV, str(DEFAULT_PREDICT_NTHREAD))
    if not raw.isdigit() or int(raw) < 1:
        raise ModelError(f"{PREDICT_NTHREAD_ENV}={raw!r}: must be a whole number >= 1 (XGBoost prediction threads)")
    return int(raw)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LoadedModel:
    name: str
    booster: xgb.Booster
    entry: dict[str, Any]  # the manifest entry: file, sha256, features, kind, quantiles, synthetic_training...

    @property
    def features(self) -> list[str]:
        return list(self.entry["features"])

    @property
    def synthetic(self) -> bool:
        return bool(self.entry.get("synthetic_training", False))


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        return {"schema": MANIFEST_SCHEMA, "models": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); retrain with `preflight train ...`") from exc
    if not isinstance(doc, dict) or doc.get("schema") != MANIFEST_SCHEMA or not isinstance(doc.get("models"), dict):
        raise ModelError(f"{path}: field 'schema' must be {MANIFEST_SCHEMA!r} with a 'models' map")
    return doc


def write_model(directory: Path, name: str, booster: xgb.Booster, entry: dict[str, Any]) -> dict[str, Any]:
    """Save `<name>.ubj` and record its sha256 + metadata in the manifest (other entries are kept)."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = bytes(booster.save_raw(raw_format="ubj"))
    file_name = f"{name}.ubj"
    (directory / file_name).write_bytes(raw)
    manifest = read_manifest(directory)
    full = {**entry, "file": file_name, "sha256": sha256_bytes(raw), "bytes": len(raw),
            "xgboost_version": xgb.__version__}
    manifest["models"][name] = full
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return full


def write_manifest_section(directory: Path, section: str, value: dict[str, Any]) -> None:
    """A non-model entry of the manifest (e.g. the cost-band calibration) written by the same training run."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(directory)
    manifest[section] = value
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def merge_metrics(directory: Path, section: str, metrics: dict[str, Any]) -> None:
    path = directory / METRICS
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    doc[section] = metrics
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_model(name: str, directory: Path | None = None) -> LoadedModel:
    directory = directory or models_dir()
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        raise ModelError(f"{manifest_path}: model manifest missing; run `preflight train workload|capacity|risk` "
                         "or restore models/ from Git")
    entry = read_manifest(directory)["models"].get(name)
    if entry is None:
        raise ModelError(f"{manifest_path}: no entry for model {name!r}; run `preflight train` to create it")
    path = directory / str(entry.get("file", ""))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: model file for {name!r} missing or unreadable ({exc.strerror})") from exc
    actual = sha256_bytes(raw)
    if actual != entry.get("sha256"):
        raise ModelError(f"{path}: sha256 {actual} does not match {manifest_path} ({entry.get('sha256')}); "
                         "the model file was altered or corrupted - restore it from Git or retrain")
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
        booster.set_param({"nthread": predict_nthread()})
    except xgb.core.XGBoostError as exc:
        raise ModelError(f"{path}: XGBoost cannot load the model ({str(exc).splitlines()[0]})") from exc
    if booster.num_features() != len(entry.get("features", [])):
        raise ModelError(f"{path}: model has {booster.num_features()} features but the manifest lists "
                         f"{len(entry.get('features', []))}")
    return LoadedModel(name, booster, entry)


def load_all(directory: Path | None = None) -> dict[str, LoadedModel]:
    return {name: load_model(name, directory) for name in MODEL_NAMES}


@dataclass(frozen=True)
class CostBand:
    """Split-conformal scales of the comonotone cost band per hint variant (written by `train workload`)."""

    scales: dict[str, float]
    both_declared_scale: float

    def scale_for(self, variant: str) -> float:
        return self.both_declared_scale if variant == "both" else self.scales[variant]


def load_cost_band(directory: Path | None = None) -> CostBand:
    directory = directory or models_dir()
    section = read_manifest(directory).get("cost_band")
    try:
        scales = {k: float(section["scales"][k]) for k in ("none", "requests", "latency")}  # type: ignore[index]
        both = float(section["both_declared_scale"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{directory / MANIFEST}: 'cost_band' section missing or malformed ({exc!r}); "
                         "retrain with `preflight train workload`") from exc
    if not all(0 < v < 10 for v in (*scales.values(), both)):
        raise ModelError(f"{directory / MANIFEST}: cost_band scales must be within (0, 10), got {scales}, {both}")
    return CostBand(scales, both)


def predict_rows(booster: xgb.Booster, matrix: np.ndarray, features: list[str], **kwargs: Any) -> np.ndarray:
    """`booster.predict` on the distinct rows only (a stack often repeats a declaration shape), then
    scattered back; outputs are identical to predicting every row (prediction is per row and deterministic)."""
    nthread = predict_nthread()
    if len(matrix) == 0:
        return booster.predict(xgb.DMatrix(matrix.reshape(0, len(features)), feature_names=features,
                                           nthread=nthread), **kwargs)
    unique, inverse = distinct_rows(matrix)
    # DMatrix construction with the default thread count dominated prediction time on a loaded 2-core box
    # (20 ms per matrix): the thread count is set explicitly for the matrix as well as for the booster.
    out = booster.predict(xgb.DMatrix(unique, feature_names=features, nthread=nthread), **kwargs)
    return out[inverse]


def distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows in first-seen order, the index of each row among them): rows are told apart by their
    bytes (NaN included), a dict lookup per row, 3x cheaper than `np.unique(axis=0)`'s lexicographic sort."""
    rows = np.ascontiguousarray(matrix, dtype=np.float64)
    keys = rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel().tolist()
    seen: dict[bytes, int] = {}
    picks: list[int] = []
    inverse = []
    for i, key in enumerate(keys):
        j = seen.get(key)
        if j is None:
            j = seen[key] = len(picks)
            picks.append(i)
        inverse.append(j)
    return rows[picks], np.array(inverse, dtype=np.intp)
