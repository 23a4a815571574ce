"""Progress of a long preview on stderr: phase, counts, elapsed time and an ETA.

On a terminal one live line (rich status, redrawn a few times a second); elsewhere (CI logs, `2> file`) plain
timed lines, one when a phase starts and a heartbeat while it runs, so a log never sits silent for minutes.
The ETA comes from how long the same phase took per item on the previous run of this project (kept in
`.preflight-cache/progress.json`); without that history no ETA is shown rather than a made-up one.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType

from rich.console import Console

HISTORY_FILE = Path(".preflight-cache") / "progress.json"
HEARTBEAT_SECONDS = 10.0  # plain-line mode: "still running" at most this often


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"


class Progress:
    """`with Progress(console, project_dir) as progress: progress.phase("analysing", done=0, total=4502, unit=...)`"""

    def __init__(self, console: Console, project_dir: Path, *, enabled: bool = True,
                 live: bool | None = None, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.console = console
        self.enabled = enabled
        self.live = console.is_terminal if live is None else live
        self.heartbeat = heartbeat
        self.history_path = Path(project_dir) / HISTORY_FILE
        self.history = self._read_history()
        self.started = time.perf_counter()
        self._phase: tuple[str, str, int | None, float] | None = None  # key, label, count, started
        self._done = 0  # items of the current phase finished so far (advance), for "N/M" and a measured rate
        self._unit = ""
        self._timings: dict[str, float] = {}  # phase key -> seconds per item measured now
        self._status = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------------------------
    def phase(self, label: str, *, key: str | None = None, count: int | None = None, unit: str = "") -> None:
        """Start a phase (ending the previous one). `count` items of `unit` (e.g. 4502 resources) give the ETA."""
        if not self.enabled:
            return
        with self._lock:
            self._finish_phase()
            text = f"{label}" + (f" ({count:,} {unit})" if count is not None and unit else "")
            self._phase = (key or label, text, count, time.perf_counter())
            self._done, self._unit = 0, unit or "done"
        self._show(initial=True)

    def advance(self, items: int = 1) -> None:
        """`items` more of the current phase are finished (thread-safe; the engines call it per declaration or
        per analysed resource): the line then shows N/M and an ETA from the rate measured in this run."""
        if not self.enabled:
            return
        with self._lock:
            self._done += items

    def __call__(self, message: str) -> None:
        """The engines' progress callback: each message starts a phase."""
        self.phase(message)

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        if self.live:
            self._status = self.console.status("preflight", spinner="dots")
            self._status.__enter__()
        self._ticker = threading.Thread(target=self._tick, name="preflight-progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if not self.enabled:
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            self._finish_phase()
        if self._status is not None:
            self._status.__exit__(kind, error, trace)
        if kind is None:
            self._write_history()
            self.console.print(f"[preflight {_seconds(self.elapsed())}] done", highlight=False, markup=False,
                               soft_wrap=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def eta(self) -> float | None:
        """Seconds left in the current phase: from this run's own rate once a twentieth of the items is done (and
        a second has passed), else from the previous run's time per item; None when neither is known."""
        if self._phase is None:
            return None
        key, _, count, started = self._phase
        if count is None:
            return None
        in_phase = time.perf_counter() - started
        if count and self._done >= max(1, count // 20) and in_phase >= 1:
            return max(0.0, in_phase / self._done * (count - self._done))
        per_item = self.history.get(key)
        if per_item is None:
            return None
        return max(0.0, per_item * count - in_phase)

    def line(self) -> str:
        if self._phase is None:
            return f"[preflight {_seconds(self.elapsed())}] starting"
        _, text, count, started = self._phase
        parts = [f"[preflight {_seconds(self.elapsed())}] {text}"]
        in_phase = time.perf_counter() - started
        if self._done and count:
            parts.append(f"{min(self._done, count):,}/{count:,} {self._unit}")
        if in_phase >= 1:
            parts.append(f"{_seconds(in_phase)} in this step")
        eta = self.eta()
        if eta is not None:
            if eta >= 1:
                parts.append(f"ETA ~{_seconds(eta)}")
            else:
                parts.append("ETA <1s" if eta > 0 else "ETA: any moment (slower than last run)")
        return " · ".join(parts)

    # -- internals --------------------------------------------------------------------------------------------
    def _show(self, initial: bool = False) -> None:
        line = self.line()
        if self._status is not None:
            self._status.update(line)
        elif initial:
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)
        else:
            self.console.print(line + " · still running", highlight=False, markup=False, soft_wrap=True)

    def _tick(self) -> None:
        interval = 0.25 if self.live else self.heartbeat
        while not self._stop.wait(interval):
            with self._lock:
                if self._phase is not None:
                    self._show()

    def _finish_phase(self) -> None:
        if self._phase is None:
            return
        key, text, count, started = self._phase
        took = time.perf_counter() - started
        if count:
            self._timings[key] = took / count
        if self._done and self._status is None and took >= 1:
            # a log line closing a counted step: what it did and how fast (live mode redraws its line instead)
            self.console.print(f"[preflight {_seconds(self.elapsed())}] {text}: {self._done:,} {self._unit} in "
                               f"{_seconds(took)} ({self._done / took:,.1f}/s)", highlight=False, markup=False,
                               soft_wrap=True)
        self._phase = None

    def _read_history(self) -> dict[str, float]:
        try:
            data = json.loads(self.history_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v >= 0}

    def _write_history(self) -> None:
        if not self._timings:
            return
        try:
            self.history_path.parent.mkdir(exist_ok=True)
            self.history_path.write_text(json.dumps({**self.history, **self._timings}, indent=1, sort_keys=True))
        except OSError:  # a read-only checkout still previews; it just has no ETA next time
            pass
