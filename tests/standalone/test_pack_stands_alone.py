"""The policy pack leaves this repository: its folder alone + its requirements.txt is all it needs.

A platform team enforces the pack across many repositories (`--policy-pack` from a shared checkout, or
`pulumi policy publish`). So: copy `policy_packs/guardrails` alone into a temp dir, build this repo's libraries
into a wheelhouse with `pip wheel`, create the pack's own venv from its requirements.txt with `--no-index`
(third-party wheels come from the machine's wheelhouse, filled at install time by scripts/pack-wheelhouse.sh),
start it as the CLI does and judge a privileged Knative Service; then run the real `pulumi preview
--policy-pack <copy>` on a minimal second Pulumi project that is not this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from guardrails_core.types import KNATIVE_SERVICE

from preflight.crossguard.run import PackSession
from preflight.engine.base import PlannedResource
from scripts.stage_pack import stage_pack

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "guardrails"
LIBRARIES = [REPO / "packages" / name for name in ("core", "predict", "supply-chain")]
WHEELHOUSE_ENV = "GUARDRAILS_WHEELHOUSE"
REQUIRE_ENV = "GUARDRAILS_REQUIRE_WHEELHOUSE"  # set by .ci/run: these tests must run there, never skip


def _wheelhouse() -> Path:
    path = Path(os.environ.get(WHEELHOUSE_ENV) or Path.home() / ".cache" / "serverless-guardrails" / "wheelhouse")
    if not any(path.glob("pulumi_policy-*.whl")):
        message = f"no third-party wheelhouse at {path}: run scripts/pack-wheelhouse.sh (install time)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False,  # noqa: S603
                          stdin=subprocess.DEVNULL, **kwargs)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def standalone_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    third_party = _wheelhouse()
    root = tmp_path_factory.mktemp("standalone")
    own = root / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(own),
          *map(str, LIBRARIES)])
    assert sorted(p.name.split("-")[0] for p in own.glob("*.whl")) == [
        "serverless_guardrails_core", "serverless_guardrails_predict", "serverless_guardrails_supply_chain"]
    # The copy published with `pulumi policy publish` (scripts/stage_pack.py): no fixtures, no venv.
    pack = stage_pack(root / "guardrails-pack")
    assert not list(pack.rglob("fixtures")) and not list(pack.rglob("expected.yaml"))
    _run([sys.executable, "-m", "venv", str(pack / "venv")])
    _run([str(pack / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
          "--find-links", str(own), "--find-links", str(third_party), "-r", str(pack / "requirements.txt")])
    yield pack


def _privileged_service(stack: str) -> PlannedResource:
    props = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
             "metadata": {"name": "svc", "namespace": "team-a"},
             "spec": {"template": {"spec": {"containers": [
                 {"name": "app", "image": "ghcr.io/acme/app:1.0", "securityContext": {"privileged": True}}]}}}}
    return PlannedResource(urn=f"urn:pulumi:{stack}::other::{KNATIVE_SERVICE}::svc", type=KNATIVE_SERVICE,
                           name="svc", custom=True, parent=None, provider=None, inputs=props)


def test_pack_copy_serves_its_policies_from_its_own_venv(standalone_pack: Path) -> None:
    venv_python = standalone_pack / "venv" / "bin" / "python"
    # Nothing of this repository is importable there: only the installed distributions.
    probe = _run([str(venv_python), "-c", "import importlib.util as u; "
                  "print([m for m in ('preflight', 'components', 'stackconf') if u.find_spec(m)])"],
                 cwd=standalone_pack)
    assert probe.stdout.strip() == "[]"
    config = {"guardrails:environment": "prod", "guardrails:namespace": "team-a"}
    with PackSession(standalone_pack, stack="prod", project="other", stack_config=config,
                     call_timeout=120.0) as session:
        assert session.info is not None
        assert len(session.info.policies) >= 70
        assert "pod-no-privileged" in session.info.policies
        run = session.run([_privileged_service("prod")], {"pod-no-privileged": {"enforcementLevel": "mandatory"}})
    found = [f for f in run.findings if f.policy == "pod-no-privileged"]
    assert found and found[0].enforcement == "mandatory", run.findings
    assert "containers[0]" in found[0].message
    assert not run.errors, run.errors


PROGRAM = textwrap.dedent('''\
    """A second Pulumi project, not serverless-guardrails: one Knative Service (rendered to YAML, no cluster)."""
    import pulumi_kubernetes as k8s

    k8s.apiextensions.CustomResource(
        "svc", api_version="serving.knative.dev/v1", kind="Service",
        metadata={"name": "svc", "namespace": "team-a"},
        spec={"template": {"spec": {"containers": [
            {"name": "app", "image": "ghcr.io/acme/app:1.0", "securityContext": {"privileged": True}}]}}})
''')


def test_real_cli_enforces_the_copy_on_another_project(standalone_pack: Path, tmp_path: Path) -> None:
    from preflight.engine.pulumi_cli import offline_env
    from tests.integration.helpers import require_cli

    cli = require_cli()
    project = tmp_path / "other-project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: other-project\nruntime:\n  name: python\n  options:\n"
        f"    toolchain: pip\n    virtualenv: {REPO / '.venv'}\n")
    (project / "__main__.py").write_text(PROGRAM)
    # The pack's settings come from this stack's config, which the CLI hands to the pack: prod makes critical
    # controls mandatory. No policy config file, no project_dir: controls that need files would fail closed.
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  kubernetes:renderYamlToDirectory: rendered\n"
        "  guardrails:environment: prod\n  guardrails:namespace: team-a\n")
    backend = tmp_path / "state"
    backend.mkdir()
    env = {**os.environ, **offline_env(backend, cli, {"PULUMI_CONFIG_PASSPHRASE": "test"})}
    _run([str(cli), "stack", "init", "dev", "--non-interactive"], cwd=project, env=env)
    done = subprocess.run(  # noqa: S603
        [str(cli), "preview", "--non-interactive", "--stack", "dev", "--policy-pack", str(standalone_pack)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]  # a mandatory violation fails the preview
    assert "[mandatory] [severity: critical]  pod-no-privileged" in output, output[-3000:]
    assert "sets securityContext.privileged: true" in output
    assert "failed closed" not in output.split("pod-no-privileged", 1)[1].split("- [", 1)[0]
