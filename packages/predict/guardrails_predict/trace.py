"""Read the Azure Functions 2019 trace subsets (vHive samples) into one record per function.

Accepted layouts (see /work/shared/data/serverless-trace/PROVENANCE.md): a folder holding
`invocations.csv` + `durations.csv` + `memory.csv` (raw 2019 headers, with Trigger), a folder holding
`400_inv.csv` + `400_run.csv` + `400_mem.csv` (vHive sampler output, no Trigger), or a parent folder
holding either or both. Errors name the file and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MINUTES_PER_DAY = 1440
HOURS_PER_MONTH = 730  # the month every price in this project uses
TRIGGERS = ("http", "queue", "event", "timer", "storage", "orchestration", "others")


class TraceError(ValueError):
    """The trace folder or one of its files does not have the expected shape."""


@dataclass(frozen=True)
class FunctionTrace:
    function_id: str
    trigger: str | None  # None when the sample dropped the column
    memory_mb: float  # app-level average allocated memory (the only memory figure in the trace)
    mean_duration_ms: float  # excludes cold start (trace README)
    per_minute: np.ndarray  # invocations per minute over one day (1440 values)

    @property
    def daily_invocations(self) -> float:
        return float(self.per_minute.sum())

    @property
    def monthly_invocations(self) -> float:
        return self.daily_invocations * HOURS_PER_MONTH / 24

    @property
    def burstiness(self) -> float:
        """Peak minute / mean minute (1 = flat; 1440 = a single busy minute)."""
        mean = self.per_minute.mean()
        return float(self.per_minute.max() / mean) if mean > 0 else 1.0

    @property
    def peak_concurrency(self) -> float:
        """Little's law on the busiest minute: requests/s in that minute x mean duration (s)."""
        return float(self.per_minute.max()) / 60.0 * self.mean_duration_ms / 1000.0


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            return header, [row for row in reader if row]
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror})") from exc
    except StopIteration as exc:
        raise TraceError(f"{path}: empty file (expected a CSV header)") from exc


def _column(path: Path, header: list[str], name: str) -> int:
    if name not in header:
        raise TraceError(f"{path}: missing column {name!r} (have {header[:6]}...)")
    return header.index(name)


def _number(path: Path, row_no: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise TraceError(f"{path}: row {row_no}, column {column!r}: not a number: {text!r}") from exc
    if not np.isfinite(value) or value < 0:
        raise TraceError(f"{path}: row {row_no}, column {column!r}: must be a finite number >= 0, got {text!r}")
    return value


def _minute_series(path: Path, header: list[str], row: list[str], first: int, row_no: int) -> np.ndarray:
    cells = row[first : first + MINUTES_PER_DAY]
    if len(cells) != MINUTES_PER_DAY:
        raise TraceError(f"{path}: row {row_no}: expected {MINUTES_PER_DAY} per-minute columns, got {len(cells)}")
    return np.array([_number(path, row_no, header[first + i], c) for i, c in enumerate(cells)], dtype=np.float64)


def _values_by(path: Path, header: list[str], rows: list[list[str]], key: str, value: str) -> dict[str, float]:
    """`{row[key]: float(row[value])}` for a per-function table, errors naming file, row and column."""
    k, v = _column(path, header, key), _column(path, header, value)
    return {r[k]: _number(path, i + 2, value, r[v]) for i, r in enumerate(rows)}


def _load_raw_layout(folder: Path) -> list[FunctionTrace]:
    inv_path, dur_path, mem_path = folder / "invocations.csv", folder / "durations.csv", folder / "memory.csv"
    inv_h, inv_rows = _rows(inv_path)
    dur_h, dur_rows = _rows(dur_path)
    mem_h, mem_rows = _rows(mem_path)
    durations = _values_by(dur_path, dur_h, dur_rows, "HashFunction", "Average")
    memory = _values_by(mem_path, mem_h, mem_rows, "HashFunction", "AverageAllocatedMb")
    i_fn, i_trig, first = (_column(inv_path, inv_h, c) for c in ("HashFunction", "Trigger", "1"))
    out = []
    for i, row in enumerate(inv_rows):
        fn = row[i_fn]
        if fn not in durations or fn not in memory:
            raise TraceError(f"{inv_path}: row {i + 2}: function {fn[:12]}... has no row in durations/memory")
        trigger = row[i_trig].strip().lower()
        out.append(FunctionTrace(fn, trigger if trigger in TRIGGERS else "others", memory[fn], durations[fn],
                                 _minute_series(inv_path, inv_h, row, first, i + 2)))
    return out


def _load_sampled_layout(folder: Path) -> list[FunctionTrace]:
    inv_path, run_path, mem_path = folder / "400_inv.csv", folder / "400_run.csv", folder / "400_mem.csv"
    inv_h, inv_rows = _rows(inv_path)
    run_h, run_rows = _rows(run_path)
    mem_h, mem_rows = _rows(mem_path)
    # The sampler collapsed the ids (HashOwner == HashApp == HashFunction), so join on the app hash.
    durations = _values_by(run_path, run_h, run_rows, "HashFunction", "Average")
    memory = _values_by(mem_path, mem_h, mem_rows, "HashApp", "AverageAllocatedMb")
    i_fn, first = _column(inv_path, inv_h, "HashFunction"), _column(inv_path, inv_h, "minute_1")
    out = []
    for i, row in enumerate(inv_rows):
        fn = row[i_fn]
        if fn not in durations or fn not in memory:
            raise TraceError(f"{inv_path}: row {i + 2}: function {fn[:12]}... has no row in 400_run/400_mem")
        series = _minute_series(inv_path, inv_h, row, first, i + 2)
        out.append(FunctionTrace(fn, None, memory[fn], durations[fn], series))
    return out


def load_trace(path: Path) -> list[FunctionTrace]:
    """All functions under `path`, sorted by id (row order fixed => deterministic training)."""
    path = Path(path)
    if not path.is_dir():
        raise TraceError(f"{path}: trace folder not found")
    folders = [path] + sorted(p for p in path.iterdir() if p.is_dir())
    functions: list[FunctionTrace] = []
    for folder in folders:
        if (folder / "invocations.csv").exists():
            functions += _load_raw_layout(folder)
        elif (folder / "400_inv.csv").exists():
            functions += _load_sampled_layout(folder)
    if not functions:
        raise TraceError(f"{path}: no trace files found (expected invocations.csv/durations.csv/memory.csv "
                         "or 400_inv.csv/400_run.csv/400_mem.csv here or one level below)")
    by_id: dict[str, FunctionTrace] = {}
    for fn in functions:
        by_id.setdefault(fn.function_id, fn)  # a function present in both samples counts once
    usable = [f for f in by_id.values() if f.daily_invocations > 0 and f.mean_duration_ms > 0]
    return sorted(usable, key=lambda f: f.function_id)
