"""`preflight`: preview + policies + predictions + gate, before any `pulumi up`.

Exit codes: 0 pass, 1 gate blocked (or not verified), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from guardrails_core.atomic import write_atomic
from guardrails_core.settings import StackConfigError, StackSettings, load_stack_settings, stack_file
from rich.console import Console
from rich.text import Text

from components.specs import DeclarationErrors, load_declarations
from preflight import baseline
from preflight.engine.base import EngineResult
from preflight.gate import decide, override_record
from preflight.packs import discover_packs, pack_config
from preflight.processes import handle_termination_like_interrupt, interrupted, raise_if_interrupted

PROJECT = "serverless-guardrails"
EXIT_PASS, EXIT_BLOCK, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input: exit 2 with the message, nothing previewed or deployed."""


@contextmanager
def _steps(console: Console, quiet: bool) -> Iterator[Any]:
    """Progress while the program and packs run (stderr; a spinner on a terminal, timed lines in CI logs)."""
    started = time.perf_counter()
    status = console.status("preflight", spinner="dots") if console.is_terminal and not quiet else None

    def step(message: str) -> None:
        raise_if_interrupted()  # an interrupt Python swallowed during a lazy import still stops the run
        if quiet:
            return
        if status is not None:
            status.update(Text.assemble(("preflight", "bold"), f": {message}"))
        else:
            console.print(f"[preflight {time.perf_counter() - started:6.1f}s] {message}",
                          highlight=False, markup=False)

    if status is None:
        yield step
    else:
        with status:
            yield step


def _choose_engine(requested: str, settings: StackSettings) -> str:
    if requested != "auto":
        return requested
    from preflight.engine.pulumi_cli import find_pulumi_cli

    # The AWS provider cannot be built offline (DESIGN.md §6): stacks with Lambda stay on the offline engine.
    return "pulumi" if find_pulumi_cli() and settings.platforms == ["knative"] else "offline"


def _plan(args: argparse.Namespace, project_dir: Path, settings: StackSettings, step: Any) -> EngineResult:
    packs = [Path(p).resolve() for p in args.policy_pack] or discover_packs(project_dir)
    engine = _choose_engine(args.engine, settings)
    if engine == "pulumi":
        from preflight.engine.pulumi_cli import PulumiCliError, find_pulumi_cli, run_pulumi_preview

        if find_pulumi_cli() is None:
            raise UsageError("--engine pulumi: no pulumi CLI found (run `make pulumi-cli` or put pulumi on PATH)")
        step(f"pulumi preview --policy-pack ({len(packs)} packs)")
        try:
            result = run_pulumi_preview(project_dir, args.stack, packs)
        except PulumiCliError as exc:
            raise UsageError(str(exc)) from exc
        _pack_metadata(result, packs, args.stack, step)
        return result
    from preflight.engine.offline import ProgramError, run_offline

    try:
        return run_offline(project_dir, args.stack, settings, packs, progress=step)
    except ProgramError as exc:
        raise UsageError(str(exc)) from exc


def _pack_metadata(result: EngineResult, packs: list[Path], stack: str, step: Any) -> None:
    """The CLI's policy events carry no metadata; ask each pack (GetAnalyzerInfo) for severities and peer ids."""
    from preflight.crossguard import PackSession
    from preflight.crossguard.errors import CrossGuardError

    for pack_dir in packs:
        step(f"policy metadata from {pack_dir.name}")
        try:
            with PackSession(pack_dir, stack=stack, project=PROJECT) as session:
                result.policies.update({(session.pack_name, n): m for n, m in session.info.policies.items()})
        except CrossGuardError as exc:
            result.errors.append(str(exc))


def _predictions(result: EngineResult, settings: StackSettings, project_dir: Path, stack: str,
                 errors: list[str]) -> dict[str, Any]:
    try:
        from guardrails_predict.plan import predict_plan

        return predict_plan(result.resources, settings, baseline.load(project_dir, stack), project_dir,
                            findings=result.findings)
    except Exception as exc:  # noqa: BLE001 - fail closed: a missing/corrupt model blocks, never a silent zero
        errors.append(f"predictions: {exc.__class__.__name__}: {exc}")
        return {}


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


def _check_library_sections(settings: StackSettings, origin: str) -> None:
    """The free-form sections (`budgets`, `risk`, `supplyChain`) are validated by the libraries that own them; do
    it at load so a typo (`stackMonthlyUSD`, `trustedRot`) is exit 2 naming the file, not a blocked gate later."""
    from guardrails_predict.config import prediction_settings
    from guardrails_predict.resources import PredictionInputError
    from guardrails_supply_chain import SupplyChainConfigError, parse_supply_chain_settings

    try:
        prediction_settings(settings)
        parse_supply_chain_settings(settings.supply_chain)
    except (PredictionInputError, SupplyChainConfigError) as exc:
        raise StackConfigError(f"{origin}: {exc}") from None


def build(args: argparse.Namespace, console: Console, overrides: list[dict[str, str]]) -> tuple[dict, EngineResult]:
    """Everything `preview` computes: the report document and the engine result."""
    from preflight.report_builder import build_report, violations

    project_dir = Path(args.project_dir).resolve()
    try:
        settings = load_stack_settings(project_dir, args.stack)
        _check_library_sections(settings, str(stack_file(project_dir, args.stack)))
        # Validate every declaration first: bad input is exit 2 with all errors, before anything runs.
        declarations = load_declarations(project_dir, args.stack, settings)
    except (StackConfigError, DeclarationErrors) as exc:
        raise UsageError(str(exc)) from exc
    if not declarations and not getattr(args, "allow_empty", False):
        raise UsageError(f"no declarations in {settings.services_dir}/ (guardrails:servicesDir): nothing to check; "
                         "pass --allow-empty if an empty stack is intended")
    with _steps(console, args.quiet) as step:
        result = _plan(args, project_dir, settings, step)
        errors = list(result.errors)
        step("cost and risk predictions")
        predictions = _predictions(result, settings, project_dir, args.stack, errors)
        step("supply chain")
        supply_chain = _supply_chain(result, settings, project_dir, errors)
        step("gate and report")
    violation_list = violations(result)
    gate = decide(violation_list, errors)
    doc = build_report(project=PROJECT, stack=args.stack, environment=settings.environment, result=result,
                       violation_list=violation_list, predictions=predictions, supply_chain=supply_chain,
                       gate=gate.as_dict(), overrides=overrides, errors=errors)
    return doc, result


def emit(doc: dict, args: argparse.Namespace, console: Console) -> None:
    from preflight.report import prepare_report, render_html, render_markdown, render_sarif, render_terminal

    doc = prepare_report(doc)
    out = Path(args.project_dir).resolve() / "out"
    out.mkdir(exist_ok=True)
    write_atomic(out / f"preflight-{args.stack}.json", json.dumps(doc, indent=2) + "\n")  # always kept
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        render_terminal(doc, console=Console())
    if args.markdown:
        write_atomic(args.markdown, render_markdown(doc))
    if args.sarif:
        write_atomic(args.sarif, json.dumps(render_sarif(doc, repo_root=Path(args.project_dir).resolve()), indent=2))
    if args.html:
        write_atomic(args.html, render_html(doc))


def cmd_preview(args: argparse.Namespace, console: Console) -> int:
    doc, _ = build(args, console, [])
    emit(doc, args, console)
    return EXIT_PASS if doc["gate"]["decision"] == "pass" else EXIT_BLOCK


def cmd_up(args: argparse.Namespace, console: Console) -> int:
    overrides = [override_record(args.override)] if args.override is not None else []
    doc, result = build(args, console, overrides)
    emit(doc, args, console)
    if doc["gate"]["decision"] == "block" and not overrides:
        console.print("[bold red]gate blocked[/]: `pulumi up` was not run (fix the findings, or "
                      "--override \"reason\" to proceed on record)")
        return EXIT_BLOCK
    if overrides:
        console.print(Text.assemble(("gate overridden", "bold yellow"),
                                    f" by {overrides[0]['who']}: {overrides[0]['reason']}"), highlight=False)
    raise_if_interrupted()
    from preflight.engine.pulumi_cli import PulumiCliError, find_pulumi_cli, run_pulumi_up

    if find_pulumi_cli() is None:
        raise UsageError("cannot deploy: no pulumi CLI found (run `make pulumi-cli`); the report was written")
    project_dir = Path(args.project_dir).resolve()
    packs = [Path(p).resolve() for p in args.policy_pack] or discover_packs(project_dir)
    try:
        run_pulumi_up(project_dir, args.stack, packs, backend_dir=project_dir / ".pulumi-state")
    except PulumiCliError as exc:
        raise UsageError(str(exc)) from exc
    baseline.save(project_dir, args.stack, result.resources)
    console.print("[bold green]pulumi up finished[/]")
    return EXIT_PASS


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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="preflight", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    for name, helptext in (("preview", "plan, policies, predictions and the gate decision"),
                           ("up", "preview + gate, then `pulumi up` only when the gate passes")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
        p.add_argument("--engine", choices=["auto", "offline", "pulumi"], default="auto",
                       help="offline: Pulumi SDK mocks (no CLI, no cloud); pulumi: real `pulumi preview`; auto: "
                            "pulumi when the CLI is present and the stack is Knative-only")
        p.add_argument("--policy-pack", action="append", default=[], metavar="DIR",
                       help="policy pack folder (repeatable; default: every pack in policy_packs/)")
        p.add_argument("--project-dir", default=".", help="the Pulumi project (default: .)")
        p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
        p.add_argument("--sarif", metavar="FILE", help="write SARIF 2.1.0")
        p.add_argument("--markdown", metavar="FILE", help="write Markdown (pull-request comment)")
        p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
        p.add_argument("--quiet", action="store_true", help="no progress output")
        p.add_argument("--allow-empty", action="store_true",
                       help="accept a services folder without declarations (otherwise exit 2)")
        if name == "up":
            p.add_argument("--override", metavar="REASON",
                           help="deploy despite a blocked gate; the reason, who and when go into the report")
    pc = sub.add_parser("policy-config", help="the --policy-pack-config JSON for a stack (for the real CLI)")
    pc.add_argument("--stack", required=True)
    pc.add_argument("--project-dir", default=".")
    pc.add_argument("-o", "--output", metavar="FILE")
    from preflight.verify_cli import add_verify_parser

    add_verify_parser(sub)
    try:
        from preflight.train_cli import add_train_parser

        add_train_parser(sub)
    except ImportError:
        pass
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
        code = COMMANDS[args.command](args, console) if args.command in COMMANDS else int(args.func(args))
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
