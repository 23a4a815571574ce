"""Engine backed by the real Pulumi CLI (Automation API), with a local file backend and no network.

`run_pulumi_preview` / `run_pulumi_up` / `run_pulumi_destroy` drive `pulumi preview|up|destroy` through
`pulumi.automation`, with local policy packs (`--policy-pack`), and turn the engine event stream into the
same `EngineResult` the offline engine returns: one `PlannedResource` per resource pre-event, one
`PolicyFinding` per policy event.

Why the program runs in a temporary copy of the project: creating a stack with the passphrase secrets
provider writes `encryptionsalt` into `stacks/Pulumi.<stack>.yaml`; a preflight run must never edit the
user's files. The salt is kept next to the state in the backend folder instead, so repeated runs on one
backend (up, then up again, then destroy) decrypt the same state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackConfigError, load_stack_settings
from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, Secret
from pulumi import automation as auto

from preflight.engine.base import EngineResult, PlannedResource, PolicyFinding, attach_sources
from preflight.packs import pack_config

ENGINE_NAME = "pulumi"
STACK_TYPE = "pulumi:pulumi:Stack"
# Folders never copied into the work copy (large, or owned by tools / state).
COPY_IGNORE = (
    ".git", ".venv", ".tools", ".pulumi-home", ".pulumi-state", "rendered", "out", "benchmarks", "tests", "docs",
    ".github", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".preflight-cache",
)
_SALT_LINE = re.compile(r"^encryptionsalt:\s*(\S+)\s*$", re.MULTILINE)
# How the engine's JSON event stream shows a secret input.
_SECRET_DISPLAY = "[secret]"


class PulumiCliError(RuntimeError):
    """The CLI is missing or the project/stack/pack given to it is not usable."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_pulumi_cli(env: Mapping[str, str] | None = None) -> Path | None:
    """The `pulumi` binary to use: `.tools/bin/pulumi` (scripts/install-pulumi-cli.sh), else PATH."""
    local = repo_root() / ".tools" / "bin" / "pulumi"
    if local.exists() and os.access(local, os.X_OK):
        return local
    found = shutil.which("pulumi", path=(env or os.environ).get("PATH"))
    return Path(found) if found else None


def offline_env(backend_dir: Path, cli: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the CLI: local file backend, no update check, no plugin download, no cluster."""
    root = repo_root()
    env = {
        "PULUMI_BACKEND_URL": backend_dir.resolve().as_uri(),
        "PULUMI_HOME": os.environ.get("GUARDRAILS_PULUMI_HOME", str(root / ".pulumi-home")),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", ""),
        "PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD", str(root / ".venv" / "bin" / "python")),
        "KUBECONFIG": "/dev/null",
        "PATH": f"{cli.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.update(extra or {})
    return env


def _check_inputs(project_dir: Path, stack: str, policy_packs: Sequence[Path]) -> None:
    if not (project_dir / "Pulumi.yaml").is_file():
        raise PulumiCliError(f"{project_dir}: no Pulumi.yaml (project_dir must be the Pulumi project root)")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack):
        raise PulumiCliError(f"stack name {stack!r}: allowed characters are letters, digits, '_', '.', '-'")
    config = project_dir / "stacks" / f"Pulumi.{stack}.yaml"
    if not config.is_file():
        known = sorted(p.name for p in (project_dir / "stacks").glob("Pulumi.*.yaml"))
        raise PulumiCliError(f"{config}: stack config file missing for stack {stack!r}; present: {known}")
    for pack in policy_packs:
        if not (pack / "PulumiPolicy.yaml").is_file():
            raise PulumiCliError(f"{pack}: not a policy pack (no PulumiPolicy.yaml)")


def rendered_dir(backend_dir: Path | str) -> Path:
    """Where the project's `rendered/` folder lives for runs on this backend (see _work_copy)."""
    return Path(backend_dir).resolve() / "rendered"


@contextmanager
def _work_copy(project_dir: Path, stack: str, backend_dir: Path) -> Iterator[Path]:
    """A throw-away copy of the project; the stack's encryption salt lives in the backend folder."""
    with tempfile.TemporaryDirectory(prefix="guardrails-pulumi-") as tmp:
        copy = Path(tmp) / project_dir.name
        shutil.copytree(project_dir, copy, ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True)
        venv = project_dir / ".venv"
        if venv.exists():
            # Pulumi.yaml's `virtualenv: .venv` (and the pack's ../../.venv) must resolve inside the copy.
            (copy / ".venv").symlink_to(venv.resolve(), target_is_directory=True)
        # Manifests rendered by `up` (kubernetes:renderYamlToDirectory, relative to the program) must outlive
        # the copy and be removed again by `destroy`: keep them with the state.
        rendered_dir(backend_dir).mkdir(parents=True, exist_ok=True)
        (copy / "rendered").symlink_to(rendered_dir(backend_dir), target_is_directory=True)
        salt_file = backend_dir / ".guardrails" / f"{stack}.encryptionsalt"
        config = copy / "stacks" / f"Pulumi.{stack}.yaml"
        if salt_file.is_file() and not _SALT_LINE.search(config.read_text()):
            config.write_text(f"encryptionsalt: {salt_file.read_text().strip()}\n" + config.read_text())
        try:
            yield copy
        finally:
            match = _SALT_LINE.search(config.read_text()) if config.is_file() else None
            if match:
                salt_file.parent.mkdir(parents=True, exist_ok=True)
                salt_file.write_text(match.group(1) + "\n")


def _from_event_value(value: Any) -> Any:
    """Engine event JSON → the values policies see: unknowns and secrets as guardrails_core.values markers."""
    if value == UNKNOWN_SENTINEL:
        return UNKNOWN
    if value == _SECRET_DISPLAY:
        # The event stream never carries the secret's plaintext (by design); keep it marked as secret.
        return Secret(None)
    if isinstance(value, dict):
        return {k: _from_event_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_event_value(v) for v in value]
    return value


class _EventCollector:
    """Turns engine events into PlannedResource / PolicyFinding records, in arrival order."""

    def __init__(self) -> None:
        self.resources: dict[str, PlannedResource] = {}
        self.findings: list[PolicyFinding] = []
        self.errors: list[str] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            self._on_resource(event.resource_pre_event.metadata)
        if event.policy_event is not None:
            self._on_policy(event.policy_event)
        diag = event.diagnostic_event
        if diag is not None and diag.severity == "error":
            self.errors.append(f"pulumi: {diag.message.strip()}")

    def _on_resource(self, meta: auto.StepEventMetadata) -> None:
        state = meta.new or meta.old
        if meta.type == STACK_TYPE or state is None:
            return
        inputs = _from_event_value(dict(state.inputs or {}))
        self.resources[meta.urn] = PlannedResource(
            urn=meta.urn,
            type=meta.type,
            name=meta.urn.rsplit("::", 1)[-1],
            custom=bool(state.custom),
            parent=state.parent or None,
            provider=state.provider or meta.provider or None,
            inputs=inputs,
        )

    def _on_policy(self, event: auto.PolicyEvent) -> None:
        self.findings.append(
            PolicyFinding(
                policy=event.policy_name,
                pack=event.policy_pack_name,
                enforcement=event.enforcement_level,
                message=event.message.strip(),
                resource_urn=event.resource_urn or None,
            )
        )


def _stack(project_dir: Path, stack: str, cli: Path, env: dict[str, str]) -> auto.Stack:
    command = auto.PulumiCommand(root=str(cli.parent.parent), skip_version_check=True)
    return auto.create_or_select_stack(
        stack_name=stack,
        work_dir=str(project_dir),
        opts=auto.LocalWorkspaceOptions(work_dir=str(project_dir), env_vars=env, pulumi_command=command),
    )


def _run(
    operation: str,
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str],
    backend_dir: Path | str | None,
    env: Mapping[str, str] | None,
) -> tuple[EngineResult, dict[str, int]]:
    project = Path(project_dir).resolve()
    packs = [Path(p).resolve() for p in policy_packs]
    _check_inputs(project, stack, packs)
    cli = find_pulumi_cli(env)
    if cli is None:
        raise PulumiCliError("no pulumi CLI: run scripts/install-pulumi-cli.sh (builds it into .tools/bin)")

    with tempfile.TemporaryDirectory(prefix="guardrails-state-") as tmp_backend:
        backend = Path(backend_dir).resolve() if backend_dir is not None else Path(tmp_backend)
        backend.mkdir(parents=True, exist_ok=True)
        collector = _EventCollector()
        result = EngineResult(engine=ENGINE_NAME, stack=stack)
        changes: dict[str, int] = {}
        with _work_copy(project, stack, backend) as copy:
            full_env = offline_env(backend, cli, env)
            try:
                target = _stack(copy, stack, cli, full_env)
                pack_args = [str(p) for p in packs] or None
                configs_dir = Path(tmp_backend) / "policy-config"
                config_args = _policy_pack_config_files(project, stack, packs, configs_dir) or None
                if operation == "preview":
                    preview = target.preview(policy_packs=pack_args, policy_pack_configs=config_args,
                                             on_event=collector, color="never")
                    changes = dict(preview.change_summary)
                elif operation == "up":
                    up = target.up(policy_packs=pack_args, policy_pack_configs=config_args, on_event=collector,
                                   color="never")
                    changes = dict(up.summary.resource_changes or {})
                elif operation == "destroy":
                    destroyed = target.destroy(on_event=collector, color="never")
                    changes = dict(destroyed.summary.resource_changes or {})
                else:  # pragma: no cover - internal misuse
                    raise ValueError(f"unknown operation {operation!r}")
            except auto.CommandError as exc:
                # A mandatory violation also fails the command; the findings still tell why. Anything else
                # (program crash, pack crash, missing plugin) is an engine error that must block the gate.
                if not any(f.enforcement == "mandatory" for f in collector.findings):
                    result.errors.append(f"pulumi {operation} failed: {_tail(str(exc))}")
        result.resources = attach_sources(list(collector.resources.values()))
        result.findings = collector.findings
        mandatory = any(f.enforcement == "mandatory" for f in collector.findings)
        # With a mandatory violation the engine also emits a bare "<op> failed" diagnostic: the findings already
        # say why, so only that exact line is dropped; every other error diagnostic stays and blocks the gate.
        generic = {f"pulumi: {operation} failed", "pulumi: preview failed", "pulumi: update failed"}
        result.errors.extend(e for e in collector.errors if not (mandatory and e in generic))
        return result, {getattr(op, "value", str(op)): count for op, count in changes.items()}


def _policy_pack_config_files(project: Path, stack: str, packs: Sequence[Path], folder: Path) -> list[str]:
    """One `--policy-pack-config` file per pack (enforcement levels, project_dir), as `preflight policy-config`."""
    if not packs:
        return []
    try:
        settings = load_stack_settings(project, stack)
    except StackConfigError as exc:
        raise PulumiCliError(str(exc)) from exc
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index, pack in enumerate(packs):
        path = folder / f"policy-pack-config-{index}.json"
        path.write_text(json.dumps(pack_config(pack, settings, project) or {}))
        files.append(str(path))
    return files


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_pulumi_preview(
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str] = (),
    *,
    backend_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> EngineResult:
    """`pulumi preview --policy-pack …` on a local file backend (a temporary one unless backend_dir is given)."""
    return _run("preview", project_dir, stack, policy_packs, backend_dir, env)[0]


def run_pulumi_up(
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str] = (),
    *,
    backend_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> EngineResult:
    """`pulumi up --yes --policy-pack …`; pass backend_dir to keep the state for later runs."""
    return run_pulumi_up_with_changes(project_dir, stack, policy_packs, backend_dir=backend_dir, env=env)[0]


def run_pulumi_up_with_changes(
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str] = (),
    *,
    backend_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[EngineResult, dict[str, int]]:
    """Like run_pulumi_up, plus the engine's change summary (op → count, e.g. {"same": 3})."""
    return _run("up", project_dir, stack, policy_packs, backend_dir, env)


def run_pulumi_destroy(
    project_dir: Path | str,
    stack: str,
    *,
    backend_dir: Path | str,
    env: Mapping[str, str] | None = None,
) -> EngineResult:
    """`pulumi destroy --yes` of the stack kept in backend_dir."""
    return _run("destroy", project_dir, stack, (), backend_dir, env)[0]
