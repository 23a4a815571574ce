"""Start a Python policy pack as an analyzer plugin process, the way the Pulumi CLI does.

Since v3.221 the CLI asks the Python language host (`RunPlugin`, kind=analyzer) to start the pack; the host runs
`python -u -m pulumi.policy <engineAddr> <packDir>` with cwd=<packDir> and sets PULUMI_PROJECT, PULUMI_STACK,
PULUMI_DRY_RUN, PULUMI_CONFIG (JSON object of stack config) and PULUMI_ORGANIZATION from the engine's
ConfigureStack. `pulumi.policy` runs the pack's `__main__.py`, whose `PolicyPack(...)` serves the Analyzer
service on 127.0.0.1:<random port> and writes `<port>\\n` to stdout (pulumi_policy/policy.py).

We do the same and also serve a minimal Engine service at <engineAddr> to collect `Log` calls. Note: the
installed `pulumi.policy` entry point parses <engineAddr> but does not hand it to `pulumi.runtime.Settings`,
so `pulumi.log.*` inside a pack writes "warning: ..." / "error: ..." lines to stderr instead; we capture both.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from preflight.crossguard.errors import PackLayoutError, PluginStartError
from preflight.processes import child_command, child_process_options

DEFAULT_START_TIMEOUT_S = 30.0
_STDERR_KEEP_LINES = 400  # enough for a traceback, bounded so a chatty pack cannot eat memory
_MAX_MESSAGE_BYTES = 400 * 1024 * 1024  # the engine and pulumi_policy both raise gRPC limits to 400 MiB
GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
]

_SEVERITY_NAMES = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}


@dataclass(frozen=True)
class LogEntry:
    """One diagnostic line from the pack: an Engine.Log call or a `pulumi.log` line on stderr."""

    severity: str  # debug | info | warning | error
    message: str
    urn: str = ""
    source: str = "engine"  # engine (gRPC Log) | stderr


class _EngineService(engine_pb2_grpc.EngineServicer):
    """The part of the engine a policy pack may call: Log (collected), root resource, version checks."""

    def __init__(self) -> None:
        self.logs: list[LogEntry] = []
        self._lock = threading.Lock()
        self._root_urn = ""

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:  # noqa: N802
        entry = LogEntry(_SEVERITY_NAMES.get(request.severity, "info"), request.message, request.urn, "engine")
        with self._lock:
            self.logs.append(entry)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self._root_urn)

    def SetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()

    def RequirePulumiVersion(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        # Offline there is no CLI version to compare; accept, as `pulumi preview` does for a satisfied range.
        return engine_pb2.RequirePulumiVersionResponse()


def read_pack_manifest(pack_dir: Path) -> dict[str, Any]:
    """PulumiPolicy.yaml, checked the way the CLI's plugin loader checks it."""
    manifest_path = pack_dir / "PulumiPolicy.yaml"
    pack = str(pack_dir)
    if not pack_dir.is_dir():
        raise PackLayoutError(pack, "load", f"{pack_dir} is not a directory")
    if not manifest_path.is_file():
        raise PackLayoutError(pack, "load", f"{manifest_path} is missing (a policy pack needs PulumiPolicy.yaml)")
    try:
        manifest = yaml.safe_load(manifest_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PackLayoutError(pack, "load", f"{manifest_path}: not valid YAML: {exc}") from exc
    if not isinstance(manifest, dict):
        raise PackLayoutError(pack, "load", f"{manifest_path}: expected a mapping at the top level")
    runtime = manifest.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise PackLayoutError(
            pack, "load", f"{manifest_path}: field runtime(.name) is {runtime_name!r}; only 'python' is supported"
        )
    if not (pack_dir / "__main__.py").is_file():
        raise PackLayoutError(pack, "load", f"{pack_dir / '__main__.py'} is missing (pulumi.policy runs it)")
    return manifest


def pack_python(pack_dir: Path, manifest: Mapping[str, Any]) -> str:
    """The interpreter the language host would pick: the pack's `virtualenv` option if it exists."""
    runtime = manifest.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if isinstance(venv, str) and venv:
        candidate = (pack_dir / venv / "bin" / "python") if not os.path.isabs(venv) else Path(venv) / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    return sys.executable


_LIVE_GROUPS: set[int] = set()


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def _kill_leftover_groups() -> None:
    # A crash of the driver (or Ctrl-C between start and close) must not leave pack processes behind.
    for pid in list(_LIVE_GROUPS):
        _kill_group(pid, signal.SIGKILL)


class PolicyPackProcess:
    """A running policy pack: its process, its Analyzer channel and the Engine service it logs to.

    Use as a context manager; `close()` kills the whole process group (also on KeyboardInterrupt).
    """

    def __init__(
        self,
        pack_dir: str | os.PathLike[str],
        *,
        project: str,
        stack: str,
        dry_run: bool = True,
        organization: str | None = None,
        stack_config: Mapping[str, Any] | None = None,
        config_secret_keys: list[str] | None = None,
        python: str | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.manifest = read_pack_manifest(self.pack_dir)
        self.pack_label = self.pack_dir.name
        self.python = python or pack_python(self.pack_dir, self.manifest)
        self.project, self.stack, self.dry_run = project, stack, dry_run
        self.organization = organization
        self.stack_config = dict(stack_config or {})
        self.config_secret_keys = list(config_secret_keys or [])
        self.start_timeout = start_timeout
        self._extra_env = dict(extra_env or {})
        self._engine = _EngineService()
        self._engine_server: grpc.Server | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout_lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_KEEP_LINES)
        self._stderr_logs: list[LogEntry] = []  # pulumi.log-style lines, kept whole (they are diagnostics)
        self._stderr_last_read = time.monotonic()
        self._stdout_tail: deque[str] = deque(maxlen=_STDERR_KEEP_LINES)
        self._readers: list[threading.Thread] = []
        self.channel: grpc.Channel | None = None
        self.address: str | None = None
        self.engine_address: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> PolicyPackProcess:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def environment(self) -> dict[str, str]:
        """The environment the language host's policy proxy gives the pack (legacy PULUMI_* variables)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")}
        env.update(self._extra_env)
        env["PULUMI_PROJECT"] = self.project
        env["PULUMI_STACK"] = self.stack
        env["PULUMI_DRY_RUN"] = "true" if self.dry_run else "false"
        if self.organization:
            env["PULUMI_ORGANIZATION"] = self.organization
        else:
            env.pop("PULUMI_ORGANIZATION", None)  # pulumi.policy then uses "organization", as for DIY backends
        if self.stack_config:
            env["PULUMI_CONFIG"] = json.dumps({k: config_string(v) for k, v in self.stack_config.items()})
        if self.config_secret_keys:
            env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(self.config_secret_keys)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> None:
        self._start_engine()
        argv = [self.python, "-u", "-m", "pulumi.policy", str(self.engine_address), str(self.pack_dir)]
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - argv is ours, no shell
                child_command(argv),
                cwd=self.pack_dir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,  # unbuffered pipes: "nothing readable" then means the reader has every byte
                # own process group (close() kills the pack and its children) + dies with preflight
                **child_process_options(),
            )
        except OSError as exc:
            raise PluginStartError(self.pack_label, "start", f"cannot run {self.python}: {exc}") from exc
        _LIVE_GROUPS.add(self._proc.pid)
        self._spawn_reader(self._proc.stdout, self._on_stdout_line)
        self._spawn_reader(self._proc.stderr, self._on_stderr_line)
        port = self._wait_for_port()
        self.address = f"127.0.0.1:{port}"
        self.channel = grpc.insecure_channel(self.address, options=GRPC_OPTIONS)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=self.start_timeout)
        except grpc.FutureTimeoutError as exc:
            raise PluginStartError(
                self.pack_label, "start", f"port {port} printed but not connectable within {self.start_timeout:g}s"
            ) from exc

    def _start_engine(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=GRPC_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._engine_server = server
        self.engine_address = f"127.0.0.1:{port}"

    def _spawn_reader(self, stream: Any, on_line: Any) -> None:
        def pump() -> None:
            for raw in iter(stream.readline, b""):
                on_line(raw)
            on_line(None)

        thread = threading.Thread(target=pump, name=f"crossguard-{self.pack_label}-reader", daemon=True)
        thread.start()
        self._readers.append(thread)

    def _on_stdout_line(self, raw: bytes | None) -> None:
        self._stdout_lines.put(raw)
        if raw is not None:
            self._stdout_tail.append(raw.decode(errors="replace").rstrip("\n"))

    def _on_stderr_line(self, raw: bytes | None) -> None:
        if raw is None:
            return
        self._stderr_last_read = time.monotonic()
        line = raw.decode(errors="replace").rstrip("\n")
        self._stderr_tail.append(line)
        for prefix in ("error", "warning", "info", "debug"):
            if line.startswith(prefix + ": "):
                self._stderr_logs.append(LogEntry(prefix, line[len(prefix) + 2 :], "", "stderr"))
                break

    def _wait_for_port(self) -> int:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PluginStartError(
                    self.pack_label, "start",
                    f"no port on stdout within {self.start_timeout:g}s{self._stderr_suffix()}",
                )
            try:
                raw = self._stdout_lines.get(timeout=min(remaining, 0.25))
            except queue.Empty:
                continue
            if raw is None:  # stdout closed: the process is gone (or closed it, which is as bad)
                code = self._proc.wait(timeout=5)
                raise PluginStartError(
                    self.pack_label, "start", f"exited with code {code} before printing its port{self._stderr_suffix()}"
                )
            text = raw.decode(errors="replace").strip()
            if text.isdigit():
                return int(text)
            # pulumi_policy prints only the port; anything else first is the pack printing at import time.

    # -- state -----------------------------------------------------------------------------------------

    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def logs(self) -> list[LogEntry]:
        """Engine.Log calls plus `pulumi.log`-style lines ("error: ..." / "warning: ...") from stderr."""
        return list(self._engine.logs) + list(self._stderr_logs)

    def settle_stderr(self, quiet_s: float = 0.005, max_wait_s: float = 0.2) -> None:
        """Wait until stderr written before the last reply has been read (pipe empty, reader quiet).

        A policy's `pulumi.log.error(...)` reaches the pipe before its gRPC reply, but our reader thread may
        not have taken it yet; without this an error line could be missed (and errors must block).
        """
        proc = self._proc
        if proc is None or proc.stderr is None or proc.stderr.closed:
            return
        deadline = time.monotonic() + max_wait_s
        while time.monotonic() < deadline:
            try:
                readable = bool(select.select([proc.stderr], [], [], 0)[0])
            except (ValueError, OSError):  # closed under us: nothing more to read
                return
            if not readable and time.monotonic() - self._stderr_last_read >= quiet_s:
                return
            time.sleep(0.001)

    def log_mark(self) -> tuple[int, int]:
        """A position in both log streams, for `logs_since` (one plan's logs in a reused process)."""
        return len(self._engine.logs), len(self._stderr_logs)

    def logs_since(self, mark: tuple[int, int]) -> list[LogEntry]:
        return list(self._engine.logs[mark[0] :]) + list(self._stderr_logs[mark[1] :])

    def stderr_lines(self) -> list[str]:
        return list(self._stderr_tail)

    def stderr_text(self, last: int = 40) -> str:
        return "\n".join(list(self._stderr_tail)[-last:])

    def _stderr_suffix(self) -> str:
        # Give the reader threads a moment to drain what a dying process wrote.
        for thread in self._readers:
            thread.join(timeout=0.5)
        text = self.stderr_text()
        return f"; stderr:\n{text}" if text else "; stderr was empty"

    def describe_death(self) -> str | None:
        """If the process has exited: its exit code and stderr tail, for error messages."""
        if self._proc is None or self._proc.poll() is None:
            return None
        return f"plugin process exited with code {self._proc.returncode}{self._stderr_suffix()}"

    # -- shutdown --------------------------------------------------------------------------------------

    def close(self, grace_s: float = 2.0) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                # pulumi_policy stops its server on KeyboardInterrupt (SIGINT); give it that chance first.
                _kill_group(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    _kill_group(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=grace_s)
            # Children of the pack (if any) share the group; make sure none survive the leader.
            _kill_group(proc.pid, signal.SIGKILL)
            _LIVE_GROUPS.discard(proc.pid)
            for thread in self._readers:
                thread.join(timeout=grace_s)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if self._engine_server is not None:
            self._engine_server.stop(grace=None)
            self._engine_server = None


def config_string(value: Any) -> str:
    """A stack config value as the string Pulumi stores for it."""
    # PULUMI_CONFIG maps keys to strings; objects and lists are JSON text, as `pulumi config set --path` stores.
    if isinstance(value, str):
        return value
    return json.dumps(value)
