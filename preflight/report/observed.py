"""What `preflight observe` measured, beside what the preview predicts (`observed` in the report).

`preflight observe` keeps its findings in `out/observe/<stack>/observe.json`; `preview` picks that file up (or the
one named by `--observed`) and the reports show, per service, how the deploy-time prediction compared with the
observed days (P10–P90 coverage, bias, drifted or not, with the advice), and the anomalies, idle findings and
proposals with their evidence. One observed figure is also a prediction input: a function's mean provisioned-
concurrency utilisation (`observed_pc_inputs`), which its Lambda cost then uses. The observe document is read,
validated for the fields used, and summarised; its own file stays the full record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guardrails_core.safe_input import UnsafeInputError, json_input_problem, read_json_bounded
from guardrails_predict.observed import ObservedPcUtilisation

OBSERVE_SCHEMA = "preflight-observe/v1"
PC_MEASUREMENT = "provisioned_concurrency_utilisation_mean"  # preflight observe's mean of the hourly Average


class ObservedReportError(ValueError):
    """An observe document that cannot be used (names the file and what is wrong)."""


def default_observed_path(project_dir: Path, stack: str) -> Path:
    return Path(project_dir) / "out" / "observe" / stack / "observe.json"


def load_observed(path: Path, *, stack: str, label: str) -> dict[str, Any]:
    """The report's `observed` section from an observe document for `stack`."""
    if not path.exists():
        raise ObservedReportError(f"{path}: --observed: no such file (the observe.json `preflight observe` writes)")
    try:
        doc = read_json_bounded(path)
    except UnsafeInputError as exc:
        raise ObservedReportError(json_input_problem(path, "--observed", exc)) from None
    if not isinstance(doc, dict) or doc.get("schema") != OBSERVE_SCHEMA:
        raise ObservedReportError(f"{path}: --observed: field 'schema' must be {OBSERVE_SCHEMA!r} "
                                  "(the observe.json that `preflight observe` writes)")
    if doc.get("stack") != stack:
        raise ObservedReportError(f"{path}: --observed: observations of stack {doc.get('stack')!r}, not {stack!r}")
    services = doc.get("services") if isinstance(doc.get("services"), dict) else {}
    summary: dict[str, Any] = {}
    for name, entry in sorted(services.items()):
        monitoring = entry.get("model_monitoring") if isinstance(entry, dict) else None
        monitoring = monitoring if isinstance(monitoring, dict) else {"status": "missing", "reason": "not recorded"}
        bands = {key: {k: band.get(k) for k in ("predicted", "observed_median", "coverage", "bias", "drifted")}
                 for key, band in (monitoring.get("bands") or {}).items()
                 if isinstance(band, dict) and "coverage" in band}
        summary[name] = {"status": str(monitoring.get("status", "missing")), "bands": bands,
                         "reason": monitoring.get("reason"), "advice": monitoring.get("advice"),
                         "workload_source": monitoring.get("workload_source")}
        if (pc := _pc_utilisation(path, name, entry)) is not None:
            summary[name]["pc_utilisation"] = pc

    def saving(value: Any) -> float | None:  # idle findings give a figure, proposals a P10/P50/P90 band: its P50
        value = value.get("p50") if isinstance(value, dict) else value
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def listed(key: str, text: str) -> list[dict[str, Any]]:
        items = doc.get(key) if isinstance(doc.get(key), list) else []
        return [{"service": str(i.get("service", "?")), "text": str(i.get(text, "")),
                 "saving_usd_month": saving(i.get("saving_usd_month"))} for i in items if isinstance(i, dict)]

    window = doc.get("window") if isinstance(doc.get("window"), dict) else {}
    return {"source": label, "generated_at": str(doc.get("generated_at", "")),
            "window": f"{window.get('start', '?')}/{window.get('end', '?')}", "services": summary,
            "anomalies": listed("anomalies", "message"), "idle": listed("idle", "message"),
            "proposals": listed("proposals", "title")}


def _pc_utilisation(path: Path, name: str, entry: Any) -> dict[str, Any] | None:
    """The measured mean provisioned-concurrency utilisation of a function ({value, window}), if observe has one."""
    measurements = entry.get("measurements") if isinstance(entry, dict) else None
    found = (measurements or {}).get(PC_MEASUREMENT) if isinstance(measurements, dict) else None
    if not isinstance(found, dict) or found.get("value") is None:
        return None  # not measured (no PC, no data): the prediction keeps its documented assumption
    value = found["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ObservedReportError(f"{path}: --observed: services.{name}.measurements.{PC_MEASUREMENT}.value must be "
                                  f"a share within 0..1, got {value!r}")
    return {"value": float(value), "window": str(found.get("window", "?"))}


def observed_pc_inputs(observed: dict[str, Any] | None) -> dict[str, ObservedPcUtilisation]:
    """The prediction inputs in an `observed` section: service -> its observed PC utilisation."""
    if not observed:
        return {}
    measured_on = observed["generated_at"][:10] or "undated"
    return {name: ObservedPcUtilisation(entry["pc_utilisation"]["value"], entry["pc_utilisation"]["window"],
                                        measured_on, observed["source"])
            for name, entry in observed["services"].items() if entry.get("pc_utilisation")}


def observed_sentence(observed: dict[str, Any]) -> str:
    statuses = [s["status"] for s in observed["services"].values()]
    return (f"observed {observed['window']} ({observed['source']}): {statuses.count('ok')} service(s) as predicted, "
            f"{statuses.count('drifted')} drifted, {statuses.count('missing')} without enough data; "
            f"{len(observed['anomalies'])} cost anomal{'y' if len(observed['anomalies']) == 1 else 'ies'}, "
            f"{len(observed['idle'])} idle finding(s), {len(observed['proposals'])} proposal(s)")
