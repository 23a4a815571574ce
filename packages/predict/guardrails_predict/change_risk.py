"""Change-risk features, the synthetic bootstrap generator, and team deployment-history parsing.

No public dataset links infrastructure changes to failures/rollbacks, so the shipped model is trained on a
SYNTHETIC set drawn from the written-down assumptions below. Every output of this model says so
(`synthetic_training: true`). Teams retrain from their own history with
`preflight train risk --history FILE [--labels FILE]` (formats in models/DATASHEET.md).

Generator assumptions (not measurements; each is a modelling choice a reviewer can dispute):
  * environment uniform over local/dev/staging/prod; data classification public/internal/confidential/
    restricted with probabilities 0.2/0.4/0.3/0.1; 10% of changes create a new service.
  * updates ~ Poisson(1.5); replacements: 15% of changes, 1 + Poisson(0.5); deletions: 10%, 1 + Poisson(0.5).
  * scale delta |log2(new/old capacity)|: 0 for 70% of changes, else |N(0, 1.2)|; resource delta
    (memory/cpu) likewise with 75% zero and |N(0, 1.0)|.
  * IAM widening in 8% of changes, exposure change (cluster-local -> public, new public URL) in 5%.
  * policy findings: high/critical ~ Poisson(0.3), medium/low ~ Poisson(1.0).
  * failure/rollback log-odds = -3.2 + 0.55 replacements + 0.45 deletions + 0.10 updates + 0.45 scale delta
    + 0.40 resource delta + 0.9 IAM widening + 0.8 exposure change + 0.12 classification level
    + 0.15 environment level + 0.55 high findings + 0.08 other findings + 0.3 new service
    + 0.35 replacements x (classification >= confidential) + 0.3 (scale delta > 2 in prod).
    Base failure rate comes out near 15%, in the range change-failure-rate surveys report, which is the only
    outside anchor used.
  * previous state unknown in 15% of changes (the delta features are blank, the label still depends on the
    hidden values) and policy findings unknown in 15%: the model learns what to assume when a preview has no
    previous state or no policy results, instead of an arbitrary split direction.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from guardrails_core.safe_input import JSONSyntaxError, UnsafeInputError, read_json_bounded

CHANGE_FEATURES: tuple[str, ...] = (
    "replacements",
    "deletions",
    "updates",
    "new_service",
    "scale_delta_log2",
    "resource_delta_log2",
    "iam_widening",
    "exposure_change",
    "data_classification_level",
    "environment_level",
    "policy_findings_high",
    "policy_findings_other",
)
ENVIRONMENT_LEVEL = {"local": 0, "dev": 1, "staging": 2, "prod": 3}
CLASSIFICATION_LEVEL = {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}
SYNTHETIC_SEED = 20260819
SYNTHETIC_ROWS = 20000
FAILED_OUTCOMES = {"failed", "rolled-back", "rolled_back", "rollback"}
SUCCEEDED_OUTCOMES = {"succeeded", "success", "ok"}


class HistoryError(ValueError):
    """A deployment-history file does not match a documented format."""


def synthetic_change_set(rows: int = SYNTHETIC_ROWS, seed: int = SYNTHETIC_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) drawn from the module docstring's assumptions; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    env = rng.integers(0, 4, rows).astype(float)
    dc = rng.choice(4, rows, p=[0.2, 0.4, 0.3, 0.1]).astype(float)
    new = (rng.random(rows) < 0.10).astype(float)
    existing = 1.0 - new
    updates = rng.poisson(1.5, rows).astype(float)
    repl = ((rng.random(rows) < 0.15) * (1 + rng.poisson(0.5, rows))).astype(float) * existing
    dels = ((rng.random(rows) < 0.10) * (1 + rng.poisson(0.5, rows))).astype(float) * existing
    scale = np.where(rng.random(rows) < 0.70, 0.0, np.abs(rng.normal(0, 1.2, rows))) * existing
    res = np.where(rng.random(rows) < 0.75, 0.0, np.abs(rng.normal(0, 1.0, rows))) * existing
    iam = (rng.random(rows) < 0.08).astype(float)
    exposure = (rng.random(rows) < 0.05).astype(float)
    high = rng.poisson(0.3, rows).astype(float)
    other = rng.poisson(1.0, rows).astype(float)
    logit = (-3.2 + 0.55 * repl + 0.45 * dels + 0.10 * updates + 0.45 * scale + 0.40 * res + 0.9 * iam
             + 0.8 * exposure + 0.12 * dc + 0.15 * env + 0.55 * high + 0.08 * other + 0.3 * new
             + 0.35 * repl * (dc >= 2) + 0.3 * ((scale > 2) & (env == 3)))
    labels = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    features = np.column_stack([repl, dels, updates, new, scale, res, iam, exposure, dc, env, high, other])
    no_previous = rng.random(rows) < 0.15
    features[no_previous, :8] = np.nan  # replacements .. exposure_change need a previous state
    no_findings = rng.random(rows) < 0.15
    features[no_findings, 10:] = np.nan
    return features, labels


def _outcome_label(value: Any, where: str) -> float:
    text = str(value).strip().lower()
    if text in FAILED_OUTCOMES:
        return 1.0
    if text in SUCCEEDED_OUTCOMES:
        return 0.0
    raise HistoryError(f"{where}: outcome {value!r} is not one of {sorted(FAILED_OUTCOMES | SUCCEEDED_OUTCOMES)}")


def _feature_row(values: dict[str, Any], where: str) -> list[float]:
    unknown = set(values) - set(CHANGE_FEATURES)
    if unknown:
        raise HistoryError(f"{where}.features: unknown keys {sorted(unknown)}; allowed: {list(CHANGE_FEATURES)}")
    row = []
    for name in CHANGE_FEATURES:
        value = values.get(name)
        if value is None:
            row.append(math.nan)  # missing is fine: XGBoost learns a default direction
        elif isinstance(value, bool | int | float) and math.isfinite(float(value)):
            row.append(float(value))
        else:
            raise HistoryError(f"{where}.features.{name}: expected a number, got {value!r}")
    return row


def _from_pulumi_history(entries: list[Any], labels: dict[str, str], path: str,
                         environment: str | None) -> tuple[list[list[float]], list[float]]:
    rows, ys = [], []
    for i, entry in enumerate(entries):
        where = f"{path}: [{i}]"
        if not isinstance(entry, dict) or "result" not in entry or "kind" not in entry:
            raise HistoryError(f"{where}: expected a `pulumi stack history --json` entry with kind and result")
        if entry["kind"] != "update" or entry["result"] == "in-progress":
            continue  # previews, refreshes and destroys are not changes we predict
        version = str(entry.get("version", ""))
        outcome = labels.get(version, entry.get("outcome", entry["result"]))
        changes = entry.get("resourceChanges") or {}
        if not isinstance(changes, dict):
            raise HistoryError(f"{where}.resourceChanges: expected a map of operation -> count")
        config = entry.get("config") or {}
        env_value = (config.get("guardrails:environment") or {}).get("value") if isinstance(config, dict) else None
        env = env_value or environment
        features = {
            "replacements": changes.get("replace", 0) + changes.get("create-replacement", 0),
            "deletions": changes.get("delete", 0),
            "updates": changes.get("update", 0),
            "new_service": 1 if changes.get("create", 0) and not changes.get("same", 0) else 0,
            "environment_level": ENVIRONMENT_LEVEL.get(str(env)) if env else None,
        }
        rows.append(_feature_row(features, where))
        ys.append(_outcome_label(outcome, f"{where}.result/outcome"))
    return rows, ys


def load_change_history(path: Path, labels_path: Path | None = None,
                        environment: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parse a team's deployment history into (features, labels).

    Accepts (a) `{"schema": "change-history/v1", "changes": [{"features": {...}, "outcome": "..."}]}` or
    (b) the JSON array printed by `pulumi stack history --json`, labelled by each entry's `result`, by an
    `outcome` key added to the entry, or by `labels_path` (JSON `{"<version>": "rolled-back", ...}`), which wins.
    """
    try:
        doc = read_json_bounded(Path(path))
    except JSONSyntaxError as exc:
        raise HistoryError(f"{path}:{exc.lineno}: not valid JSON ({exc.reason})") from None
    except UnsafeInputError as exc:
        raise HistoryError(f"{path}: cannot read history (the file {exc})") from None
    labels: dict[str, str] = {}
    if labels_path is not None:
        try:
            labels = {str(k): v for k, v in read_json_bounded(Path(labels_path)).items()}
        except (UnsafeInputError, AttributeError) as exc:
            raise HistoryError(f"{labels_path}: expected a JSON object {{version: outcome}} ({exc})") from None
    if isinstance(doc, list):
        rows, ys = _from_pulumi_history(doc, labels, str(path), environment)
    elif isinstance(doc, dict) and doc.get("schema") == "change-history/v1":
        rows, ys = [], []
        for i, change in enumerate(doc.get("changes") or []):
            where = f"{path}: changes[{i}]"
            if not isinstance(change, dict) or not isinstance(change.get("features"), dict):
                raise HistoryError(f"{where}: expected {{features: {{...}}, outcome: ...}}")
            rows.append(_feature_row(change["features"], where))
            ys.append(_outcome_label(change.get("outcome"), f"{where}.outcome"))
    else:
        raise HistoryError(f"{path}: expected a `pulumi stack history --json` array or "
                           "{schema: change-history/v1, changes: [...]}")
    y = np.array(ys, dtype=float)
    if len(y) < 20 or y.sum() < 2 or (len(y) - y.sum()) < 2:
        raise HistoryError(f"{path}: need at least 20 updates with at least 2 failed and 2 succeeded "
                           f"(found {len(y)} updates, {int(y.sum())} failed)")
    return np.array(rows, dtype=float), y
