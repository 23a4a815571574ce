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
MODEL_NAMES = ("workload-requests", "workload-duration", "workload-burstiness", "capacity-risk", "change-risk")


class ModelError(RuntimeError):
    """A model cannot be used (missing, checksum mismatch, wrong features). Blocks the gate."""


def models_dir() -> Path:
    """`GUARDRAILS_MODELS_DIR` or the models shipped in this package."""
    return Path(os.environ.get("GUARDRAILS_MODELS_DIR") or DEFAULT_MODELS_DIR)


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
    except xgb.core.XGBoostError as exc:
        raise ModelError(f"{path}: XGBoost cannot load the model ({str(exc).splitlines()[0]})") from exc
    if booster.num_features() != len(entry.get("features", [])):
        raise ModelError(f"{path}: model has {booster.num_features()} features but the manifest lists "
                         f"{len(entry.get('features', []))}")
    return LoadedModel(name, booster, entry)


def load_all(directory: Path | None = None) -> dict[str, LoadedModel]:
    return {name: load_model(name, directory) for name in MODEL_NAMES}


def predict_rows(booster: xgb.Booster, matrix: np.ndarray, features: list[str], **kwargs: Any) -> np.ndarray:
    """`booster.predict` on the distinct rows only (a stack often repeats a declaration shape), then
    scattered back; outputs are identical to predicting every row (prediction is per row and deterministic)."""
    if len(matrix) == 0:
        return booster.predict(xgb.DMatrix(matrix.reshape(0, len(features)), feature_names=features), **kwargs)
    keys = np.where(np.isnan(matrix), np.inf, matrix)  # NaN != NaN; +inf never occurs in a feature row
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    unique = np.where(np.isinf(unique), np.nan, unique)
    out = booster.predict(xgb.DMatrix(unique, feature_names=features), **kwargs)
    return out[inverse.reshape(-1)]
