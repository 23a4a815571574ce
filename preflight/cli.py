"""`preflight`: preview + policies + predictions + gate, before any `pulumi up`.

Exit codes: 0 pass, 1 gate blocked (or not verified), 2 usage or input error, 3 deploy failed (`up`).
"""


from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import importlib.metadata
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from guardrails_core.atomic import write_atomic
from guardrails_core.settings import (
    CONFIG_FILE_ENV,
    StackConfigError,
    StackSettings,
    load_stack_settings,
    stack_config_dir,
    stack_config_name,
    stack_file,
)
from rich.console import Console
from rich.text import Text

from components.specs import Declaration, DeclarationErrors, load_declarations
from components.specs.loader import declaration_files
from preflight import baseline
from preflight.deploy import EXIT_DEPLOY_FAILED, OverrideError, field_conflicts, override_records, parse_overrides
from preflight.engine.base import EngineResult
from preflight.gate import decide
from preflight.packs import discover_packs, pack_config
from preflight.processes import handle_termination_like_interrupt, interrupted, raise_if_interrupted
from preflight.progress import Progress

if TYPE_CHECKING:
    from preflight.engine.offline import PackStarts

PROJECT = "serverless-guardrails"
EXAMPLES = """\
examples:
  preflight preview                          # the selected stack (PULUMI_STACK or `pulumi stack select`)
  preflight preview --stack prod --html out/prod.html --sarif out/prod.sarif --markdown out/prod.md
  preflight preview --stack dev --json > report.json   # progress and the gate summary still go to stderr
  preflight up --stack cluster --override dc.confidential-cluster-local="SEC-123: demo, expires 2026-12-31"
  preflight policy-config --stack prod -o out/policy-config.json
  preflight verify model.safetensors --bundle model.sigstore.json --identity ID --issuer URL
  preflight observe --stack prod --since 14d        # observed workload, anomalies, idle, rightsizing

The project is found like `pulumi` finds it: the nearest Pulumi.yaml in this folder or above."""
EXIT_PASS, EXIT_BLOCK, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input: exit 2 with the message, nothing previewed or deployed."""


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above `start` holding Pulumi.yaml, as the pulumi CLI looks for it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file() or (folder / "Pulumi.yml").is_file():
            return folder
    raise UsageError(f"no Pulumi.yaml in {start} or any folder above it: run preflight inside the Pulumi project "
                     "or pass --project-dir")


def _project_name(project_dir: Path) -> str | None:
    import yaml

    for name in ("Pulumi.yaml", "Pulumi.yml"):
        path = project_dir / name
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                return None
            return str(data.get("name")) if isinstance(data, dict) and data.get("name") else None
    return None


def selected_stack(project_dir: Path) -> str | None:
    """The stack `pulumi stack select` chose for this project, read where the CLI keeps it:
    `$PULUMI_HOME/workspaces/<project>-<sha1 of the Pulumi.yaml path>-workspace.json` (`{"stack": ...}`).
    Both the user's PULUMI_HOME (default ~/.pulumi) and the repo-local one the pulumi engine uses are looked at."""
    name = _project_name(project_dir)
    if name is None:
        return None
    project_file = next(p for p in (project_dir / "Pulumi.yaml", project_dir / "Pulumi.yml") if p.is_file())
    digest = hashlib.sha1(str(project_file).encode("utf-8")).hexdigest()  # noqa: S324 - the CLI's naming, not security
    homes = [os.environ.get("PULUMI_HOME"), os.environ.get("GUARDRAILS_PULUMI_HOME"),
             str(project_dir / ".pulumi-home"), str(Path.home() / ".pulumi")]
    for home in dict.fromkeys(h for h in homes if h):
        path = Path(home) / "workspaces" / f"{name}-{digest}-workspace.json"
        try:
            stack = _selected_in_workspace(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(stack, str) and stack:
            return stack.rsplit("/", 1)[-1]  # organization/project/stack -> stack
    return None


def _selected_in_workspace(doc: dict) -> object:
    """Older CLIs keep `{"stack": name}`; current ones `{"stacks": {<backend URL>: "org/project/stack"}}` — the
    entry of the backend in use (PULUMI_BACKEND_URL), else the only one."""
    if doc.get("stack"):
        return doc["stack"]
    stacks = doc.get("stacks")
    if not isinstance(stacks, dict) or not stacks:
        return None
    backend = os.environ.get("PULUMI_BACKEND_URL", "").rstrip("/")
    for url, stack in stacks.items():
        if backend and str(url).rstrip("/") == backend:
            return stack
    return next(iter(stacks.values())) if len(stacks) == 1 else None


def available_stacks(project_dir: Path) -> list[str]:
    try:
        folder = stack_config_dir(project_dir)
    except StackConfigError:
        return []
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))


def resolve_target(args: argparse.Namespace) -> None:
    """Fill in `args.project_dir` (walk up to Pulumi.yaml), `args.stack_ref` (--stack, PULUMI_STACK, selected; as
    the user names it, `org/project/stack` too) and `args.stack` (its last segment: stacks/Pulumi.<stack>.yaml)."""
    args.project_dir = str(find_project_dir(Path(args.project_dir or ".")))
    project_dir = Path(args.project_dir)
    if not getattr(args, "stack", None):
        args.stack = os.environ.get("PULUMI_STACK") or selected_stack(project_dir)
    if not args.stack:
        stacks = ", ".join(available_stacks(project_dir)) or "none"
        raise UsageError(f"no stack given: pass --stack NAME, set PULUMI_STACK, or run `pulumi stack select` "
                         f"(stacks: {stacks})")
    args.stack_ref = args.stack
    if "/" in args.stack:
        from preflight.engine.pulumi_cli import PulumiCliError, parse_stack_ref

        try:
            args.stack = parse_stack_ref(project_dir, args.stack).short
        except PulumiCliError as exc:
            raise UsageError(str(exc)) from exc


def _backend(args: argparse.Namespace, project_dir: Path) -> Any:
    """The Pulumi backend of this run (pulumi_cli.Backend), or None when there is none to use: no CLI, or no
    `--backend` and nothing logged in (the offline engine needs none)."""
    from preflight.engine.pulumi_cli import NoBackendError, PulumiCliError, find_pulumi_cli, resolve_backend

    if find_pulumi_cli() is None:
        if getattr(args, "backend", None):
            raise UsageError("--backend: no pulumi CLI found (run `make pulumi-cli` or put pulumi on PATH)")
        return None
    try:
        return resolve_backend(project_dir, getattr(args, "backend", None))
    except NoBackendError:
        return None
    except PulumiCliError as exc:
        raise UsageError(str(exc)) from exc


def _choose_engine(requested: str, settings: StackSettings, backend: Any) -> str:
    # Without a backend to preview against (nothing logged in, no --backend) there is no real stack: offline.
    if requested == "auto" and backend is None:
        return "offline"
    return _engine_with_a_backend(requested, settings)


def _engine_with_a_backend(requested: str, settings: StackSettings) -> str:
    """The engine `_choose_engine` picks when there is a backend to preview against (so "offline" here means offline
    whatever the backend)."""
    if requested != "auto":
        return requested
    from preflight.engine.pulumi_cli import find_pulumi_cli

    # The AWS provider cannot be built offline (DESIGN.md, decision 6): Lambda stacks stay on the offline engine.
    return "pulumi" if find_pulumi_cli() and settings.platforms == ["knative"] else "offline"


def _pack_dirs(args: argparse.Namespace, project_dir: Path) -> list[Path]:
    return [Path(p).resolve() for p in args.policy_pack] or discover_packs(project_dir)


def _start_packs(args: argparse.Namespace, project_dir: Path, settings: StackSettings, packs: list[Path],
                 declarations: int) -> PackStarts | None:
    """The offline engine's pack processes, started before the declarations are read (the engine then finds them
    ready; starting them costs CPU a single-threaded validation leaves idle) — only when the engine is sure to be
    the offline one whatever the backend says (see _choose_engine)."""
    if _engine_with_a_backend(getattr(args, "engine", "auto"), settings) != "offline" or not packs:
        return None
    from preflight.engine.offline import start_packs

    try:
        return start_packs(project_dir, args.stack, packs, declarations)
    except ValueError:  # a bad GUARDRAILS_WORKERS: the engine says so where it is read again
        return None


def _plan(args: argparse.Namespace, project_dir: Path, settings: StackSettings, step: Any, *, backend: Any,
          previous: Any, overrides: dict[str, str], save_plan: Path | None,
          declarations: list[Declaration] | None = None, packs: list[Path] | None = None,
          started: PackStarts | None = None) -> EngineResult:
    packs = packs if packs is not None else _pack_dirs(args, project_dir)
    engine = _choose_engine(args.engine, settings, backend)
    if engine == "pulumi":
        from preflight.engine.pulumi_cli import (
            TEMP,
            NoBackendError,
            PulumiCliError,
            find_pulumi_cli,
            resolve_backend,
            run_pulumi_preview,
        )

        if find_pulumi_cli() is None:
            raise UsageError("--engine pulumi: no pulumi CLI found (run `make pulumi-cli` or put pulumi on PATH)")
        if backend is None:
            try:
                resolve_backend(project_dir, getattr(args, "backend", None))
            except NoBackendError as exc:
                raise UsageError(f"--engine pulumi: {exc}") from exc
        # A preview creates no stack: one not deployed yet on the user's backend is previewed as a new (empty) stack.
        target = backend if (save_plan is not None or previous.resources is not None) else TEMP
        step(f"pulumi preview --policy-pack ({len(packs)} packs) on {target.display()}")
        try:
            result = run_pulumi_preview(project_dir, args.stack_ref, packs, backend=target, overrides=overrides,
                                        save_plan=save_plan, refresh=getattr(args, "refresh", False))
        except PulumiCliError as exc:
            raise UsageError(str(exc)) from exc
        _pack_metadata(result, packs, args.stack, step)
        return result
    from preflight.engine.offline import ProgramError, run_offline

    try:
        return run_offline(project_dir, args.stack, settings, packs, progress=step, overrides=overrides,
                           declarations=declarations, started=started)
    except ProgramError as exc:
        raise UsageError(str(exc)) from exc


def _pack_metadata(result: EngineResult, packs: list[Path], stack: str, step: Any) -> None:
    """The CLI's policy events carry no metadata; ask each pack (GetAnalyzerInfo) for severities and peer ids."""
    from guardrails_pack.prediction_controls import WARM_ENV

    from preflight.crossguard import PackSession
    from preflight.crossguard.errors import CrossGuardError

    for pack_dir in packs:
        step(f"policy metadata from {pack_dir.name}")
        try:
            with PackSession(pack_dir, stack=stack, project=PROJECT, extra_env={WARM_ENV: "0"}) as session:
                result.policies.update({(session.pack_name, n): m for n, m in session.info.policies.items()})
        except CrossGuardError as exc:
            result.errors.append(str(exc))


def _predictions(result: EngineResult, settings: StackSettings, project_dir: Path, previous: Any,
                 errors: list[str], observed_pc: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        from guardrails_predict.plan import predict_plan

        from preflight.gitops import render_recommendation_patches

        # No policy findings: change risk is computed exactly as the gate computes it (it cannot see them).
        predictions = predict_plan(result.resources, settings, previous.resources, project_dir,
                                   observed_pc=observed_pc)
        render_recommendation_patches(predictions, project_dir, start_workers=_worker_count())
        return predictions
    except Exception as exc:  # noqa: BLE001 - fail closed: a missing/corrupt model blocks, never a silent zero
        errors.append(f"predictions: {exc.__class__.__name__}: {exc}")
        return {}


def _warm_report() -> None:
    """The report's modules and its compiled schema validator, loaded while the engine runs (the main process only
    waits then); whatever fails here is done again, and reported, where the report is written."""
    try:
        from preflight.report import links, schema  # noqa: F401 - the import is the point (all the renderers)

        schema.compile_ahead()
    except Exception:  # noqa: BLE001, S110 - see the docstring
        pass


def _worker_count() -> int:
    """Processes the patches needing the round trip may use (the engine's count; a bad GUARDRAILS_WORKERS is the
    engine's error to report, so 1 here)."""
    from preflight.engine.offline import worker_count

    try:
        return worker_count()
    except ValueError:
        return 1


def _supply_chain(result: EngineResult, settings: StackSettings, project_dir: Path,
                  errors: list[str]) -> list[dict[str, Any]]:
    try:
        from guardrails_supply_chain import evaluate_plan

        records, _findings = evaluate_plan(result.resources, settings, project_dir)
        # Violations come from the pack's sc.* controls (the same code); here only the per-artifact records.
        return records
    except Exception as exc:  # noqa: BLE001 - an unverifiable supply chain blocks
        errors.append(f"supply chain: {exc.__class__.__name__}: {exc}")
        return []


_PACK_STEP = re.compile(r"^policy pack (?P<pack>\S+): (?P<count>\d+) resources")


def _engine_progress(progress: Progress, declarations: int) -> Any:
    """The engines report phases as sentences; give the two long ones their counts so they get an ETA."""

    def report(message: str) -> None:
        raise_if_interrupted()  # an interrupt Python swallowed during a lazy import still stops the run
        pack = _PACK_STEP.match(message)
        if message.startswith("running the program"):
            progress.phase(message, key="program", count=declarations, unit="declarations")
        elif pack:
            progress.phase(message, key=f"pack {pack['pack']}", count=int(pack["count"]))
        else:
            progress.phase(message)

    report.advance = progress.advance  # type: ignore[attr-defined] - engines count items with it when present
    return report


def stack_currency(settings: StackSettings, origin: str) -> dict:
    """The report's `currency`: the stated rate of every converted figure. Which codes and dates exist is the
    bundled ECB table's knowledge (the predictions library), so an unknown one is exit 2 here, at load."""
    from guardrails_predict.config import prediction_settings
    from guardrails_predict.resources import PredictionInputError

    try:
        return prediction_settings(settings).exchange.as_dict()
    except PredictionInputError as exc:
        raise StackConfigError(f"{origin}: {exc}") from None


def build(args: argparse.Namespace, console: Console, overrides: dict[str, str] | None = None,
          save_plan: Path | None = None) -> tuple[dict, EngineResult]:
    """Everything `preview` computes: the report document and the engine result. `overrides` (control id → reason)
    downgrade those controls in the engine's policy config; `save_plan` makes the real engine save its update plan
    there (what `up` then deploys)."""
    from preflight.report_builder import build_report, violations
    from preflight.source_map import SourceMap

    project_dir = Path(args.project_dir).resolve()
    try:
        settings = load_stack_settings(project_dir, args.stack)
        currency = stack_currency(settings, str(stack_file(project_dir, args.stack)))
    except StackConfigError as exc:
        raise UsageError(str(exc)) from exc
    observed = _observed_section(args, project_dir, console)  # before the long run, like the base
    from preflight.report.observed import observed_pc_inputs

    observed_pc = observed_pc_inputs(observed)  # one figure per service for the report, the gate and the base
    _share_observed_inputs(observed_pc, project_dir, args.stack)
    base = None
    from preflight.base_report import DEPLOYED

    compare_deployed = getattr(args, "compare_to", None) == DEPLOYED  # priced after the run, from the backend
    if getattr(args, "compare_to", None) and not compare_deployed:
        from preflight.base_report import load_base
        from preflight.report.compare import BaseReportError

        try:  # before the long run: a wrong base is exit 2 at once
            base, base_label = load_base(args.compare_to, project_dir, args.stack, PROJECT)
        except BaseReportError as exc:
            raise UsageError(str(exc)) from None
    declarations = len(declaration_files(project_dir / settings.services_dir))
    with contextlib.ExitStack() as stack, Progress(console, project_dir, enabled=not args.quiet) as progress:
        packs = _pack_dirs(args, project_dir)
        started = _start_packs(args, project_dir, settings, packs, declarations)
        if started is not None:
            stack.enter_context(started)  # stopped, and waited for, on any way out of this block
        progress.phase("reading and validating declarations", key="declarations", count=declarations,
                       unit="files")
        try:
            # Validate every declaration first: bad input is exit 2 with all errors, before anything runs. The
            # loaded declarations (with their node marks) then place every finding on the line of its field.
            loaded = load_declarations(project_dir, args.stack, settings, on_file=progress.advance)
        except DeclarationErrors as exc:
            raise UsageError(str(exc)) from exc
        if not loaded and not getattr(args, "allow_empty", False):
            raise UsageError(f"no declarations in {settings.services_dir}/ (guardrails:servicesDir): nothing to "
                             "check; pass --allow-empty if an empty stack is intended")
        from guardrails_predict.warm import warm_up_in_background

        warm_up_in_background()  # the predictions step's imports and models load while the engine runs
        threading.Thread(target=_warm_report, name="preflight-warm-report", daemon=True).start()
        backend = _backend(args, project_dir)
        if backend is not None:  # without one there is nothing to read (and nothing to wait for)
            progress.phase(f"previous state (the stack's last deployment on {backend.display()})")
        previous_errors: list[str] = []
        previous = baseline.load(project_dir, args.stack_ref, backend, previous_errors)
        if compare_deployed and previous.resources is None:  # before the long run, as for any other base
            raise UsageError(f"--compare-to {DEPLOYED}: no deployed state of stack {args.stack} to compare with: "
                             + "; ".join([previous.source, *previous_errors]))
        result = _plan(args, project_dir, settings, _engine_progress(progress, declarations), backend=backend,
                       previous=previous, overrides=overrides or {}, save_plan=save_plan, declarations=loaded,
                       packs=packs, started=started)
        if started is not None:
            started.stop()  # done with the packs: they exit while the predictions run
        errors = previous_errors + list(result.errors)
        progress.phase("cost and risk predictions", key="predictions", count=len(result.resources),
                       unit="resources")
        predictions = _predictions(result, settings, project_dir, previous, errors, observed_pc)
        progress.phase("supply chain", key="supply chain", count=len(result.resources), unit="resources")
        supply_chain = _supply_chain(result, settings, project_dir, errors)
        progress.phase("gate and report")
    violation_list = violations(result, SourceMap(loaded))
    gate = decide(violation_list, errors)
    doc = build_report(project=PROJECT, stack=args.stack, environment=settings.environment, result=result,
                       violation_list=violation_list, predictions=predictions, supply_chain=supply_chain,
                       gate=gate.as_dict(), overrides=override_records(overrides or {}), errors=errors,
                       project_dir=project_dir)
    doc["previous_state"] = previous.as_report()
    doc["currency"] = currency
    args.resolved_backend = backend
    if compare_deployed:
        from preflight.base_report import deployed_base
        from preflight.report.compare import BaseReportError

        packs = [Path(p).resolve() for p in args.policy_pack] or discover_packs(project_dir)
        try:
            base, base_label = deployed_base(previous, project_dir, args.stack, settings, loaded, packs,
                                             observed_pc, doc["generated_at"])
        except BaseReportError as exc:
            doc["errors"].append(str(exc))  # fail closed: a comparison that could not be made blocks
            doc["gate"] = decide(violation_list, doc["errors"]).as_dict()
    if base is not None:
        from preflight.report.compare import compare_reports

        doc["comparison"] = compare_reports(doc, base, base_label)
    if observed is not None:
        doc["observed"] = observed
    return doc, result


def _share_observed_inputs(inputs: dict[str, Any], project_dir: Path, stack: str) -> None:
    """The observed figures the predictions use reach the packs' budget controls too (one figure for report and
    gate): written to out/observed-pc-<stack>.json, named by GUARDRAILS_OBSERVED_PC for every process of the run."""
    from guardrails_predict.observed import OBSERVED_PC_ENV, write_observed_pc

    if not inputs:
        os.environ.pop(OBSERVED_PC_ENV, None)
        return
    path = project_dir / "out" / f"observed-pc-{stack_config_name(stack)}.json"
    path.parent.mkdir(exist_ok=True)
    write_observed_pc(path, inputs)
    os.environ[OBSERVED_PC_ENV] = str(path)


def _observed_section(args: argparse.Namespace, project_dir: Path, console: Console) -> dict | None:
    """Observed vs predicted: `--observed FILE`, else `preflight observe`'s last file for this stack if there is
    one. A file named on the command line must be usable (exit 2, before the run); a stale default one is skipped
    with a note."""
    from preflight.report.observed import ObservedReportError, default_observed_path, load_observed

    named = getattr(args, "observed", None)
    path = Path(named) if named else default_observed_path(project_dir, stack_config_name(args.stack))
    if not named and not path.is_file():
        return None
    label = path.name if named else path.relative_to(project_dir).as_posix()
    try:
        return load_observed(path, stack=args.stack, label=label)
    except ObservedReportError as exc:
        if named:
            raise UsageError(str(exc)) from None
        console.print(Text(f"note: {exc}; the report has no observed section"), highlight=False, soft_wrap=True)
        return None


def emit(doc: dict, args: argparse.Namespace, console: Console) -> None:
    from preflight.report import prepare_report, render_html, render_markdown, render_sarif, render_terminal, view

    # Each renderer prepares the document again (it must accept any document); with `--json` alone none does.
    doc = prepare_report(doc, remember=not args.json or bool(args.markdown or args.sarif or args.html))
    out = Path(args.project_dir).resolve() / "out"
    out.mkdir(exist_ok=True)
    text = json.dumps(doc, indent=2)  # once: with an indent, json encodes in pure Python (~1 s at 500 services)
    # `org/project/dev` is kept as out/preflight-dev.json, beside its stack file's name
    write_atomic(out / f"preflight-{stack_config_name(args.stack)}.json", text + "\n")
    if args.json:
        print(text)
        # stdout is the JSON; the decision still reaches whoever reads the log (even with --quiet)
        console.print(Text(view.gate_summary(doc).sentence(), style="bold"), soft_wrap=True)
    else:
        render_terminal(doc, console=Console(), verbose=args.verbose)
    from preflight.report.links import blob_base

    source_base = blob_base(Path(args.project_dir)) if args.markdown or args.html else None
    if args.markdown:
        write_atomic(args.markdown, render_markdown(doc, source_base=source_base))
    if args.sarif:
        write_atomic(args.sarif, json.dumps(render_sarif(doc, repo_root=Path(args.project_dir).resolve()), indent=2))
    if args.html:
        write_atomic(args.html, render_html(doc, source_base=source_base))


def cmd_preview(args: argparse.Namespace, console: Console) -> int:
    doc, _ = build(args, console, [])
    emit(doc, args, console)
    return EXIT_PASS if doc["gate"]["decision"] == "pass" else EXIT_BLOCK


def cmd_up(args: argparse.Namespace, console: Console) -> int:
    """Gate exactly what is deployed: `pulumi preview --save-plan` (the gate's engine, packs and config), the gate on
    that plan, then `pulumi up --plan` with it. Exit 3 when the update fails (the report says `deploy: failed`)."""
    import tempfile

    project_dir = Path(args.project_dir).resolve()
    try:
        settings = load_stack_settings(project_dir, args.stack)
        overrides = parse_overrides(args.override, settings, str(stack_file(project_dir, args.stack)))
    except (StackConfigError, OverrideError) as exc:
        raise UsageError(str(exc)) from exc
    from preflight.engine.pulumi_cli import find_pulumi_cli

    if args.refresh and args.engine == "offline":
        raise UsageError("--refresh reads the deployed stack: it needs the pulumi engine, not --engine offline")
    deploys = args.engine != "offline" and find_pulumi_cli() is not None
    with tempfile.TemporaryDirectory(prefix="preflight-plan-") as scratch:
        plan = Path(scratch) / "update-plan.json" if deploys else None
        if deploys and args.engine == "auto":
            args.engine = "pulumi"  # up deploys with the CLI, so the gate must plan with it too
        doc, result = build(args, console, overrides, save_plan=plan)
        backend = args.resolved_backend
        if doc["gate"]["decision"] == "block":
            emit(doc, args, console)
            console.print("[bold red]gate blocked[/]: `pulumi up` was not run (fix the findings, or override a "
                          "control on record: --override CONTROL=\"reason\")")
            return EXIT_BLOCK
        if overrides:
            for record in doc["overrides"]:
                console.print(Text.assemble(("override", "bold yellow"), f" {record['control']} by {record['who']}: "
                                            f"{record['reason']}"), highlight=False)
        if not deploys or result.engine != "pulumi":
            emit(doc, args, console)
            why = "no pulumi CLI found (run `make pulumi-cli`)" if find_pulumi_cli() is None else \
                "--engine offline plans under mocks, and up deploys only a plan the real engine made (--engine pulumi)"
            raise UsageError(f"cannot deploy: {why}; the report was written")
        raise_if_interrupted()
        return _deploy(args, console, doc, project_dir, backend, overrides, plan)


def _deploy(args: argparse.Namespace, console: Console, doc: dict, project_dir: Path, backend: Any,
            overrides: dict[str, str], plan: Path | None) -> int:
    from preflight.engine.pulumi_cli import PulumiCliError, run_pulumi_up_with_changes

    packs = [Path(p).resolve() for p in args.policy_pack] or discover_packs(project_dir)
    deploy: dict[str, Any] = {"status": "failed", "backend": backend.display(), "stack": args.stack_ref,
                              "plan": None}
    doc["deploy"] = deploy
    planned = _plan_size(plan) if plan is not None else None
    if planned is None:
        deploy["error"] = (f"the gating preview left no usable update plan at {plan}: refusing to deploy anything "
                           "other than what was gated (nothing was deployed)")
        return _deploy_failed(doc, args, console)
    deploy["plan"] = f"the gated preview's update plan (pulumi preview --save-plan): {planned} resource plan(s)"
    console.print(f"pulumi up --plan (stack {args.stack_ref} on {backend.display()})", markup=False, highlight=False)
    try:
        result, changes = run_pulumi_up_with_changes(project_dir, args.stack_ref, packs, backend=backend,
                                                     overrides=overrides, plan=plan, refresh=args.refresh)
    except PulumiCliError as exc:
        deploy["error"] = str(exc)
        return _deploy_failed(doc, args, console)
    deploy["changes"] = changes
    if result.errors:
        text = "\n".join(result.errors)
        deploy["error"] = text[-4000:]
        conflicts = field_conflicts(text)
        if conflicts:
            deploy["conflicts"] = [c.as_dict() for c in conflicts]
        return _deploy_failed(doc, args, console)
    deploy["status"] = "succeeded"
    deploy["error"] = None
    emit(doc, args, console)
    summary = ", ".join(f"{op} {n}" for op, n in sorted(changes.items())) or "no changes"
    console.print(f"[bold green]deployed[/]: pulumi up finished ({summary}) on {backend.display()}", highlight=False)
    return EXIT_PASS


def _plan_size(plan: Path) -> int | None:
    """How many resource plans the saved update plan holds; None when there is no usable plan."""
    try:
        doc = json.loads(plan.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return len(doc.get("resourcePlans") or {}) if isinstance(doc, dict) else None


def _deploy_failed(doc: dict, args: argparse.Namespace, console: Console) -> int:
    emit(doc, args, console)
    deploy = doc["deploy"]
    console.print(Text.assemble(("deploy failed", "bold red"), f" (exit {EXIT_DEPLOY_FAILED}): stack {deploy['stack']} "
                                f"on {deploy['backend']}"), highlight=False)
    for conflict in deploy.get("conflicts") or []:
        fields = ", ".join(conflict["fields"])
        console.print(Text.assemble(("  field conflict: ", "bold"), f"{conflict['resource']}: {fields} owned by "
                                    f"field manager {conflict['manager']!r}; {conflict['fix']}"),
                      highlight=False, soft_wrap=True)
    console.print(Text(str(deploy.get("error") or "")[-2000:]), highlight=False, soft_wrap=True)
    return EXIT_DEPLOY_FAILED


def cmd_policy_config(args: argparse.Namespace, console: Console) -> int:
    project_dir = Path(args.project_dir).resolve()
    try:
        settings = load_stack_settings(project_dir, args.stack)
    except StackConfigError as exc:
        raise UsageError(str(exc)) from exc
    packs = discover_packs(project_dir)
    configs = {p.name: pack_config(p, settings, project_dir) for p in packs}
    text = json.dumps(configs.get("guardrails") or {}, indent=2) + "\n"
    if args.output:
        write_atomic(args.output, text)
        console.print(f"wrote {args.output} (use: pulumi preview --policy-pack policy_packs/guardrails "
                      f"--policy-pack-config {args.output})", markup=False, highlight=False)
    else:
        print(text, end="")
    return EXIT_PASS


class Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for mistyped subcommands and options."""

    def error(self, message: str) -> NoReturn:
        hint = self._suggestion(message)
        super().error(message + (f"\n  did you mean {hint}?" if hint else ""))

    def _suggestion(self, message: str) -> str | None:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = re.findall(r"'([^']+)'", choice.group(2)) or [c.strip() for c in choice.group(2).split(",")]
            match = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.5)
            return f"'{match[0]}'" if match else None
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            known = [o for action in self._actions for o in action.option_strings]
            for sub in self._subparsers._group_actions if self._subparsers else []:
                for parser in getattr(sub, "choices", {}).values():
                    known += [o for action in parser._actions for o in action.option_strings]
            for word in unknown.group(1).split():
                if word.startswith("-"):
                    match = difflib.get_close_matches(word.split("=", 1)[0], sorted(set(known)), n=1, cutoff=0.6)
                    if match:
                        return f"'{match[0]}' (for '{word}')"
        return None


def _version() -> str:
    try:
        return importlib.metadata.version("serverless-guardrails")
    except importlib.metadata.PackageNotFoundError:  # a bare checkout, not installed
        return "unknown (not installed)"


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", help="stack name (stacks/Pulumi.<stack>.yaml); default: $PULUMI_STACK, else the "
                                   "stack `pulumi stack select` chose for this project")
    p.add_argument("--project-dir", default=None,
                   help="the Pulumi project (default: the nearest folder with Pulumi.yaml, here or above)")


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="preflight", description=__doc__, epilog=EXAMPLES,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"preflight {_version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, helptext, example in (
        ("preview", "plan, policies, predictions and the gate decision",
         "examples:\n  preflight preview\n  preflight preview --stack prod --html out/prod.html --sarif out/prod.sarif"
         "\n  preflight preview --stack dev --json --quiet > report.json"),
        ("up", "preview --save-plan + gate, then `pulumi up --plan` of exactly that plan when the gate passes",
         "examples:\n  preflight up --stack cluster\n  preflight up --stack cluster --backend temp\n"
         "  preflight up --stack cluster --override dc.confidential-cluster-local=\"SEC-123: demo, expires 2026-12-31\""
         "\n\nexit codes: 0 deployed, 1 gate blocked (nothing deployed), 2 usage error, 3 deploy failed"),
    ):
        p = sub.add_parser(name, help=helptext, description=helptext, epilog=example,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_target(p)
        p.add_argument("--engine", choices=["auto", "offline", "pulumi"], default="auto",
                       help="offline: Pulumi SDK mocks (no CLI, no cloud); pulumi: real `pulumi preview`; auto: "
                            "pulumi when the CLI is present and the stack is Knative-only")
        p.add_argument("--policy-pack", action="append", default=[], metavar="DIR",
                       help="policy pack folder (repeatable; default: every pack in policy_packs/)")
        p.add_argument("--json", action="store_true",
                       help="print the report as JSON on stdout (progress and the gate summary go to stderr)")
        p.add_argument("--sarif", metavar="FILE", help="write SARIF 2.1.0 (GitHub code scanning)")
        p.add_argument("--markdown", metavar="FILE", help="write Markdown (pull-request comment, <= 60,000 chars)")
        p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
        p.add_argument("--verbose", action="store_true",
                       help="print every finding, prediction and artifact in full (default: a bounded summary)")
        p.add_argument("--quiet", action="store_true", help="no progress output")
        p.add_argument("--config-file", metavar="FILE",
                       help="read the stack config from FILE instead of Pulumi.<stack>.yaml (as `pulumi "
                            "--config-file`); the program and the packs get the same file")
        p.add_argument("--observed", metavar="observe.json",
                       help="what `preflight observe` measured, shown beside the predictions (default: "
                            "out/observe/<stack>/observe.json when it exists)")
        p.add_argument("--compare-to", metavar="REF|REPORT.json|deployed",
                       help="the base to compare with: a git ref (main, origin/main, a SHA; previewed offline in a "
                            "temporary worktree), a preflight report JSON, or `deployed` (the stack's last "
                            "deployment on its backend: what runs now); the reports then lead with the cost "
                            "diff and the findings this change adds or resolves")
        p.add_argument("--allow-empty", action="store_true",
                       help="accept a services folder without declarations (otherwise exit 2)")
        p.add_argument("--backend", metavar="URL|temp",
                       help="Pulumi backend (default: the one you are logged into: PULUMI_BACKEND_URL, Pulumi.yaml "
                            "backend.url, `pulumi login`); `temp` = a throw-away file backend, discarded after the run")
        if name == "up":
            p.add_argument("--refresh", action="store_true",
                           help="refresh the stack from what runs before planning, so the gate and the update see "
                                "drift and put Git's values back (drift's `revert` remedy; out-of-band fields owned "
                                "by another manager also need PULUMI_K8S_ENABLE_PATCH_FORCE=true)")
            p.add_argument("--override", metavar="CONTROL=REASON", action="append", default=[],
                           help="downgrade one control to advisory for this deploy (repeatable), e.g. "
                                "dc.confidential-cluster-local=\"SEC-123: demo, expires 2026-12-31\"; recorded with "
                                "who/when/why; refused where guardrails:policy.overrides is forbidden (prod default)")
    # The help lists commands by what they are for: plan and deploy, see what runs, act through Git, tools.
    from preflight.audit_cli import add_audit_parser
    from preflight.destroy_cli import add_destroy_parser
    from preflight.drift_cli import add_drift_parser
    from preflight.observe_cli import add_observe_parser
    from preflight.operator_cli import add_operator_parser
    from preflight.rightsize_cli import add_rightsize_parser
    from preflight.rollout_cli import add_rollout_parser
    from preflight.verify_cli import add_verify_parser

    add_destroy_parser(sub)
    add_drift_parser(sub)
    add_audit_parser(sub)
    add_observe_parser(sub)
    add_rollout_parser(sub)
    add_rightsize_parser(sub)
    pc = sub.add_parser("policy-config", help="the --policy-pack-config JSON for a stack (for the real CLI)",
                        epilog="example:\n  preflight policy-config --stack prod -o out/policy-config.json\n"
                               "  pulumi preview --policy-pack policy_packs/guardrails "
                               "--policy-pack-config out/policy-config.json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_target(pc)
    pc.add_argument("-o", "--output", metavar="FILE", help="write the JSON to FILE (default: stdout)")
    add_verify_parser(sub)
    try:
        from preflight.train_cli import add_train_parser

        add_train_parser(sub)
    except ImportError:
        pass
    add_operator_parser(sub)
    return top


COMMANDS = {"preview": cmd_preview, "up": cmd_up, "policy-config": cmd_policy_config}


def print_error(console: Console, message: object) -> None:
    """`error: <message>` on stderr; the message (user text, patterns) is never parsed as Rich markup."""
    console.print(Text.assemble(("error", "bold red"), ": ", str(message)), highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    console = Console(stderr=True)
    try:
        handle_termination_like_interrupt()
        try:
            args = parser().parse_args(argv)
        except SystemExit as exc:  # argparse: --help is 0, usage errors are 2
            return int(exc.code or 0)
        if args.command in COMMANDS:
            resolve_target(args)
            if getattr(args, "config_file", None):
                # one setting for preflight and every process it starts (program, packs): see CONFIG_FILE_ENV
                os.environ[CONFIG_FILE_ENV] = str(Path(args.config_file).resolve())
            code = COMMANDS[args.command](args, console)
        else:
            code = int(args.func(args))
        raise_if_interrupted()
        return code
    except UsageError as exc:
        print_error(console, exc)
        return EXIT_USAGE
    except ValueError as exc:  # e.g. an override without a reason
        print_error(console, exc)
        return EXIT_USAGE
    except OSError as exc:  # e.g. a report path that cannot be written: name the file, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(console, f"{where}{exc.strerror or exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("interrupted: child processes stopped, nothing deployed", markup=False, highlight=False)
        return 130
    except Exception:
        # pydantic-core and grpc turn a KeyboardInterrupt raised inside them into their own errors (SchemaError,
        # RpcError): after a signal, any failure is the interrupt's doing.
        if interrupted():
            console.print("interrupted: child processes stopped, nothing deployed", markup=False, highlight=False)
            return 130
        raise


if __name__ == "__main__":
    sys.exit(main())
