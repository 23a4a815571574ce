"""The prediction library's rightsizing edits (data) made into patches of the declaration (comments kept)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.gitops.yaml_edit import Edit

if TYPE_CHECKING:
    from preflight.gitops.patch_workers import PatchWorkers


def recommendation_edits(edits: dict[str, Any]) -> list[Edit]:
    return [Edit(change["path"], change["value"], bool(change.get("quote"))) for change in edits["changes"]]


def render_recommendation_patches(predictions: dict[str, dict[str, Any]], project_dir: Path | None,
                                  workers: PatchWorkers | None = None) -> None:
    """Fill `recommendation.patch` (a `git apply`-able diff) from `recommendation.edits`, in place; an edit that
    cannot be applied leaves the recommendation standing with `patch_error` saying why. With `workers`, the patches
    are rendered by them (the same texts; what they cannot answer is rendered here)."""
    if project_dir is None:
        return
    from preflight.gitops.patch_workers import render_one

    wanted = {key: prediction["recommendation"] for key, prediction in predictions.items()
              if (prediction.get("recommendation") or {}).get("edits")}
    answers = workers.render([(key, rec["edits"]["file"], rec["edits"]["line"], rec["edits"])
                              for key, rec in wanted.items()]) if workers is not None and wanted else {}
    for key, recommendation in wanted.items():
        edits = recommendation["edits"]
        _, kind, text = answers.get(key, (key, "again", None))
        if kind == "again":
            _, kind, text = render_one(Path(project_dir), edits["file"], edits["line"], edits)
        if kind == "patch":
            recommendation["patch"] = text or None
        else:
            recommendation["patch_error"] = text
