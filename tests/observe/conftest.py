"""Real metrics backends on loopback, every process stopped by its PID.

The real Prometheus (Debian's /usr/bin/prometheus) and a Knative queue-proxy stand-in, on loopback.

`knative_exporter(namespace, service, revisions)` starts `knative_exporter.py` (prometheus_client) and returns its
port; `prometheus_server(scrape=[ports], history=openmetrics_text)` writes the history as TSDB blocks with
`promtool tsdb create-blocks-from openmetrics`, starts Prometheus on a free 127.0.0.1 port with a temp storage
dir scraping the exporters every second, and returns its URL. Every process is stopped by its PID at the end.
Without prometheus/promtool the tests skip, except under GUARDRAILS_REQUIRE_PROMETHEUS=1 (.ci/run).

CloudWatch: A real CloudWatch API on loopback: `moto_server` (moto[server]) on a free port, stopped by PID.

Tests put metrics through the same boto3 API the product reads them with (PutMetricData); the product finds
the endpoint through the standard SDK setting AWS_ENDPOINT_URL, as it would find a VPC endpoint or LocalStack.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from knative_metrics import Revision  # noqa: E402

REQUIRE_ENV = "GUARDRAILS_REQUIRE_PROMETHEUS"
START_TIMEOUT_S = 30.0


def _binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        message = "prometheus/promtool not installed (Debian package `prometheus`; .ci/run installs it)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1 forbids skipping)")
        pytest.skip(message)
    return prometheus, promtool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def knative_exporter(tmp_path: Path) -> Iterator[Callable[..., int]]:
    procs: list[subprocess.Popen] = []

    def start(namespace: str, service: str, revisions: list[Revision]) -> int:
        config = {"namespace": namespace, "service": service, "revisions": [asdict(r) for r in revisions]}
        proc = subprocess.Popen([sys.executable, str(HERE / "knative_exporter.py"), json.dumps(config)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            _stop(proc)
            pytest.fail(f"exporter did not start: {line!r} {proc.stderr.read()[:2000]}")
        return int(line)

    yield start
    for proc in procs:
        if proc.stdin:
            proc.stdin.close()
        _stop(proc)


class PrometheusServer:
    def __init__(self, url: str, proc: subprocess.Popen, log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def query(self, promql: str) -> list[dict]:
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)["data"]["result"]

    def wait_for(self, promql: str, ok: Callable[[list[dict]], bool], timeout_s: float = 60.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(promql)
            if ok(result):
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus never satisfied `{promql}` in {timeout_s:.0f}s: {result}")
            time.sleep(0.5)


@pytest.fixture
def prometheus_server(tmp_path: Path) -> Iterator[Callable[..., PrometheusServer]]:
    servers: list[subprocess.Popen] = []

    def start(scrape: list[int] = (), history: str | None = None) -> PrometheusServer:
        prometheus, promtool = _binaries()
        root = tmp_path / f"prometheus-{len(servers)}"
        data = root / "data"
        data.mkdir(parents=True)
        if history is not None:
            source = root / "history.om"
            source.write_text(history)
            subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(data)],
                           check=True, capture_output=True, timeout=120)
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
                  "scrape_configs": [{"job_name": "knative-queue-proxy", "honor_labels": True,
                                      "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in scrape]}]}]
                  if scrape else []}
        (root / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        port = free_port()
        log = root / "prometheus.log"
        with log.open("w") as out:
            proc = subprocess.Popen([prometheus, f"--config.file={root / 'prometheus.yml'}",
                                     f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                                     "--storage.tsdb.retention.time=30d", "--log.level=warn"],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        servers.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prometheus did not become ready: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        return PrometheusServer(url, proc, log)

    yield start
    for proc in servers:
        _stop(proc)


# ---------------------------------------------------------------- CloudWatch (moto server)

MOTO = Path(sys.executable).with_name("moto_server")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing"}


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not MOTO.exists() and not shutil.which("moto_server"):
            pytest.fail("moto_server not installed (pip install 'moto[server]'; .ci/run installs it)")
        command = [str(MOTO) if MOTO.exists() else "moto_server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"moto_server exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("moto_server did not listen within 30 s")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def reset(self) -> None:
        """Forget every metric (moto's reset endpoint), so tests do not see each other's data."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10)

    def env(self) -> dict[str, str]:
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.url}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def cloudwatch(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A clean moto CloudWatch with this process' SDK settings pointing at it."""
    moto_server.reset()
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    yield moto_server
