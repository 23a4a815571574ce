"""The rightsizing patches rendered by worker processes are exactly the ones rendered in-process: the full
predictions of a 200-service plan (from the real program), and the edge cases (a file changed between two
renders, a document that is not valid YAML, two edited documents of one file, a worker that died). The workers
are stopped on close.

Workers only get the patches preflight cannot splice (those needing the round trip): here preflight splices
nothing (`no_splice`), so every patch of the plan goes through the workers' round trip."""

from __future__ import annotations

import copy
import os
import signal
from pathlib import Path

import pytest
from guardrails_core.settings import load_stack_settings
from guardrails_predict.plan import predict_plan

from benchmarks.generate import generate
from preflight.engine.offline import run_program_child
from preflight.gitops import patch_workers, recommendations, render_recommendation_patches, yaml_edit
from preflight.gitops.patch_workers import PatchWorkers


@pytest.fixture(autouse=True)
def no_splice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_edit, "splice_document", lambda *args: None)


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    project = generate(tmp_path_factory.mktemp("patches"), 200)
    predictions = predict_plan(run_program_child(project, "dev"), load_stack_settings(project, "dev"), None,
                               project)
    return project, predictions


def _rendered(predictions: dict, project: Path, workers: PatchWorkers | None) -> dict:
    out = copy.deepcopy(predictions)
    render_recommendation_patches(out, project, workers)
    return out


def test_workers_render_the_same_predictions_as_in_process(plan: tuple[Path, dict],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    project, predictions = plan
    monkeypatch.setattr(patch_workers, "WAIT_S", patch_workers.RENDER_TIMEOUT_S)  # only the workers render
    alone = _rendered(predictions, project, None)
    patches = [p["recommendation"]["patch"] for p in alone.values() if (p.get("recommendation") or {}).get("patch")]
    assert len(patches) > 50 and all(patch.startswith("--- a/services/") for patch in patches)
    with PatchWorkers(project, 2) as workers:
        first = _rendered(predictions, project, workers)
        second = _rendered(predictions, project, workers)  # the same workers, a second render
        assert workers.rendered_here == 0
    assert first == alone and second == alone
    assert list(first) == list(alone)


def _one_recommendation(project: Path, file: str, line: int, path: list, value: object) -> dict:
    return {"recommendation": {"edits": {"file": file, "line": line,
                                         "changes": [{"path": path, "value": value, "quote": False}]}}}


def test_workers_see_every_change_and_report_every_error_as_in_process(tmp_path: Path) -> None:
    services = tmp_path / "services"
    services.mkdir()
    (services / "a.yaml").write_text("kind: Function\nspec:\n  memoryMib: 1024  # sized by hand\n")
    (services / "two.yaml").write_text("kind: Function\nspec: {memoryMib: 256}\n---\n# second\nkind: Function\n"
                                       "spec:\n  memoryMib: 512\n")
    (services / "bad.yaml").write_text("kind: [unclosed\n")
    (services / "list.yaml").write_text("- 1\n- 2\n")
    predictions = {
        "a": _one_recommendation(tmp_path, "services/a.yaml", 1, ["spec", "memoryMib"], 448),
        "two-1": _one_recommendation(tmp_path, "services/two.yaml", 1, ["spec", "memoryMib"], 128),
        "two-2": _one_recommendation(tmp_path, "services/two.yaml", 4, ["spec", "memoryMib"], 384),
        "bad": _one_recommendation(tmp_path, "services/bad.yaml", 1, ["spec", "memoryMib"], 1),
        "list": _one_recommendation(tmp_path, "services/list.yaml", 1, ["spec"], 1),
        "gone": _one_recommendation(tmp_path, "services/gone.yaml", 1, ["spec"], 1),
        "none": {"recommendation": None},
    }
    with PatchWorkers(tmp_path, 2) as workers:
        _rendered(predictions, tmp_path, workers)
        (services / "a.yaml").write_text("kind: Function\nspec:\n  memoryMib: 2048  # changed since\n")
        parallel = _rendered(predictions, tmp_path, workers)
    alone = _rendered(predictions, tmp_path, None)
    assert parallel == alone
    assert "+  memoryMib: 448   # changed since\n" in alone["a"]["recommendation"]["patch"]
    assert "-spec: {memoryMib: 256}\n+spec: {memoryMib: 128}\n" in alone["two-1"]["recommendation"]["patch"]
    assert "+  memoryMib: 384\n" in alone["two-2"]["recommendation"]["patch"]
    assert "services/bad.yaml: not valid YAML" in alone["bad"]["recommendation"]["patch_error"]
    assert "not a mapping" in alone["list"]["recommendation"]["patch_error"]
    assert "cannot read the declaration" in alone["gone"]["recommendation"]["patch_error"]
    assert alone["none"] == {"recommendation": None}


def test_a_dead_worker_is_rendered_in_process_and_close_stops_them(plan: tuple[Path, dict]) -> None:
    project, predictions = plan
    workers = PatchWorkers(project, 2)
    pids = [proc.pid for proc, _ in workers._workers]
    try:
        os.killpg(pids[0], signal.SIGKILL)
        assert _rendered(predictions, project, workers) == _rendered(predictions, project, None)
    finally:
        workers.close()
    assert not [pid for pid in pids if _alive(pid)]
    workers.close()  # again: nothing left to stop
    assert workers.render([("k", "services/fn-0000.yaml", 1, {})]) == {}  # closed: the caller renders


def test_preflight_renders_while_it_waits_for_the_workers(plan: tuple[Path, dict],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project, predictions = plan
    monkeypatch.setattr(patch_workers, "WAIT_S", 0)  # never wait for a worker: both sides render
    with PatchWorkers(project, 2) as workers:
        shared = _rendered(predictions, project, workers)
        assert workers.rendered_here > 0
        again = _rendered(predictions, project, workers)  # the stopped workers' late answers are not mixed in
    assert shared == _rendered(predictions, project, None) == again


def test_many_round_trip_patches_start_their_own_workers(plan: tuple[Path, dict],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    project, predictions = plan
    started: list[int] = []
    real = PatchWorkers.__init__

    def counting(self: PatchWorkers, project_dir: Path, count: int) -> None:
        started.append(count)
        real(self, project_dir, count)

    monkeypatch.setattr(PatchWorkers, "__init__", counting)
    alone = _rendered(predictions, project, None)
    wanted = sum(1 for p in predictions.values() if (p.get("recommendation") or {}).get("edits"))
    out = copy.deepcopy(predictions)
    monkeypatch.setattr(recommendations, "PATCH_WORKERS_FROM", wanted + 1)
    render_recommendation_patches(out, project, start_workers=2)
    assert started == [] and out == alone  # fewer than PATCH_WORKERS_FROM left: rendered in-process
    monkeypatch.setattr(recommendations, "PATCH_WORKERS_FROM", wanted)
    out = copy.deepcopy(predictions)
    render_recommendation_patches(out, project, start_workers=2)
    assert started == [2] and out == alone
