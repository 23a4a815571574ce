"""`preflight train workload --history`: usage histories produced by the real observe path (moto's CloudWatch read
by `CloudWatchReader`, written by `usage_history` exactly as `preflight observe` writes them) retrain the workload
model into a folder of the user's choosing, with provenance, held-out metrics and the baseline fallback said."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from guardrails_predict.model_store import DEFAULT_MODELS_DIR

from preflight.observe.cloudwatch import CloudWatchReader, cloudwatch_client
from preflight.observe.history import usage_history
from preflight.observe.model import Window
from preflight.train_cli import main as train_main
from tests.observe.helpers import END, put_lambda
from tests.predict.conftest import TRACE

REGION = "eu-west-1"
SERVICES = {"emb": (2000, 180.0, 1024, "queue"), "rerank": (300, 90.0, 512, "http")}  # per hour, ms, MB, trigger


@pytest.fixture(scope="module")
def histories(moto_server, tmp_path_factory) -> dict[str, Path]:
    """One usage-history file per function, from 14 days of CloudWatch data."""
    out = tmp_path_factory.mktemp("observe") / "usage-history"
    out.mkdir()
    with pytest.MonkeyPatch.context() as env:
        moto_server.reset()
        for key, value in moto_server.env().items():
            env.setenv(key, value)
        reader = CloudWatchReader(cloudwatch_client(REGION), REGION)
        window = Window(END - timedelta(days=14), END, 3600)
        files = {}
        for name, (per_hour, ms, memory, trigger) in SERVICES.items():
            put_lambda(name, days=14, region=REGION, invocations=lambda h, n=per_hour: n * (1 + (h % 24 > 8)),
                       duration_ms=lambda h, d=ms: d, concurrency=lambda h: 3.0)
            seen = reader.observe(name, f"services/{name}.yaml", window)
            doc, why_not = usage_history(seen, REGION, {"memoryMb": memory, "trigger": trigger})
            assert doc is not None, why_not
            files[name] = out / f"{name}.yaml"
            files[name].write_text(yaml.safe_dump(doc, sort_keys=False))  # as observe_cli writes it
    return files


def _train(*args: str) -> int:
    if not TRACE.exists():
        pytest.skip("the shared serverless trace is not mounted here")
    return train_main(["train", "workload", "--trace", str(TRACE), "--max-functions", "60", "--seed", "11", *args])


def test_observed_history_retrains_into_the_chosen_folder_with_provenance(histories, tmp_path: Path,
                                                                          capsys) -> None:
    shipped = {p.name: p.read_bytes() for p in Path(DEFAULT_MODELS_DIR).iterdir() if p.is_file()}
    out = tmp_path / "models"
    args = [a for name in sorted(histories) for a in ("--history", str(histories[name]))]
    assert _train(*args, "--out", str(out)) == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)["metrics"]
    observed = metrics["observed_history"]
    assert observed["services"] == 2 and observed["kinds"] == ["lambda"]
    assert observed["dates"] == {"first": "2026-11-15", "last": "2026-11-28"}
    emb = next(f for f in observed["files"] if f["service"] == "emb")
    assert emb["path"] == str(histories["emb"]) and emb["days"] == 14 and len(emb["sha256"]) == 64
    assert emb["row"]["memory_mb"] == 1024 and emb["row"]["mean_duration_ms"] == 180.0
    # the median day: 9 hours at 2000/h and 15 at 4000/h = 78,000 requests, x 730/24 a month
    assert emb["row"]["requests_per_month"] == pytest.approx(78_000 * 730 / 24)
    assert metrics["train_functions"] + metrics["held_out_functions"] == 33 + 16 + 2  # the trace's, + 2 services
    for target in metrics["targets"].values():  # held-out scores against the baseline, with their intervals
        for row in target["held_out"].values():
            assert set(row["difference_model_minus_baseline"]) == {"estimate", "ci95"}
    # where the retrained model loses to its baseline it says so, and preview uses the baseline there
    for item in metrics["not_beating_baseline"]:
        assert f"  {item}: the retrained model does not beat its baseline" in captured.err
    assert "2 observed service(s) added (2026-11-15 .. 2026-11-28)" in captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"workload-requests", "capacity-risk", "change-risk"} <= set(manifest["models"])  # a usable folder
    assert json.loads((out / "metrics.json").read_text())["workload"]["observed_history"] == observed
    assert {p.name: p.read_bytes() for p in Path(DEFAULT_MODELS_DIR).iterdir() if p.is_file()} == shipped
    assert _train(*args, "--out", str(tmp_path / "again")) == 0  # reproducible: the same bytes again
    for name in ("workload-requests", "workload-duration", "workload-burstiness"):
        assert (out / f"{name}.ubj").read_bytes() == (tmp_path / "again" / f"{name}.ubj").read_bytes()
        assert (out / f"{name}.ubj").read_bytes() != shipped[f"{name}.ubj"]


def test_the_shipped_models_are_never_the_default_output(histories, capsys) -> None:
    assert _train("--history", str(histories["emb"])) == 2
    assert "--history needs --out DIR" in capsys.readouterr().err
    assert _train("--history", str(histories["emb"]), "--out", str(DEFAULT_MODELS_DIR)) == 2
    assert "pass --replace-shipped to overwrite it" in capsys.readouterr().err


def _broken(source: Path, target: Path, change) -> Path:
    doc = yaml.safe_load(source.read_text())
    change(doc)
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


@pytest.mark.parametrize(("change", "needle"), [
    (lambda d: d["samples"][3].pop("meanDurationMs"), "samples[3].meanDurationMs: required"),
    (lambda d: d["samples"][2].update(peakRequestsPerMinute=d["samples"][2]["peakRequestsPerMinute"] / 60),
     "samples[2].peakRequestsPerMinute: "),
    (lambda d: d["samples"][0].update(meanDurationMs=180_000_000), "samples[0].meanDurationMs: 1.8e+08 is not a"),
    (lambda d: d.update(samples=d["samples"][:5]), "field 'samples' needs at least 7 daily samples"),
    (lambda d: d["observed"].pop("declared"), "field 'observed.declared' missing"),
    (lambda d: d["samples"][1].update(date="yesterday"), "samples[1].date: 'yesterday' is not an ISO date"),
])
def test_a_bad_history_is_exit_2_naming_the_file_and_the_field(histories, tmp_path: Path, capsys, change,
                                                              needle: str) -> None:
    bad = _broken(histories["emb"], tmp_path / "bad.yaml", change)
    assert _train("--history", str(bad), "--out", str(tmp_path / "m")) == 2
    err = capsys.readouterr().err
    assert f"preflight train workload: {bad}: " in err and needle in err, err
    assert not (tmp_path / "m").exists()  # nothing written
