"""The prediction library's rightsizing edits (data) made into patches of the declaration (comments kept)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.gitops.yaml_edit import Edit

if TYPE_CHECKING:
    from preflight.gitops.patch_workers import PatchWorkers


# Below this many round-trip patches they are rendered in-process: worker start-up would not pay for itself.
PATCH_WORKERS_FROM = 100


def recommendation_edits(edits: dict[str, Any]) -> list[Edit]:
    return [Edit(change["path"], change["value"], bool(change.get("quote"))) for change in edits["changes"]]


def render_recommendation_patches(predictions: dict[str, dict[str, Any]], project_dir: Path | None,
                                  workers: PatchWorkers | None = None, *, start_workers: int = 0) -> None:
    """Fill `recommendation.patch` (a `git apply`-able diff) from `recommendation.edits`, in place; an edit that
    cannot be applied leaves the recommendation standing with `patch_error` saying why. Splices are rendered here;
    the patches that need the round trip are rendered by `workers` when given, else, when at least
    PATCH_WORKERS_FROM of them are left and `start_workers` >= 2, by that many worker processes started for them
    (the same texts either way; what workers cannot answer is rendered here)."""
    if project_dir is None:
        return
    from preflight.gitops.patch_workers import PatchWorkers, render_one

    project_dir = Path(project_dir)
    wanted = {key: prediction["recommendation"] for key, prediction in predictions.items()
              if (prediction.get("recommendation") or {}).get("edits")}
    answers = {key: (key, *render_one(project_dir, rec["edits"]["file"], rec["edits"]["line"], rec["edits"],
                                      round_trip=False)[1:]) for key, rec in wanted.items()}
    left = [(key, rec["edits"]["file"], rec["edits"]["line"], rec["edits"]) for key, rec in wanted.items()
            if answers[key][1] == "again"]
    if left and workers is not None:
        answers.update(workers.render(left))
    elif len(left) >= PATCH_WORKERS_FROM and start_workers >= 2:
        try:
            with PatchWorkers(project_dir, start_workers) as started:
                answers.update(started.render(left))
        except OSError:  # no worker could be started: rendered here, as for a small plan
            pass
    for key, recommendation in wanted.items():
        edits = recommendation["edits"]
        _, kind, text = answers[key]
        if kind == "again":  # the splice was tried above
            _, kind, text = render_one(project_dir, edits["file"], edits["line"], edits, splice=False)
        if kind == "patch":
            recommendation["patch"] = text or None
        else:
            recommendation["patch_error"] = text
