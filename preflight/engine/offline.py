"""The offline engine: the program under the SDK's mocks (child process) + policy packs over CrossGuard gRPC."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings, read_stack_config
from guardrails_pack.prediction_controls import WARM_ENV

from components.program import DECLARATIONS_ENV, SHARD_ENV, write_declarations
from components.specs.loader import Declaration, declaration_files
from preflight.crossguard import PackSession
from preflight.crossguard.errors import CrossGuardError
from preflight.crossguard.run import SharedWork
from preflight.engine.base import EngineResult, PlannedResource
from preflight.packs import pack_config
from preflight.processes import child_command, child_process_options, kill_child

Progress = Callable[[str], None]
PROJECT = "serverless-guardrails"
# Below this many declarations a second program process costs more than it saves (each imports the SDKs, ~1 s of
# start-up on a loaded 2-core machine); a declaration registers ~4.5 resources, and below ~50 declarations a second
# pack process does not pay for its start-up either.
SPLIT_THRESHOLD = 200
PACK_SPLIT_DECLARATIONS = 50
# At most this many processes per role: more only adds start-up and memory (each pack process holds the plan).
MAX_WORKERS = 8
WORKERS_ENV = "GUARDRAILS_WORKERS"


def available_cores() -> int:
    """The cores this process may run on (a CI container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(requested: int | None = None) -> int:
    """Processes per role (program shards, pack processes per pack): `requested`, else GUARDRAILS_WORKERS, else
    the available cores; at most MAX_WORKERS."""
    if requested is None:
        raw = os.environ.get(WORKERS_ENV, "").strip()
        if raw:
            if not raw.isdigit() or int(raw) < 1:
                raise ValueError(f"{WORKERS_ENV}={raw!r}: expected a whole number >= 1")
            requested = int(raw)
    return max(1, min(MAX_WORKERS, requested or available_cores()))


class ProgramError(Exception):
    """The program could not produce a plan (invalid declarations, a crash); nothing should be previewed."""


def run_program_child(project_dir: Path, stack: str, *, timeout: float = 600.0,
                      part: tuple[int, int] = (0, 1), declarations_file: Path | None = None) -> list[PlannedResource]:
    """Run the program in a child process (its own process group, killed on Ctrl-C or timeout).
    `part=(i, n)`: the child registers every n-th declaration starting at i (see components.program.SHARD_ENV).
    `declarations_file`: the already loaded declarations (components.program.write_declarations) instead of the
    child reading services/ again."""
    with tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        out = Path(tmp) / "plan.pickle"
        command = [sys.executable, "-m", "preflight.engine.program_child", str(project_dir), stack, str(out)]
        env = {**os.environ, SHARD_ENV: f"{part[0]}/{part[1]}"}
        env.pop(DECLARATIONS_ENV, None)
        if declarations_file is not None:
            env[DECLARATIONS_ENV] = str(declarations_file)
        child = subprocess.Popen(child_command(command), cwd=project_dir, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env, **child_process_options())
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_child(child)
            raise ProgramError(f"the program did not finish within {timeout:.0f}s") from None
        except BaseException:  # Ctrl-C included: never leave the child behind
            kill_child(child)
            raise
        if child.returncode == 3 and out.exists():
            raise ProgramError(pickle.loads(out.read_bytes())["error"])
        if child.returncode != 0 or not out.exists():
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise ProgramError(f"the program crashed (exit {child.returncode}):\n{tail}")
        return pickle.loads(out.read_bytes())["resources"]


def pack_process_count(declarations: int, workers: int) -> int:
    """Processes per pack for a plan of `declarations`: one per worker from PACK_SPLIT_DECLARATIONS on."""
    return workers if declarations >= PACK_SPLIT_DECLARATIONS else 1


class PackStarts:
    """The pack processes of a run, started at once, each by its own thread (concurrently, and possibly before the
    declarations are even read: preflight starts them while it validates, when the engine is sure to be this
    one). A starting thread lives until `close`: a child's PR_SET_PDEATHSIG fires when the thread that started it
    exits (preflight.processes). Only the first process of a pack gets AnalyzeStack: the others need not load the
    prediction stack."""

    def __init__(self, pack_dirs: Sequence[Path], processes: int, *, stack: str, stack_config: Mapping[str, Any],
                 call_timeout: float = 60.0) -> None:
        self.processes = processes
        self._stop = threading.Event()
        self._started: dict[Path, list[Future[PackSession]]] = {}
        self._threads: list[threading.Thread] = []
        for pack_dir in pack_dirs:
            for i in range(processes):
                started: Future[PackSession] = Future()
                self._started.setdefault(pack_dir, []).append(started)
                try:
                    session = PackSession(pack_dir, stack=stack, project=PROJECT, dry_run=True,
                                          stack_config=stack_config, call_timeout=call_timeout,
                                          extra_env=None if i == 0 else {WARM_ENV: "0"})
                except CrossGuardError as exc:  # not a pack folder: reported like a pack that cannot start
                    started.set_exception(exc)
                    continue
                thread = threading.Thread(target=self._hold, args=(session, started), daemon=True,
                                          name=f"preflight-pack-{pack_dir.name}-{i}")
                self._threads.append(thread)
                thread.start()

    def _hold(self, session: PackSession, started: Future[PackSession]) -> None:
        try:
            with session:
                started.set_result(session)
                self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the sessions
            if not started.done():
                started.set_exception(exc)

    def sessions(self, pack_dir: Path) -> list[PackSession]:
        """The pack's started sessions (waiting for them); CrossGuardError when one could not start."""
        return [started.result() for started in self._started[pack_dir]]

    def stop(self) -> None:
        """Let every pack process stop (each by the thread that started it), without waiting for it."""
        self._stop.set()

    def close(self) -> None:
        """Stop every pack process and wait until each is gone; safe to call more than once."""
        self.stop()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> PackStarts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_packs(project_dir: Path, stack: str, pack_dirs: Sequence[Path], declarations: int,
                workers: int | None = None) -> PackStarts:
    """The pack processes for a plan of `declarations` (see PackStarts), started now."""
    return PackStarts(pack_dirs, pack_process_count(declarations, worker_count(workers)), stack=stack,
                      stack_config=read_stack_config(project_dir, stack))


def run_offline(
    project_dir: Path,
    stack: str,
    settings: StackSettings,
    pack_dirs: Sequence[Path],
    *,
    progress: Progress = lambda message: None,
    call_timeout: float = 60.0,
    workers: int | None = None,
    declarations: list[Declaration] | None = None,
    overrides: Mapping[str, str] | None = None,
    started: PackStarts | None = None,
) -> EngineResult:
    """Plan with mocks, then every pack analyses it. Pack failures become `errors` (they block the gate).

    `declarations`: what the caller already loaded (and validated) for this project, stack and settings; the
    program processes then use them instead of reading and parsing services/ again (once per process).

    `started`: the pack processes, started ahead by the caller (for these `pack_dirs`), else started here.

    The pack processes start while the program runs; on a machine with more than one core each pack gets
    `workers` processes that share the per-resource Analyze calls (AnalyzeStack runs once, over everything, in the
    first process while the others take the per-resource calls)."""
    stack_config = read_stack_config(project_dir, stack)
    workers = worker_count(workers)
    result = EngineResult(engine="offline", stack=stack)
    count = (len(declarations) if declarations is not None
             else len(declaration_files(Path(project_dir) / settings.services_dir)))
    # Sized to the cores and the plan: an idle extra process would still take a core for its start-up.
    shards = min(workers, max(1, count // (SPLIT_THRESHOLD // 2))) if count >= SPLIT_THRESHOLD else 1
    with ExitStack() as open_sessions:
        if started is None:
            started = open_sessions.enter_context(PackStarts(pack_dirs, pack_process_count(count, workers),
                                                             stack=stack, stack_config=stack_config,
                                                             call_timeout=call_timeout))
        return _run_offline(project_dir, stack, settings, pack_dirs, result, started, shards, progress=progress,
                            declarations=declarations, overrides=overrides)


def _run_offline(project_dir: Path, stack: str, settings: StackSettings, pack_dirs: Sequence[Path],
                 result: EngineResult, started: PackStarts, shards: int, *, progress: Progress,
                 declarations: list[Declaration] | None, overrides: Mapping[str, str] | None) -> EngineResult:
    pack_processes = started.processes
    progress(f"running the program under Pulumi mocks ({shards} process(es); policy packs starting meanwhile, "
             f"{pack_processes} process(es) each)")
    with ThreadPoolExecutor(max_workers=shards + pack_processes) as pool, ExitStack() as open_sessions:
        handed: Path | None = None
        if declarations is not None:
            handed = Path(open_sessions.enter_context(tempfile.TemporaryDirectory(prefix="preflight-"))) / "decl"
            write_declarations(handed, Path(project_dir), stack, declarations)
        planned = [pool.submit(run_program_child, project_dir, stack, part=(i, shards), declarations_file=handed)
                   for i in range(shards)]
        sessions: dict[Path, list[PackSession]] = {}
        for pack_dir in pack_dirs:
            try:
                sessions[pack_dir] = started.sessions(pack_dir)
            except CrossGuardError as exc:
                result.errors.append(str(exc))
        # ProgramError propagates: nothing to analyse. Shards hold disjoint components; their union is the plan.
        # Every shard registers the same default providers: keep one of each.
        result.resources = list({r.urn: r for shard in planned for r in shard.result()}.values())
        for pack_dir, pack_sessions in sessions.items():
            used = pack_sessions
            progress(f"policy pack {pack_dir.name}: {len(result.resources)} resources, {len(used)} process(es)")
            config = pack_config(pack_dir, settings, Path(project_dir).resolve(), overrides=overrides)
            work = SharedWork(result.resources) if len(used) > 1 else None
            parts = [pool.submit(session.run, result.resources, config, part=(i, len(used)), work=work,
                                 on_analyzed=getattr(progress, "advance", None)) for i, session in enumerate(used)]
            runs = [part.result() for part in parts]
            for run in runs:
                result.findings.extend(run.findings)
                result.remediations.extend(run.remediations)
                result.errors.extend(run.errors)
            info = used[0].info
            if info is not None:
                result.policies.update({(runs[0].pack, name): meta for name, meta in info.policies.items()})
    return result
