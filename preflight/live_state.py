"""What is deployed, read through the real Pulumi CLI on the user's backend, and judged like a preview is.

* `refresh_preview`: `pulumi refresh --preview-only --json` — the provider reads every resource back from the
  cluster/cloud and compares it with the backend's state; nothing is written (no state change, no program run).
* `exported_state`: `pulumi stack export` (the engine's) — the backend's record of the last deployment, without
  asking the cluster (what `preflight audit --no-refresh` judges).
* `judge`: the policy packs over a set of deployed resources (the CrossGuard driver, as the offline engine drives
  them) and the cost predictions for them (guardrails_predict), each finding on the line of its field.

The CLI runs in the project folder on the user's backend (`PULUMI_BACKEND_URL`, Pulumi.yaml's `backend.url`, or
`pulumi login`: the engine's `resolve_backend`) and cluster (the stack's `kubernetes:kubeconfig`, or `KUBECONFIG`),
with the engine's CLI environment: no update checks, no plugin downloads (no network at run time).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings, read_stack_config

from preflight.drift import Step
from preflight.engine.base import EngineResult, PlannedResource
from preflight.processes import child_command, child_process_options, kill_child, raise_if_interrupted

DEFAULT_TIMEOUT_S = 600.0
PROJECT = "serverless-guardrails"


class LiveStateError(RuntimeError):
    """The CLI could not read the deployed state (no CLI, no such stack, backend or cluster unreachable...)."""


def config_stack(stack: str) -> str:
    """`org/project/stack` or `org/stack` as the CLI takes it -> the stack config name (stacks/Pulumi.<name>.yaml)."""
    return stack.rsplit("/", 1)[-1]


def _environment(project_dir: Path, stack: str, cli: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The user's backend (the engine's resolution: --backend is not offered here, a throw-away backend holds no
    deployment) and the engine's CLI environment, over the user's own (HOME, credentials, cloud variables)."""
    from preflight.engine.pulumi_cli import NoBackendError, PulumiCliError, cli_env, renders_only, resolve_backend

    try:
        backend = resolve_backend(project_dir)
    except (NoBackendError, PulumiCliError) as exc:
        raise LiveStateError(str(exc)) from None
    env = {**os.environ, **cli_env(cli, backend.url, render_only=renders_only(project_dir, stack))}
    env.update(extra or {})
    return env


def _pulumi(project_dir: Path, args: Sequence[str], *, timeout: float, env: Mapping[str, str] | None) -> str:
    from preflight.engine.pulumi_cli import find_pulumi_cli

    cli = find_pulumi_cli()
    if cli is None:
        raise LiveStateError("no pulumi CLI: run scripts/install-pulumi-cli.sh (or put pulumi on PATH); reading what "
                             "is deployed needs the real CLI and the stack's backend")
    command = [str(cli), *args, "--non-interactive"]
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        child = subprocess.Popen(child_command(command), cwd=project_dir, stdout=out, stderr=err, text=True,
                                 env=_environment(project_dir, args[args.index("--stack") + 1], cli, env),
                                 **child_process_options())
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_child(child)
            raise LiveStateError(f"`pulumi {' '.join(args[:2])}` did not finish within {timeout:.0f}s") from None
        except BaseException:
            kill_child(child)
            raise
        raise_if_interrupted()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise LiveStateError(f"`pulumi {' '.join(args[:2])} --stack ...` failed (exit {child.returncode}): "
                             f"{_reason(stdout, stderr)}")
    return stdout


def _reason(stdout: str, stderr: str) -> str:
    """The engine's own error lines: from the JSON document's diagnostics when there is one, else stderr."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        doc = None
    lines = [d.get("message", "").strip() for d in (doc or {}).get("diagnostics", [])
             if isinstance(d, dict) and d.get("severity") == "error"] if isinstance(doc, dict) else []
    text = "\n".join(line for line in lines if line) or stderr.strip() or stdout.strip()
    return "\n".join(text.splitlines()[-15:]) or "no output"


def refresh_preview(project_dir: Path, stack: str, *, timeout: float = DEFAULT_TIMEOUT_S,
                    env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `pulumi refresh --preview-only --json` document of the stack (nothing is changed)."""
    text = _pulumi(project_dir, ["refresh", "--preview-only", "--json", "--stack", stack, "--color", "never"],
                   timeout=timeout, env=env)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise LiveStateError(f"`pulumi refresh --preview-only --json` printed no JSON document ({exc})") from None
    if not isinstance(doc, dict):
        raise LiveStateError("`pulumi refresh --preview-only --json` printed JSON that is not an object")
    return doc


def exported_state(project_dir: Path, stack: str) -> list[PlannedResource]:
    """The resources of the stack's last deployment as the backend records them (`pulumi stack export`)."""
    from preflight.engine.pulumi_cli import (
        NoBackendError,
        PulumiCliError,
        deployed_resources,
        export_deployment,
        resolve_backend,
    )

    try:
        deployment = export_deployment(project_dir, stack, resolve_backend(project_dir))
    except (NoBackendError, PulumiCliError) as exc:
        raise LiveStateError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the Automation API raises CommandError & co.; all mean "not read"
        raise LiveStateError(f"`pulumi stack export --stack {stack}` failed: {exc}") from None
    return [r for r in deployed_resources(deployment) if not r.type.startswith("pulumi:providers:")]


def without_providers(steps: Sequence[Step]) -> list[Step]:
    """Provider resources carry credentials and no workload: never judged, never reported."""
    return [s for s in steps if not (s.old or s.new).type.startswith("pulumi:providers:")]


@dataclass
class Verdict:
    """Policies and predictions over one set of deployed resources."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def judge(sets: Mapping[str, Sequence[PlannedResource]], project_dir: Path, stack: str, settings: StackSettings,
          declarations: Sequence[Any], packs: Sequence[Path], observed_pc: Mapping[str, Any] | None = None,
          ) -> dict[str, Verdict]:
    """Each named set of resources through every pack (one started pack process per pack serves all sets) and the
    cost predictions (with the observed PC utilisation the preview uses, when given). Pack and model failures are
    errors (they block, as in a preview)."""
    from preflight.crossguard import PackSession
    from preflight.crossguard.errors import CrossGuardError
    from preflight.gate import decide
    from preflight.packs import pack_config
    from preflight.report_builder import violations
    from preflight.source_map import SourceMap

    stack_config = read_stack_config(project_dir, config_stack(stack))
    results = {name: EngineResult(engine="pulumi", stack=stack, resources=list(res)) for name, res in sets.items()}
    for pack_dir in packs:
        try:
            with PackSession(pack_dir, stack=config_stack(stack), project=PROJECT, dry_run=False,
                             stack_config=stack_config) as session:
                config = pack_config(pack_dir, settings, project_dir)
                for result in results.values():
                    run = session.run(result.resources, config)
                    result.findings.extend(run.findings)
                    result.errors.extend(run.errors)
                    if session.info is not None:
                        result.policies.update({(run.pack, n): m for n, m in session.info.policies.items()})
        except CrossGuardError as exc:
            for result in results.values():
                result.errors.append(str(exc))
    source_map = SourceMap(declarations)
    verdicts = {}
    for name, result in results.items():
        errors = list(result.errors)
        predictions = _predictions(result.resources, settings, project_dir, errors, observed_pc)
        found = violations(result, source_map)
        verdicts[name] = Verdict(found, decide(found, errors).as_dict(), predictions, errors)
    return verdicts


def _predictions(resources: Sequence[PlannedResource], settings: StackSettings, project_dir: Path,
                 errors: list[str], observed_pc: Mapping[str, Any] | None = None) -> dict[str, Any]:
    try:
        from guardrails_predict.plan import predict_plan

        # Deployed state has no "previous" to compare with here: change risk is about a preview, not a drift.
        return predict_plan(resources, settings, None, project_dir, observed_pc=observed_pc)
    except Exception as exc:  # noqa: BLE001 - fail closed, as the preview does: a broken model is an error
        errors.append(f"predictions: {exc.__class__.__name__}: {exc}")
        return {}
