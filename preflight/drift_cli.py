"""`preflight drift`: what runs differs from Git — which field, on which line, who changed it, and what to do.

    preflight drift --stack STACK [--json] [--policy-pack DIR] [--refresh-json FILE]

Runs `pulumi refresh --preview-only --json` on the stack's own backend and cluster (nothing is changed), then for
every drifted resource and field: the declaration file and line of that field, deployed → live, who changed it and
when (the live object's `metadata.managedFields`), whether the live state violates the guardrails (the packs run on
the refreshed live state, compared with the deployed one), the cost impact (predictions for live vs deployed), and
two remedies, both shown and neither applied: `revert` (re-apply Git) and `adopt` (a `git apply`-able diff that
makes the declarations say what runs). A field that drifts back after every `up` is reported as a reconciliation
loop, with both field managers (observations are kept in `.preflight-cache/drift-<stack>.json`).

Exit codes: 0 no drift; 1 drift found; 2 usage or input error, or the deployed state could not be read.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guardrails_core.atomic import write_atomic
from guardrails_core.source import SOURCE_KEY
from guardrails_core.values import SECRET_MARK
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from preflight.adopt import AdoptError, FieldEdit, adopt_patch
from preflight.drift import (
    DriftInputError,
    ResourceDrift,
    declared_resources,
    find_drift,
    live_resources,
    load_ledger,
    mark_loops,
    parse_refresh,
    save_ledger,
    shown,
)
from preflight.live_state import LiveStateError, config_stack, judge, refresh_preview, without_providers
from preflight.report import view

EXIT_NO_DRIFT, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2
SCHEMA = "preflight-drift/1"
LEDGER_DIR = ".preflight-cache"
# Rendered properties whose declaration value the component overwrites: adopting them into Git changes nothing.
_NOT_ADOPTABLE = {("metadata", "annotations", SOURCE_KEY): "written by the component from the file and line",
                  ("metadata", "namespace"): "a different namespace is a different object",
                  ("metadata", "name"): "a different name is a different object"}
# AWS properties that hold the declaration's value unchanged (others are rendered: adopt them by hand).
_SAME_VALUE_ORIGINS = frozenset({"spec.memoryMib", "spec.timeoutSeconds", "spec.runtime", "spec.handler",
                                 "spec.reservedConcurrency", "spec.logRetentionDays", "spec.provisionedConcurrency",
                                 "spec.kmsKeyArn", "spec.description"})


def add_drift_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "drift", help="what runs vs Git: drifted fields with line, who/when, policy verdict, cost, remedies",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_live_arguments(parser)
    parser.add_argument("--refresh-json", metavar="FILE",
                        help="judge a saved `pulumi refresh --preview-only --json` document instead of running it")
    parser.add_argument("--no-ledger", action="store_true",
                        help="do not read or record drift observations (no loop detection)")
    parser.set_defaults(func=run_drift)
    return parser


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `drift` and `audit` share."""
    parser.add_argument("--stack", help="stack (stacks/Pulumi.<stack>.yaml; `org/project/stack` is passed to the CLI "
                                        "as given); default: $PULUMI_STACK, else the selected stack")
    parser.add_argument("--project-dir", default=None,
                        help="the Pulumi project (default: the nearest folder with Pulumi.yaml, here or above)")
    parser.add_argument("--policy-pack", action="append", default=[], metavar="DIR",
                        help="policy pack folder (repeatable; default: every pack in policy_packs/)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the CLI may take (default 600)")


class Target:
    """Project, stack, settings, declarations and packs: what every live-state command starts from."""

    def __init__(self, args: argparse.Namespace) -> None:
        from guardrails_core.settings import StackConfigError, load_stack_settings, stack_file

        from components.specs import DeclarationErrors, load_declarations
        from preflight.cli import UsageError, resolve_target, stack_currency
        from preflight.packs import discover_packs

        resolve_target(args)
        self.project_dir = Path(args.project_dir).resolve()
        self.stack = getattr(args, "stack_ref", None) or args.stack  # as the user named it (org/project/stack)
        try:
            self.settings = load_stack_settings(self.project_dir, config_stack(self.stack))
            self.declarations = load_declarations(self.project_dir, config_stack(self.stack), self.settings)
            # the stated rate of the figures shown (they stay USD in the JSON); an unknown currency is exit 2 here
            self.currency = stack_currency(self.settings, str(stack_file(self.project_dir, config_stack(self.stack))))
        except (StackConfigError, DeclarationErrors) as exc:
            raise UsageError(str(exc)) from exc
        self.packs = [Path(p).resolve() for p in args.policy_pack] or discover_packs(self.project_dir)


def _read_refresh(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    from preflight.cli import UsageError

    if args.refresh_json:
        try:
            doc = json.loads(Path(args.refresh_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--refresh-json {args.refresh_json}: not a readable JSON document ({exc})") from exc
        return doc
    try:
        return refresh_preview(target.project_dir, target.stack, timeout=args.timeout)
    except LiveStateError as exc:
        raise UsageError(str(exc)) from exc


def revert_command(stack: str, drifts: Sequence[ResourceDrift]) -> dict[str, Any]:
    """Re-apply Git. The refresh makes the engine see the live values (without it state and program agree and the
    update is a no-op); patch-force takes the fields back from the manager that changed them (server-side apply
    refuses otherwise, with a field conflict naming that manager)."""
    managers = sorted({f.changed_by.manager for d in drifts for f in d.fields if f.changed_by})
    quoted = shlex.quote(stack)
    force = "PULUMI_K8S_ENABLE_PATCH_FORCE=true"
    command = f"{force} preflight up --stack {quoted} --refresh"
    note = "re-applies the declarations in Git; the gate runs first, on the refreshed plan, as for any `up`"
    if managers:
        note += f"; takes the fields back from {', '.join(managers)}"
    return {"command": command, "note": note}


def adopt_remedy(target: Target, drifts: Sequence[ResourceDrift]) -> dict[str, Any]:
    from preflight.report.links import git_output

    edits, manual = [], []
    for drift in drifts:
        for item in drift.fields:
            why = _NOT_ADOPTABLE.get(tuple(item.path))
            if SECRET_MARK in (item.live, item.deployed):
                why = "a secret: its value is never shown, and never written to Git"
            elif drift.op == "delete":
                why = "the resource was deleted out of band: remove its declaration, or revert"
            elif item.declaration_path is None or item.file is None:
                why = why or "no declaration field renders this property"
            elif drift.type != "kubernetes:serving.knative.dev/v1:Service" and \
                    ".".join(map(str, item.declaration_path)) not in _SAME_VALUE_ORIGINS:
                why = why or "the component renders this property from the declaration: edit it by hand"
            if why:
                manual.append({"resource": drift.name, "field": item.as_dict()["field"], "why": why})
                continue
            declaration = next((d for d in target.declarations
                                if (d.file, d.line) == (drift.file, drift.line)), None)
            if declaration is None:
                manual.append({"resource": drift.name, "field": item.as_dict()["field"],
                               "why": "its declaration is not in this checkout"})
                continue
            in_overlay = declaration.overlay is not None and item.file == declaration.overlay.file
            line = declaration.overlay.line if in_overlay else declaration.line
            edits.append(FieldEdit(item.file, line, tuple(item.declaration_path), item.live))
    top = git_output(target.project_dir, "rev-parse", "--show-toplevel")
    prefix = ""
    if top:
        inside = target.project_dir.relative_to(Path(top).resolve()).as_posix()
        prefix = "" if inside == "." else inside + "/"
    try:
        patch = adopt_patch(target.project_dir, edits, prefix)
    except AdoptError as exc:
        return {"patch": None, "error": str(exc), "not_adoptable": manual}
    return {"patch": patch or None, "command": "git apply <the patch> && git commit" if patch else None,
            "files": sorted({e.file for e in edits}), "not_adoptable": manual}


def _policy_summary(deployed: Any, live: Any) -> dict[str, Any]:
    def key(v: dict[str, Any]) -> tuple:
        return v["policy"], v["resource_urn"], v["message"]

    before = {key(v) for v in deployed.violations}
    after = {key(v) for v in live.violations}
    return {
        "decision": live.gate.get("decision"),
        "deployed_decision": deployed.gate.get("decision"),
        "reasons": live.gate.get("reasons", []),
        "new_violations": [v for v in live.violations if key(v) not in before],
        "resolved_violations": [v for v in deployed.violations if key(v) not in after],
        "live_violations": len(live.violations),
    }


def _cost_summary(deployed: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in sorted(set(deployed) | set(live)):
        before = (deployed.get(name) or {}).get("cost_usd_month")
        after = (live.get(name) or {}).get("cost_usd_month")
        entry: dict[str, Any] = {"deployed": before, "live": after}
        if before and after:
            entry["delta"] = {q: round(after[q] - before[q], 2) for q in ("p10", "p50", "p90")}
        out[name] = entry
    return out


def build_drift(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    from preflight.cli import UsageError

    started = time.monotonic()
    doc = _read_refresh(args, target)
    try:
        steps = without_providers(parse_refresh(doc))
    except DriftInputError as exc:
        raise UsageError(f"{args.refresh_json or 'pulumi refresh --preview-only --json'}: {exc}") from exc
    drifts = find_drift(steps, target.declarations)
    ledger_path = target.project_dir / LEDGER_DIR / f"drift-{config_stack(target.stack)}.json"
    loops: list[dict[str, Any]] = []
    if drifts and not args.no_ledger:
        ledger = load_ledger(ledger_path)
        loops = mark_loops(drifts, ledger)
        save_ledger(ledger_path, ledger)
    result: dict[str, Any] = {
        "schema": SCHEMA, "stack": target.stack,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "resources_checked": len(steps), "drifted": bool(drifts),
        "resources": [d.as_dict() for d in drifts], "loops": loops, "errors": [],
    }
    if drifts:
        verdicts = judge({"deployed": declared_resources(steps), "live": live_resources(steps)}, target.project_dir,
                         target.stack, target.settings, target.declarations, target.packs)
        result["policies"] = _policy_summary(verdicts["deployed"], verdicts["live"])
        result["cost"] = _cost_summary(verdicts["deployed"].predictions, verdicts["live"].predictions)
        result["currency"] = target.currency
        result["errors"] = list(dict.fromkeys(verdicts["deployed"].errors + verdicts["live"].errors))
        result["remedies"] = {"revert": revert_command(target.stack, drifts), "adopt": adopt_remedy(target, drifts)}
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def render(result: dict[str, Any], console: Console) -> None:
    if not result["resources_checked"]:
        console.print(Text(f"nothing is deployed on stack {result['stack']}: no drift to report", style="bold"))
        return
    if not result["drifted"]:
        console.print(Text(f"no drift on stack {result['stack']}: {result['resources_checked']} resources match "
                           "what was deployed", style="bold green"))
        return
    fields = sum(len(r["fields"]) for r in result["resources"])
    console.print(Text(f"drift on stack {result['stack']}: {len(result['resources'])} resource(s), {fields} "
                       f"field(s) (of {result['resources_checked']} resources)", style="bold red"))
    for res in result["resources"]:
        console.print(Text.assemble(("\n" + res["name"], "bold"), f" ({res['type']})",
                                    " deleted out of band" if res["op"] == "delete" else ""))
        for item in res["fields"]:
            console.print(Text.assemble("  ", (item["field"] or "(whole object)", "bold"), ": ",
                                        shown(item["deployed"]), " → ", (shown(item["live"]), "yellow")))
            if item["file"]:
                console.print(Text(f"    declared at {item['file']}:{item['line']}"))
            who = item["changed_by"]
            console.print(Text(f"    changed by {who['manager']} ({who['operation']}) at {who['time']}" if who
                               else "    changed by: no field manager other than Pulumi's owns it"))
            if item["loop"]:
                loop = item["loop"]
                console.print(Text(f"    reconciliation loop: drifted again after {loop['times'] - 1} re-apply(s) "
                                   f"by {loop['pulumi_manager']}; other writer(s): "
                                   f"{', '.join(loop['other_managers']) or 'unknown'}", style="bold magenta"))
                console.print(Text(f"    fix: {loop['fix']}"))
    policies = result.get("policies") or {}
    console.print(Text.assemble(("\npolicies on the live state: ", "bold"), str(policies.get("decision")),
                                f" (deployed state: {policies.get('deployed_decision')})",
                                f" — {len(policies.get('new_violations', []))} new violation(s), "
                                f"{len(policies.get('resolved_violations', []))} resolved, "
                                f"{policies.get('live_violations', 0)} in all"))
    for v in policies.get("new_violations", [])[:20]:
        where = f" ({v['file']}:{v['line']})" if v.get("file") else ""
        console.print(Text(f"  new [{v['enforcement']}] {v['policy']}: {view.detail(v)}{where}"))
    rate = view.exchange(result)
    console.print(Text(f"cost ({rate.code} per month, deployed → live):", style="bold"))
    for name, cost in (result.get("cost") or {}).items():
        before, after, delta = cost.get("deployed"), cost.get("live"), cost.get("delta")
        if before and after and delta:
            b, a, d = ({q: rate.convert(side[q]) for q in ("p50", "p90")} for side in (before, after, delta))
            console.print(Text(f"  {name}: P50 {b['p50']:,.2f} → {a['p50']:,.2f} ({d['p50']:+,.2f}), "
                               f"P90 {b['p90']:,.2f} → {a['p90']:,.2f} ({d['p90']:+,.2f})"))
        else:
            console.print(Text(f"  {name}: not priced on both sides"))
    remedies = result.get("remedies") or {}
    revert, adopt = remedies.get("revert") or {}, remedies.get("adopt") or {}
    console.print(Text("remedies (neither is applied):", style="bold"))
    console.print(Text(f"  revert — {revert.get('note')}:\n    {revert.get('command')}"))
    if adopt.get("patch"):
        console.print(Text("  adopt — make Git say what runs (git apply, then commit):"))
        console.print(Syntax(adopt["patch"], "diff", background_color="default"))
    elif adopt.get("error"):
        console.print(Text(f"  adopt — not possible automatically: {adopt['error']}"))
    for item in adopt.get("not_adoptable", []):
        console.print(Text(f"  adopt by hand: {item['resource']} {item['field']}: {item['why']}"))
    for error in result.get("errors", []):
        console.print(Text(f"error: {error}", style="red"))


def run_live_command(args: argparse.Namespace, kind: str,
                     build: Callable[[argparse.Namespace, Target], dict[str, Any]],
                     show: Callable[[dict[str, Any], Console], None]) -> dict[str, Any] | None:
    """What `drift` and `audit` share: resolve the target, build the result (a usage error is printed, None
    returned), keep it as out/<kind>-<stack>.json, and print it (JSON on stdout, or rendered)."""
    from preflight.cli import UsageError, print_error

    try:
        target = Target(args)
        result = build(args, target)
    except UsageError as exc:
        print_error(Console(stderr=True), exc)
        return None
    out = Path(target.project_dir) / "out"
    out.mkdir(exist_ok=True)
    text = json.dumps(result, indent=2, default=str)
    write_atomic(out / f"{kind}-{config_stack(target.stack)}.json", text + "\n")
    if args.json:
        print(text)
    else:
        show(result, Console())
    return result


def run_drift(args: argparse.Namespace) -> int:
    result = run_live_command(args, "drift", build_drift, render)
    if result is None:
        return EXIT_ERROR
    return EXIT_DRIFT if result["drifted"] else EXIT_NO_DRIFT
