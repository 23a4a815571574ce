"""The prediction library's rightsizing edits (data) made into patches of the declaration (comments kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.gitops.yaml_edit import Edit, EditError, unified_patch


def recommendation_edits(edits: dict[str, Any]) -> list[Edit]:
    return [Edit(change["path"], change["value"], bool(change.get("quote"))) for change in edits["changes"]]


def render_recommendation_patches(predictions: dict[str, dict[str, Any]], project_dir: Path | None) -> None:
    """Fill `recommendation.patch` (a `git apply`-able diff) from `recommendation.edits`, in place; an edit that
    cannot be applied leaves the recommendation standing with `patch_error` saying why."""
    if project_dir is None:
        return
    for prediction in predictions.values():
        recommendation = prediction.get("recommendation") or {}
        edits = recommendation.get("edits")
        if not edits:
            continue
        try:
            patch = unified_patch(Path(project_dir), edits["file"], edits["line"], recommendation_edits(edits))
            recommendation["patch"] = patch or None
        except EditError as exc:
            recommendation["patch_error"] = str(exc)
