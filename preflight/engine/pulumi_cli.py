"""Engine backed by the real Pulumi CLI (Automation API), on the user's backend and stack, with no network of its own.

Reusable entry points (the `preflight up|drift|audit` commands and the tests use them):

* `resolve_backend(project_dir, requested)` — the backend the user is logged into, as the CLI would pick it:
  `--backend` (a URL, or `temp` for a throw-away file backend), else `PULUMI_BACKEND_URL`, else `backend.url` in
  Pulumi.yaml, else the `current` backend of `pulumi login` (credentials.json). No backend ⇒ `NoBackendError`.
* `parse_stack_ref(project_dir, name)` — `stack`, `org/stack` or `org/project/stack`; the config file is
  `<stackConfigDir>/Pulumi.<stack>.yaml`, as the CLI names it, or the `--config-file` one (CONFIG_FILE_ENV), which
  every CLI command of the session gets as `--config-file` (a copy: the CLI may write into it).
* `open_stack(project_dir, stack, backend, ...)` — a context manager yielding a `StackSession`: an Automation API
  `auto.Stack` selected (or created) on that backend in a throw-away copy of the project, its environment, and
  the `--policy-pack` / `--policy-pack-config` arguments. Run anything on `session.stack` (refresh, export, ...).
* `run_pulumi_preview` / `run_pulumi_up` / `run_pulumi_destroy` — preview (optionally `--save-plan`), up
  (optionally `--plan`) and destroy, turned into the same `EngineResult` the offline engine returns.
* `export_deployment` / `deployed_resources` — the stack's last deployed state (`pulumi stack export`).

Why the program runs in a temporary copy of the project: Pulumi rewrites `stacks/Pulumi.<stack>.yaml` (it adds
`encryptionsalt:` when it creates a stack or meets a stack file without one); a preflight run never edits the
user's files. The salt belongs in the stack file, as Pulumi expects (docs/pulumi-cli.md): a stack whose file has
`secure:` values must carry the `encryptionsalt:` they were encrypted with, and preflight refuses one without it.
For the throw-away backends (`temp`, `backend_dir=`) the salt is kept beside the state instead, so repeated runs on
one backend (up, then up again, then destroy) decrypt the same state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from guardrails_core.settings import (
    CONFIG_FILE_ENV,
    StackConfigError,
    load_stack_settings,
    project_name,
    read_stack_config,
    stack_config_name,
    stack_file,
)
from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, Secret
from pulumi import automation as auto

from preflight.baseline import PreviousState
from preflight.engine.base import EngineResult, PlannedResource, PolicyFinding, attach_sources
from preflight.packs import pack_config

ENGINE_NAME = "pulumi"
STACK_TYPE = "pulumi:pulumi:Stack"
TEMP_BACKEND = "temp"
# Folders never copied into the work copy (large, or owned by tools / state).
COPY_IGNORE = (
    ".git", ".venv", ".tools", ".pulumi-home", ".pulumi-state", "rendered", "out", "benchmarks", "tests", "docs",
    ".github", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".preflight-cache",
)
_SALT_LINE = re.compile(r"^encryptionsalt:\s*(\S+)\s*$", re.MULTILINE)
_SEGMENT = r"[A-Za-z0-9_.-]+"
# How the engine's JSON event stream shows a secret input, and how `stack export` stores one.
_SECRET_DISPLAY = "[secret]"
_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_BACKEND_SCHEMES = ("file", "s3", "gs", "azblob", "https", "http", "postgres")
# Steps whose resource is not in the new plan (its old state is what the event carries).
_GONE_OPS = {"delete", "delete-replaced", "discard", "discard-replaced", "read-discard", "remove-pending-replace"}
RENDER_KEY = "kubernetes:renderYamlToDirectory"


class PulumiCliError(RuntimeError):
    """The CLI is missing or the project/stack/backend/pack given to it is not usable."""


class NoBackendError(PulumiCliError):
    """No backend given and none logged in: the user must choose one (preflight never invents one)."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_pulumi_cli(env: Mapping[str, str] | None = None) -> Path | None:
    """The `pulumi` binary to use: `.tools/bin/pulumi` (scripts/install-pulumi-cli.sh), else PATH."""
    local = repo_root() / ".tools" / "bin" / "pulumi"
    if local.exists() and os.access(local, os.X_OK):
        return local
    found = shutil.which("pulumi", path=(env or os.environ).get("PATH"))
    return Path(found) if found else None


def _pulumi_home() -> str:
    """Plugins live in the project-local PULUMI_HOME (scripts/install-pulumi-cli.sh installs them there)."""
    return os.environ.get("GUARDRAILS_PULUMI_HOME", str(repo_root() / ".pulumi-home"))


# --- backend and stack --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backend:
    """Where the stack's state lives. `url` None = a throw-away file backend made for one run (`--backend temp`)."""

    url: str | None
    origin: str  # how it was chosen: "--backend", "PULUMI_BACKEND_URL", "Pulumi.yaml backend.url", "pulumi login"

    @property
    def throwaway(self) -> bool:
        return self.url is None

    def display(self) -> str:
        """The URL without credentials or query (for reports and logs)."""
        if self.url is None:
            return "temp (throw-away file backend)"
        parts = urlsplit(self.url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


TEMP = Backend(None, "--backend temp")


def _check_backend_url(url: str, origin: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in _BACKEND_SCHEMES:
        raise PulumiCliError(f"{origin}: {url!r} is not a Pulumi backend URL; allowed: `temp` or a URL with scheme "
                             f"{', '.join(s + '://' for s in _BACKEND_SCHEMES)} (e.g. file://~/.pulumi-state, "
                             "https://api.pulumi.com)")
    return url


def _logged_in_backend() -> str | None:
    """`current` of credentials.json in the PULUMI_HOME the user's `pulumi login` wrote (theirs, then the project's)."""
    homes = [os.environ.get("PULUMI_HOME"), os.environ.get("GUARDRAILS_PULUMI_HOME"),
             str(repo_root() / ".pulumi-home"), str(Path.home() / ".pulumi")]
    for home in dict.fromkeys(h for h in homes if h):
        try:
            current = json.loads((Path(home) / "credentials.json").read_text(encoding="utf-8")).get("current")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(current, str) and current:
            return current
    return None


def resolve_backend(project_dir: Path | str, requested: str | None = None,
                    environ: Mapping[str, str] | None = None) -> Backend:
    """The backend to use, in the CLI's own order; `requested` is `--backend` (`temp` or a URL)."""
    environ = os.environ if environ is None else environ
    if requested == TEMP_BACKEND:
        return TEMP
    if requested:
        return Backend(_check_backend_url(requested, "--backend"), "--backend")
    if environ.get("PULUMI_BACKEND_URL"):
        return Backend(_check_backend_url(environ["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL"), "PULUMI_BACKEND_URL")
    project_file = Path(project_dir) / "Pulumi.yaml"
    try:
        doc = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    url = (doc.get("backend") or {}).get("url") if isinstance(doc, dict) and isinstance(doc.get("backend"), dict) \
        else None
    if isinstance(url, str) and url:
        return Backend(_check_backend_url(url, f"{project_file}: backend.url"), "Pulumi.yaml backend.url")
    current = _logged_in_backend()
    if current:
        return Backend(current, "pulumi login")
    raise NoBackendError("no Pulumi backend: run `pulumi login` (e.g. `pulumi login --local`, "
                         "`pulumi login file://$PWD/.pulumi-state`, or Pulumi Cloud), set PULUMI_BACKEND_URL, "
                         "set backend.url in Pulumi.yaml, or pass --backend temp for a throw-away backend "
                         "(state is discarded after the run)")


@dataclass(frozen=True)
class StackRef:
    """A stack as the user names it (`stack`, `org/stack`, `org/project/stack`) and its config-file name."""

    name: str  # as given; what the CLI selects
    short: str  # the last segment: stacks/Pulumi.<short>.yaml


def parse_stack_ref(project_dir: Path | str, name: str) -> StackRef:
    """A stack as the user names it; the name's last segment (its config file) and the project check are the core's
    (`guardrails_core.settings.stack_config_name`), here only the characters the CLI accepts are added."""
    if not re.fullmatch(rf"{_SEGMENT}(/{_SEGMENT}){{0,2}}", name or "") or any(
            part in (".", "..") for part in name.split("/")):
        raise PulumiCliError(f"stack name {name!r}: expected `stack`, `org/stack` or `org/project/stack` (letters, "
                             "digits, '_', '.', '-')")
    try:
        short = stack_config_name(name, project_name(Path(project_dir)))
    except StackConfigError as exc:
        raise PulumiCliError(str(exc)) from None
    return StackRef(name=name, short=short)


def renders_only(project_dir: Path | str, stack: str) -> bool:
    """The stack renders manifests to a folder (kubernetes:renderYamlToDirectory) and never talks to a cluster."""
    try:
        return bool(read_stack_config(Path(project_dir), parse_stack_ref(project_dir, stack).short).get(RENDER_KEY))
    except StackConfigError:
        return False


def cli_env(cli: Path, backend_url: str, *, render_only: bool,
            extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the CLI: the backend, no update check, no plugin download; no cluster for a render-only
    stack (KUBECONFIG=/dev/null), the user's KUBECONFIG otherwise (the stack's kubernetes:kubeconfig wins)."""
    root = repo_root()
    env = {
        "PULUMI_BACKEND_URL": backend_url,
        "PULUMI_HOME": _pulumi_home(),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", ""),
        "PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD", str(root / ".venv" / "bin" / "python")),
        "PATH": f"{cli.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if render_only:
        env["KUBECONFIG"] = "/dev/null"
    elif os.environ.get("KUBECONFIG"):
        env["KUBECONFIG"] = os.environ["KUBECONFIG"]
    env.update(extra or {})
    return env


def offline_env(backend_dir: Path, cli: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """cli_env for a local file backend folder and a render-only stack (no cluster at all)."""
    return cli_env(cli, backend_dir.resolve().as_uri(), render_only=True, extra=extra)


def _check_inputs(project_dir: Path, ref: StackRef, policy_packs: Sequence[Path]) -> None:
    if not (project_dir / "Pulumi.yaml").is_file():
        raise PulumiCliError(f"{project_dir}: no Pulumi.yaml (project_dir must be the Pulumi project root)")
    try:
        config = stack_file(project_dir, ref.short)  # Pulumi.yaml's stackConfigDir, or --config-file
    except StackConfigError as exc:
        raise PulumiCliError(str(exc)) from None
    if not config.is_file():
        if os.environ.get(CONFIG_FILE_ENV):
            raise PulumiCliError(f"{config}: no such file (--config-file)")
        known = sorted(p.name for p in config.parent.glob("Pulumi.*.yaml"))
        raise PulumiCliError(f"{config}: stack config file missing for stack {ref.short!r}; present: {known}")
    text = config.read_text(encoding="utf-8")
    if re.search(r"^\s+\S+:\s*\n?\s*secure:", text, re.MULTILINE) and not _SALT_LINE.search(text) \
            and "secretsprovider:" not in text:
        raise PulumiCliError(f"{config}: has `secure:` values but no `encryptionsalt:` line; the passphrase provider "
                             "needs the salt the values were encrypted with, in this file (commit it with them; see "
                             "docs/pulumi-cli.md)")
    for pack in policy_packs:
        if not (pack / "PulumiPolicy.yaml").is_file():
            raise PulumiCliError(f"{pack}: not a policy pack (no PulumiPolicy.yaml)")


def rendered_dir(backend_dir: Path | str) -> Path:
    """Where the project's `rendered/` folder lives for runs on a backend folder (see _work_copy)."""
    return Path(backend_dir).resolve() / "rendered"


@contextmanager
def _work_copy(project_dir: Path, stack: str, rendered: Path,
               salt_dir: Path | None) -> Iterator[tuple[Path, Path | None]]:
    """A throw-away copy of the project, and the copy of the `--config-file` file (None without one) to hand the
    CLI in its place: the CLI may write into the file it reads (`encryptionsalt:`), and a preflight run never edits
    the user's files. `rendered/` (kubernetes:renderYamlToDirectory, relative to the program) is linked to
    `rendered`, so manifests written by `up` outlive the copy and `destroy` removes them again. With a salt_dir
    (throw-away backends) the stack's encryption salt is kept there between runs."""
    with tempfile.TemporaryDirectory(prefix="guardrails-pulumi-") as tmp:
        copy = Path(tmp) / project_dir.name
        shutil.copytree(project_dir, copy, ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True)
        config_file = None
        if os.environ.get(CONFIG_FILE_ENV):
            config_file = Path(tmp) / "config-file" / stack_file(project_dir, stack).name
            config_file.parent.mkdir()
            shutil.copyfile(stack_file(project_dir, stack), config_file)
        venv = project_dir / ".venv"
        if venv.exists():
            # Pulumi.yaml's `virtualenv: .venv` (and the pack's ../../.venv) must resolve inside the copy.
            (copy / ".venv").symlink_to(venv.resolve(), target_is_directory=True)
        rendered.mkdir(parents=True, exist_ok=True)
        (copy / "rendered").symlink_to(rendered.resolve(), target_is_directory=True)
        salt_file = salt_dir / ".guardrails" / f"{stack}.encryptionsalt" if salt_dir is not None else None
        config = config_file or copy / stack_file(project_dir, stack).relative_to(project_dir)
        if salt_file is not None and salt_file.is_file() and not _SALT_LINE.search(config.read_text()):
            config.write_text(f"encryptionsalt: {salt_file.read_text().strip()}\n" + config.read_text())
        try:
            yield copy, config_file
        finally:
            match = _SALT_LINE.search(config.read_text()) if config.is_file() else None
            if match and salt_file is not None:
                salt_file.parent.mkdir(parents=True, exist_ok=True)
                salt_file.write_text(match.group(1) + "\n")


# --- engine events -> EngineResult ----------------------------------------------------------------------------------

def _from_event_value(value: Any) -> Any:
    """Engine event / state JSON → the values policies see: unknowns and secrets as guardrails_core.values markers."""
    if value == UNKNOWN_SENTINEL:
        return UNKNOWN
    if value == _SECRET_DISPLAY:
        # The event stream never carries the secret's plaintext (by design); keep it marked as secret.
        return Secret(None)
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) is not None:  # a secret in exported state (ciphertext only)
            return Secret(None)
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
        self.failed_resources: list[str] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            self._on_resource(event.resource_pre_event.metadata)
        if event.policy_event is not None:
            self._on_policy(event.policy_event)
        diag = event.diagnostic_event
        if diag is not None and diag.severity == "error":
            self.errors.append(f"pulumi: {diag.message.strip()}")
        failed = getattr(event, "res_op_failed_event", None)
        if failed is not None:
            self.failed_resources.append(failed.metadata.urn)

    def _on_resource(self, meta: auto.StepEventMetadata) -> None:
        op = getattr(meta.op, "value", str(meta.op))
        state = meta.new or meta.old
        if meta.type == STACK_TYPE or state is None or op in _GONE_OPS:
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


# --- sessions ---------------------------------------------------------------------------------------------------

@dataclass
class StackSession:
    """A stack selected on its backend, in a throw-away copy of the project, ready for any Automation API call."""

    stack: auto.Stack
    ref: StackRef
    backend: Backend
    work_dir: Path
    env: dict[str, str]
    policy_packs: list[str] | None
    policy_pack_configs: list[str] | None
    scratch: Path  # a folder that lives as long as the session (plans, configs)
    config_file: str | None = None  # `--config-file` for every CLI command of the session (a copy of the user's)


@contextmanager
def open_stack(
    project_dir: Path | str,
    stack: str,
    backend: Backend | None = None,
    *,
    policy_packs: Sequence[Path | str] = (),
    overrides: Mapping[str, str] | None = None,
    backend_dir: Path | str | None = None,
    create: bool = True,
    env: Mapping[str, str] | None = None,
) -> Iterator[StackSession]:
    """Select (or, with create, create) `stack` on `backend` — or on the file backend folder `backend_dir`, or a
    throw-away one when neither is given — and yield a StackSession. `overrides` (control id → reason) downgrade
    those controls to advisory in the `--policy-pack-config` files. Raises PulumiCliError on unusable input and
    auto.StackNotFoundError when the stack does not exist and create is False."""
    project = Path(project_dir).resolve()
    packs = [Path(p).resolve() for p in policy_packs]
    ref = parse_stack_ref(project, stack)
    _check_inputs(project, ref, packs)
    cli = find_pulumi_cli(env)
    if cli is None:
        raise PulumiCliError("no pulumi CLI: run scripts/install-pulumi-cli.sh (builds it into .tools/bin)")
    with tempfile.TemporaryDirectory(prefix="guardrails-state-") as scratch_dir:
        scratch = Path(scratch_dir)
        if backend is not None and not backend.throwaway:
            url, rendered, salt_dir = backend.url, project / "rendered", None
        else:
            folder = Path(backend_dir).resolve() if backend_dir is not None else scratch / "backend"
            folder.mkdir(parents=True, exist_ok=True)
            url, rendered, salt_dir = folder.as_uri(), rendered_dir(folder), folder
            backend = Backend(url if backend_dir is not None else None,
                              "backend_dir" if backend_dir is not None else TEMP.origin)
        assert url is not None
        full_env = cli_env(cli, url, render_only=renders_only(project, ref.short), extra=env)
        with _work_copy(project, ref.short, rendered, salt_dir) as (copy, config_file):
            command = auto.PulumiCommand(root=str(cli.parent.parent), skip_version_check=True)
            opts = auto.LocalWorkspaceOptions(work_dir=str(copy), env_vars=full_env, pulumi_command=command)
            select = auto.create_or_select_stack if create else auto.select_stack
            try:
                target = select(stack_name=ref.name, work_dir=str(copy), opts=opts)
            except auto.StackNotFoundError:
                raise
            except auto.CommandError as exc:
                raise PulumiCliError(f"stack {ref.name} on {backend.display()}: {_stderr(exc)}") from None
            yield StackSession(
                stack=target, ref=ref, backend=backend, work_dir=copy, env=full_env,
                policy_packs=[str(p) for p in packs] or None,
                policy_pack_configs=_policy_pack_config_files(project, ref.short, packs, scratch / "policy-config",
                                                              overrides) or None,
                scratch=scratch,
                config_file=str(config_file) if config_file else None,
            )


def _policy_pack_config_files(project: Path, stack: str, packs: Sequence[Path], folder: Path,
                              overrides: Mapping[str, str] | None = None) -> list[str]:
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
        path.write_text(json.dumps(pack_config(pack, settings, project, overrides=overrides) or {}))
        files.append(str(path))
    return files


def _stderr(exc: auto.CommandError) -> str:
    """The CLI's own words (its stderr), without the Automation API's wrapping."""
    text = str(exc)
    return _tail(text.split("stderr:", 1)[1] if "stderr:" in text else text, 10)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(
    operation: str,
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str],
    backend_dir: Path | str | None,
    env: Mapping[str, str] | None,
    *,
    backend: Backend | None = None,
    overrides: Mapping[str, str] | None = None,
    save_plan: Path | None = None,
    plan: Path | None = None,
    refresh: bool = False,
) -> tuple[EngineResult, dict[str, int]]:
    collector = _EventCollector()
    result = EngineResult(engine=ENGINE_NAME, stack=parse_stack_ref(project_dir, stack).short)
    changes: dict[str, int] = {}
    failed = False
    with ExitStack() as scope:
        try:
            # Destroying a stack that does not exist must not create it first.
            session = scope.enter_context(open_stack(
                project_dir, stack, backend, policy_packs=policy_packs, overrides=overrides, backend_dir=backend_dir,
                env=env, create=operation != "destroy"))
        except auto.StackNotFoundError:
            where = backend.display() if backend is not None else "the backend"
            raise PulumiCliError(f"no stack {stack} on {where}: nothing to {operation}") from None
        target = session.stack
        packs, configs = session.policy_packs, session.policy_pack_configs
        try:
            if operation == "preview":
                preview = target.preview(policy_packs=packs, policy_pack_configs=configs, on_event=collector,
                                         color="never", plan=str(save_plan) if save_plan else None,
                                         refresh=refresh or None, config_file=session.config_file)
                changes = dict(preview.change_summary)
            elif operation == "up":
                up = target.up(policy_packs=packs, policy_pack_configs=configs, on_event=collector, color="never",
                               plan=str(plan) if plan else None, refresh=refresh or None,
                               config_file=session.config_file)
                changes = dict(up.summary.resource_changes or {})
            elif operation == "destroy":
                destroyed = target.destroy(on_event=collector, color="never", config_file=session.config_file)
                changes = dict(destroyed.summary.resource_changes or {})
            else:  # pragma: no cover - internal misuse
                raise ValueError(f"unknown operation {operation!r}")
        except auto.CommandError as exc:
            failed = True
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
    if failed and not result.errors and operation != "preview":
        # A preview that fails on mandatory policies is a gate result (the findings); an update that did is a failure.
        result.errors.append(f"pulumi {operation} failed: mandatory policy violation(s) enforced by the CLI")
    return result, {getattr(op, "value", str(op)): count for op, count in changes.items()}


def run_pulumi_preview(
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str] = (),
    *,
    backend: Backend | None = None,
    backend_dir: Path | str | None = None,
    overrides: Mapping[str, str] | None = None,
    save_plan: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    refresh: bool = False,
) -> EngineResult:
    """`pulumi preview --policy-pack …` on `backend` (default: a throw-away file backend, or the folder
    backend_dir); `save_plan` writes the update plan (`--save-plan`) that `run_pulumi_up(plan=...)` deploys;
    `refresh` reads the live state first (`--refresh`), so the plan puts drifted fields back."""
    return _run("preview", project_dir, stack, policy_packs, backend_dir, env, backend=backend, overrides=overrides,
                save_plan=Path(save_plan) if save_plan else None, refresh=refresh)[0]


def run_pulumi_up(
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str] = (),
    *,
    backend: Backend | None = None,
    backend_dir: Path | str | None = None,
    overrides: Mapping[str, str] | None = None,
    plan: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> EngineResult:
    """`pulumi up --yes --policy-pack … [--plan FILE]`; result.errors is empty exactly when the update succeeded."""
    return run_pulumi_up_with_changes(project_dir, stack, policy_packs, backend=backend, backend_dir=backend_dir,
                                      overrides=overrides, plan=plan, env=env)[0]


def run_pulumi_up_with_changes(
    project_dir: Path | str,
    stack: str,
    policy_packs: Sequence[Path | str] = (),
    *,
    backend: Backend | None = None,
    backend_dir: Path | str | None = None,
    overrides: Mapping[str, str] | None = None,
    plan: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    refresh: bool = False,
) -> tuple[EngineResult, dict[str, int]]:
    """Like run_pulumi_up (`refresh`: `--refresh`), plus the engine's change summary (op → count, e.g. {"same": 3})."""
    return _run("up", project_dir, stack, policy_packs, backend_dir, env, backend=backend, overrides=overrides,
                plan=Path(plan) if plan else None, refresh=refresh)


def run_pulumi_destroy(
    project_dir: Path | str,
    stack: str,
    *,
    backend: Backend | None = None,
    backend_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> EngineResult:
    """`pulumi destroy --yes` of the stack on `backend` (or kept in backend_dir)."""
    if backend is None and backend_dir is None:
        raise PulumiCliError("destroy needs the backend that holds the stack (backend= or backend_dir=)")
    return _run("destroy", project_dir, stack, (), backend_dir, env, backend=backend)[0]


# --- previous state -------------------------------------------------------------------------------------------------

def export_deployment(project_dir: Path | str, stack: str, backend: Backend,
                      env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """`pulumi stack export` of the stack on its backend (the `deployment` object), None when the stack does not
    exist there. Secrets stay encrypted (no --show-secrets)."""
    if backend.throwaway:
        return None
    try:
        with open_stack(project_dir, stack, backend, create=False, env=env) as session:
            return dict(session.stack.export_stack().deployment or {})
    except auto.StackNotFoundError:
        return None


def deployed_resources(deployment: Mapping[str, Any] | None) -> list[PlannedResource]:
    """The resources of an exported deployment as PlannedResource records (their inputs as last deployed)."""
    out = []
    for res in (deployment or {}).get("resources") or []:
        if res.get("type") == STACK_TYPE or res.get("delete"):
            continue
        out.append(PlannedResource(
            urn=res["urn"], type=res["type"], name=res["urn"].rsplit("::", 1)[-1], custom=bool(res.get("custom")),
            parent=res.get("parent") or None, provider=res.get("provider") or None,
            inputs=_from_event_value(dict(res.get("inputs") or {})),
        ))
    return attach_sources(out)


def previous_state(project_dir: Path | str, stack: str, backend: Backend | None,
                   env: Mapping[str, str] | None = None) -> PreviousState:
    """What anomaly and change-risk checks compare against: the stack's last deployed state on its backend."""
    if backend is None or backend.throwaway:
        why = "throw-away backend" if backend is not None else "no Pulumi backend in use"
        return PreviousState(None, f"first deploy ({why}: no deployed state to compare with)")
    deployment = export_deployment(project_dir, stack, backend, env)
    resources = deployed_resources(deployment)
    where = f"pulumi stack export ({backend.display()}, stack {stack})"
    if not resources:
        return PreviousState(None, f"first deploy (nothing deployed yet: {where})")
    return PreviousState(resources, where, {"resources": len(resources)})
