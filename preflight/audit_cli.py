"""`preflight audit`: the policy packs and cost predictions against what is deployed — no preview, no program run.

    preflight audit --stack STACK [--json] [--no-refresh] [--policy-pack DIR]

By default the live state is read back from the cluster/cloud (`pulumi refresh --preview-only --json`, which
changes nothing); `--no-refresh` judges the backend's record of the last deployment (`pulumi stack export`), for
runs that cannot reach the cluster. Findings carry the declaration file and line of the field they are about.

Exit codes: 0 no blocking finding; 1 a mandatory violation (or a control that failed closed); 2 usage or input
error, or the deployed state could not be read (nothing was judged).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.text import Text

from preflight.drift import DriftInputError, live_resources, parse_refresh
from preflight.drift_cli import Target, add_live_arguments, run_live_command
from preflight.live_state import LiveStateError, exported_state, judge, refresh_preview, without_providers
from preflight.report import view

EXIT_PASS, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2
SCHEMA = "preflight-audit/1"


def add_audit_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("audit", help="policies and cost against what is deployed (no preview)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_live_arguments(parser)
    parser.add_argument("--no-refresh", action="store_true",
                        help="judge the backend's record of the last deployment instead of reading the live state")
    parser.set_defaults(func=run_audit)
    return parser


def _deployed(args: argparse.Namespace, target: Target) -> tuple[list[Any], str]:
    from preflight.cli import UsageError

    try:
        if args.no_refresh:
            return exported_state(target.project_dir, target.stack), "backend state (pulumi stack export)"
        steps = without_providers(parse_refresh(refresh_preview(target.project_dir, target.stack,
                                                                timeout=args.timeout)))
        return live_resources(steps), "live state (pulumi refresh --preview-only)"
    except (LiveStateError, DriftInputError) as exc:
        raise UsageError(str(exc)) from exc


def build_audit(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    resources, source = _deployed(args, target)
    result: dict[str, Any] = {"schema": SCHEMA, "stack": target.stack, "source": source,
                              "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "resources": len(resources)}
    if not resources:
        result.update(deployed=False, violations=[], gate={"decision": "pass", "reasons": []}, predictions={},
                      errors=[])
        return result
    verdict = judge({"deployed": resources}, target.project_dir, target.stack, target.settings, target.declarations,
                    target.packs)["deployed"]
    result.update(deployed=True, violations=verdict.violations, gate=verdict.gate, predictions=verdict.predictions,
                  errors=verdict.errors, currency=target.currency)
    return result


def render(result: dict[str, Any], console: Console) -> None:
    if not result["deployed"]:
        console.print(Text(f"stack {result['stack']}: nothing deployed ({result['source']})", style="bold"))
        return
    decision = result["gate"]["decision"]
    console.print(Text(f"audit of stack {result['stack']} ({result['source']}, {result['resources']} resources): "
                       f"{decision}, {len(result['violations'])} violation(s)",
                       style="bold red" if decision == "block" else "bold green"))
    for v in result["violations"][:40]:
        where = f" ({v['file']}:{v['line']})" if v.get("file") else ""
        console.print(Text(f"  [{v['severity']}/{v['enforcement']}] {v['policy']} on {v['resource_name']}: "
                           f"{view.detail(v)}{where}"))
    for reason in result["gate"]["reasons"]:
        console.print(Text(f"  blocks: {reason}"))
    rate = view.exchange(result)
    for name, prediction in result["predictions"].items():
        band = prediction["cost_usd_month"]
        console.print(Text(f"  cost {name}: P10 {view.money(band['p10'], rate)}, P50 {view.money(band['p50'], rate)}, "
                           f"P90 {view.money(band['p90'], rate)} per month"))


def run_audit(args: argparse.Namespace) -> int:
    result = run_live_command(args, "audit", build_audit, render)
    if result is None:
        return EXIT_ERROR
    return EXIT_BLOCK if result["gate"]["decision"] == "block" else EXIT_PASS
