"""`preflight observe`: what the declared services actually did, as the usage history the predictions accept,
compared with usual behaviour (anomalies), with idle resources and rightsizing, and with the deploy-time
predictions (model monitoring). Proposals become commits on branches with `--propose` (never on main).

    preflight observe --stack S [--since 14d] [--until ISO-TIME] [--json] [-o DIR] [--prometheus URL]
                      [--propose [--approve]]

Lambda is read from CloudWatch (`AWS/Lambda`, boto3 GetMetricData) in the stack's `aws:region`, the endpoint and
credentials from the standard AWS SDK settings (AWS_ENDPOINT_URL, AWS_PROFILE, ...). Knative from Prometheus.
Everything is read before anything is written: an unreachable or refusing backend is exit 2 with nothing
written and nothing committed. Missing figures are reported as missing, never as zero.

Writes to DIR (default out/observe/<stack>/): `usage-history/<service>.yaml` (usage-history/v1 daily samples, with
an `observed:` block naming each field's query and the window), `observe.json`, `observe.md`; with --propose,
the branches' PR bodies (and patches of prepared decisions) in out/gitops/.

Exit codes: 0 done; 1 an anomaly the stack makes mandatory (guardrails:observe.anomalyEnforcement); 2 usage
error, invalid declaration or stack config, metrics backend unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from guardrails_core.atomic import write_atomic

from preflight.observe.model import Measurement, ObservedService, Window

EXAMPLES = """examples:
  preflight observe --stack prod                      # the last 14 days, report in out/observe/prod/
  preflight observe --stack prod --since 30d --json   # JSON on stdout
  preflight observe --stack dev --propose             # idle cleanup and rightsizing as commits on branches
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 preflight observe --stack dev   # a CloudWatch-compatible endpoint"""
EXIT_OK, EXIT_FINDING, EXIT_USAGE = 0, 1, 2


def add_observe_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("observe", help="observed workload, anomalies, idle resources, rightsizing and "
                                   "model monitoring from CloudWatch/Prometheus", description=__doc__,
                                   epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="stack name (stacks/Pulumi.<stack>.yaml); default: $PULUMI_STACK, else the "
                                        "stack `pulumi stack select` chose")
    parser.add_argument("--project-dir", default=None, help="the Pulumi project (default: nearest Pulumi.yaml)")
    parser.add_argument("--since", default="14d", help="window length in whole hours, at least 24h (default 14d)")
    parser.add_argument("--until", default=None, metavar="ISO-TIME",
                        help="window end (RFC 3339 with a zone, or Unix seconds; default: now), rounded down to the "
                             "hour")
    parser.add_argument("--json", action="store_true", help="print the observation document as JSON on stdout")
    parser.add_argument("-o", "--output", metavar="DIR", default=None, help="default out/observe/<stack>")
    parser.add_argument("--prometheus", metavar="URL", default=None,
                        help="Prometheus for Knative Services (default: $PROMETHEUS_URL; none: Knative is missing)")
    parser.add_argument("--propose", action="store_true",
                        help="make each cleanup/rightsizing proposal a commit on its own branch (never main)")
    parser.add_argument("--approve", action="store_true",
                        help="commit decisions the stack reserves for a human (guardrails:gitops.requireApproval)")
    parser.set_defaults(func=run_observe)
    return parser


def parse_window(since: str, until: str | None, now: datetime | None = None) -> Window:
    """--since/--until as `preflight rollout` reads them, the end rounded down to the hour; whole days only."""
    from preflight.cli import UsageError
    from preflight.rollout_cli import RolloutError, parse_since, parse_until

    try:
        length, end = parse_since(since.strip()), parse_until(until)
    except RolloutError as exc:
        raise UsageError(str(exc)) from None
    hours = int(length.total_seconds() // 3600)
    if hours < 24 or length.total_seconds() % 3600:
        raise UsageError(f"--since {since!r}: whole hours, at least 24h (daily samples need whole days)")
    end = (end or now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return Window(end - timedelta(hours=hours), end, 3600)


def measurement(m: Measurement | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"value": m.value, "unit": m.unit, "source": m.source, "query": m.query, "window": m.window.label(),
            **({"missing": m.missing_reason} if m.missing else {})}


def _service_doc(observed: ObservedService) -> dict[str, Any]:
    fields = ("requests_per_hour", "error_rate", "latency_p50_ms", "latency_p99_ms", "peak_concurrency",
              "duration_mean_ms", "throttles", "provisioned_concurrency_utilisation",
              "provisioned_concurrency_utilisation_mean")
    return {"kind": observed.kind, "declaration": observed.declaration,
            "measurements": {f: measurement(getattr(observed, f)) for f in fields if getattr(observed, f)},
            "targets": {name: {k: measurement(getattr(t, k)) for k in t.__dataclass_fields__ if k != "name"}
                        for name, t in observed.targets.items()}}


def _deploy_predictions(project_dir: Path, stack: str, recomputed: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The last preview report's predictions (what deploy-time said), else those recomputed now."""
    path = project_dir / "out" / f"preflight-{stack}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc.get("predictions"), dict) and doc["predictions"]:
            return doc["predictions"], f"out/preflight-{stack}.json ({doc.get('generated_at', 'undated')})"
    except (OSError, ValueError, AttributeError):
        pass
    return recomputed, "predictions recomputed for the declarations (no out/preflight-<stack>.json)"


def run_observe(args: argparse.Namespace) -> int:
    from guardrails_core.settings import StackConfigError, load_stack_settings, read_stack_config
    from rich.console import Console

    from components.specs import DeclarationErrors, load_declarations
    from preflight.cli import UsageError, print_error, resolve_target

    console = Console(stderr=True)
    resolve_target(args)
    project_dir = Path(args.project_dir).resolve()
    try:
        settings = load_stack_settings(project_dir, args.stack)
        stack_config = read_stack_config(project_dir, args.stack)
    except StackConfigError as exc:
        raise UsageError(str(exc)) from exc
    window = parse_window(args.since, args.until)
    try:
        declarations = {d.name: d for d in load_declarations(project_dir, args.stack, settings)}
    except DeclarationErrors as exc:
        raise UsageError(str(exc)) from exc
    analysis = _observe_all(args, project_dir, settings, stack_config, declarations, window, console)
    doc, histories, proposals, mandatory = analysis
    out = Path(args.output).resolve() if args.output else project_dir / "out" / "observe" / args.stack
    (out / "usage-history").mkdir(parents=True, exist_ok=True)
    for name, history in histories.items():
        import yaml

        write_atomic(out / "usage-history" / f"{name}.yaml", yaml.safe_dump(history, sort_keys=False))
    if args.propose:
        doc["actions"] = _act(project_dir, settings, proposals, args.approve)
    write_atomic(out / "observe.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(out / "observe.md", render_markdown(doc))
    if args.json:
        print(json.dumps(doc, indent=2))
    _print_summary(console, doc, out)
    if mandatory:
        print_error(console, f"{len(mandatory)} cost anomal{'y' if len(mandatory) == 1 else 'ies'} "
                             f"(guardrails:observe.anomalyEnforcement: mandatory): " + "; ".join(mandatory))
        return EXIT_FINDING
    return EXIT_OK


def _observe_all(args: argparse.Namespace, project_dir: Path, settings: Any, stack_config: dict[str, Any],
                 declarations: dict[str, Any], window: Window, console: Any
                 ) -> tuple[dict[str, Any], dict[str, Any], list[Any], list[str]]:
    from guardrails_predict.anomaly import HourlyWorkload, cost_anomaly, service_price
    from guardrails_predict.config import prediction_settings
    from guardrails_predict.costing import kubernetes_prices, service_cost
    from guardrails_predict.plan import PredictionError, predict_services
    from guardrails_predict.pricing import PricingError
    from guardrails_predict.resources import PredictionInputError, to_views
    from guardrails_predict.services import group_services

    from preflight.cli import UsageError
    from preflight.engine.offline import ProgramError, run_program_child
    from preflight.gitops import EditError
    from preflight.observe.history import usage_history
    from preflight.observe.idle import find_idle
    from preflight.observe.monitoring import compare
    from preflight.observe.prometheus import prometheus_url
    from preflight.observe.rightsize import knative_rightsizing, rightsize_lambda
    from preflight.observe.sources import SOURCES, ObserveContext, SourceError

    console.print(f"observe {args.stack}: {window.label()}", markup=False, highlight=False)
    try:
        resources = run_program_child(project_dir, args.stack)
    except ProgramError as exc:
        raise UsageError(str(exc)) from exc
    services = group_services(to_views(resources))
    try:
        recomputed = predict_services(resources, settings, None, project_dir, with_recommendations=False).results
    except PredictionError as exc:
        recomputed = exc.partial
    except Exception as exc:  # noqa: BLE001 - monitoring then reports the predictions missing, observing goes on
        console.print(f"predictions unavailable for monitoring: {exc}", markup=False, highlight=False)
        recomputed = {}
    predictions, predicted_from = _deploy_predictions(project_dir, args.stack, recomputed)
    prometheus = prometheus_url(args.prometheus, default=None)  # as `preflight rollout` reads it
    context = ObserveContext(project_dir, args.stack, settings, stack_config, prometheus, declarations)
    readers: dict[str, Any] = {}
    observed: dict[str, ObservedService] = {}
    try:  # everything is read before anything is written
        for svc in services:
            if svc.kind not in readers:
                readers[svc.kind] = SOURCES[svc.kind](context)
            console.print(f"  reading {svc.kind} {svc.name}", markup=False, highlight=False)
            observed[svc.name] = readers[svc.kind](svc.name, svc.primary.source_file or "", window)
    except SourceError as exc:
        raise UsageError(f"{exc}; nothing was written") from None
    cfg = prediction_settings(settings)
    prices = kubernetes_prices(cfg)
    today = window.end.date()
    region = context.stack_config.get("aws:region") or settings.aws_region
    doc: dict[str, Any] = {"schema": "preflight-observe/v1", "stack": args.stack, "environment": settings.environment,
                           "window": {"start": window.start.isoformat(), "end": window.end.isoformat(),
                                      "step_seconds": window.step_seconds},
                           "aws_region": region, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "services": {}, "anomalies": [], "idle": [], "proposals": [], "model_monitoring": {},
                           # money fields stay USD (`*_usd_month`); messages and PR bodies are in this currency
                           "currency": cfg.exchange.as_dict()}
    histories: dict[str, Any] = {}
    proposals: list[Any] = []
    mandatory: list[str] = []
    out_rel = Path(args.output).resolve() if args.output else project_dir / "out" / "observe" / args.stack
    rules = settings.observe
    for svc in services:
        seen = observed[svc.name]
        entry = _service_doc(seen)
        history, why_not = usage_history(seen, region if svc.kind == "lambda" else None,
                                         {"memoryMb": svc.memory_mb or None, "trigger": svc.trigger})
        history_file = None
        if history is not None:
            histories[svc.name] = history
            history_file = _relative(out_rel / "usage-history" / f"{svc.name}.yaml", project_dir)
        entry["usage_history"] = history_file
        if why_not:
            entry["usage_history_missing"] = why_not
        # Lambda: mean Duration; Knative: the hourly median latency (what sets its replicas through the target)
        duration_key = "duration_ms" if svc.kind == "lambda" else "latency_p50_ms"
        result = None
        if "requests" in seen.hourly and duration_key in seen.hourly:
            work = HourlyWorkload(window.start, seen.hourly["requests"].values,
                                  {"duration": seen.hourly[duration_key].values})
            try:
                result = cost_anomaly(work, service_price(svc, cfg, prices),
                                      recent_hours=rules.anomaly_recent_hours, factor=rules.anomaly_factor,
                                      money=cfg.exchange.text)
                entry["anomaly"] = result.as_dict()
            except (PricingError, PredictionInputError) as exc:
                entry["anomaly"] = {"status": "missing", "message": f"cannot be priced: {exc}"}
        else:
            entry["anomaly"] = {"status": "missing", "message": f"anomalies need hourly requests and {duration_key} "
                                "(missing: see the measurements)"}
        if result is not None:
            if result.status == "anomaly":
                doc["anomalies"].append({"service": svc.name, "severity": rules.anomaly_severity,
                                         "enforcement": rules.anomaly_enforcement, "driver": result.driver,
                                         "message": f"{svc.name}: {result.message}",
                                         "file": svc.primary.source_file, "line": svc.primary.source_line})
                if rules.anomaly_enforcement == "mandatory":
                    mandatory.append(f"{svc.name}: driver {result.driver}")
        findings, undecided = find_idle(svc, seen, settings, cfg, prices, today)
        doc["idle"] += [f.as_dict() for f in findings]
        if undecided:
            entry["idle_undecided"] = undecided
        proposals += [f.proposal for f in findings if f.proposal is not None]
        if svc.kind == "lambda":
            # An unusual period, or an idle service, is no basis for sizing: the anomaly or the cleanup comes first.
            anomalous = entry["anomaly"].get("status") == "anomaly"
            idle = any(f.rule != "canary-at-zero" for f in findings)
            if anomalous or idle:
                entry["rightsizing"] = {"proposal": None, "notes": [
                    "not sized: " + ("the cost anomaly above must be explained first" if anomalous
                                     else "the service is idle (see the cleanup)")]}
            else:
                proposal, notes = rightsize_lambda(svc, seen, settings, cfg, prices)
                entry["rightsizing"] = {"proposal": proposal.title if proposal else None, "notes": notes}
                if proposal is not None:
                    proposals.append(proposal)
        elif svc.name in declarations and not any(f.rule != "canary-at-zero" for f in findings):
            try:
                result, proposal = knative_rightsizing(declarations[svc.name], seen, settings)
            except (EditError, PredictionInputError) as exc:
                result, proposal = {"error": str(exc)}, None
            entry["rightsizing"] = {"proposal": proposal.title if proposal else None,
                                    "changes": result.get("changes", {}), "floors": result.get("floors", {}),
                                    "not_changed": result.get("not_changed", {}),
                                    **({"error": result["error"]} if "error" in result else {})}
            if proposal is not None:
                proposals.append(proposal)

        def day_cost(requests: float, duration: float, svc: Any = svc) -> float | None:
            try:
                return float(service_cost(svc, requests, duration, cfg, prices))
            except Exception:  # noqa: BLE001 - an unpriceable day leaves the cost band unmonitored, said so
                return None

        entry["model_monitoring"] = compare(svc.name, predictions.get(svc.name), (history or {}).get("samples", []),
                                            day_cost, rules.min_coverage, settings.annotation_domain, history_file,
                                            predicted_from)
        doc["services"][svc.name] = entry
    doc["proposals"] = [{"kind": p.kind, "service": p.service, "title": p.title, "why": p.why,
                         "saving_usd_month": p.saving_usd_month, "evidence": p.evidence,
                         "changes": [asdict(c) for c in p.changes]} for p in proposals]
    return doc, histories, proposals, mandatory


def _relative(path: Path, project_dir: Path) -> str:
    try:
        return path.resolve().relative_to(project_dir).as_posix()
    except ValueError:
        return str(path)


def _act(project_dir: Path, settings: Any, proposals: list[Any], approve: bool) -> list[dict[str, Any]]:
    from preflight.cli import UsageError
    from preflight.gitops import EditError, FileEdits, Git, GitError, act, needs_approval

    actions = []
    try:
        git = Git.at(project_dir)
    except GitError as exc:
        raise UsageError(f"--propose: {exc}") from None
    for proposal in proposals:
        # declaration files are project-relative; the project may be a folder inside the repository
        proposal.edits = [FileEdits((project_dir / e.file).resolve().relative_to(git.root.resolve()).as_posix(),
                                    e.line, e.edits) for e in proposal.edits]
        try:
            outcome = act(git, proposal, approved=approve,
                          approval_required=needs_approval(settings, proposal.kind),
                          out_dir=project_dir / "out" / "gitops")
        except (GitError, EditError) as exc:
            raise UsageError(f"{proposal.service}: {exc}") from None
        actions.append({"service": proposal.service, "title": proposal.title, **outcome.as_dict()})
    return actions


def render_markdown(doc: dict[str, Any]) -> str:
    from guardrails_predict.pricing.currency import ExchangeRate

    from preflight.report.markdown import code, text

    lines = [f"# Observed: {text(doc['stack'])} ({text(doc['window']['start'])} to {text(doc['window']['end'])})",
             "", text(ExchangeRate.from_dict(doc.get("currency")).sentence()),
             "", "| service | requests/hour | error rate | p50 ms | p99 ms | peak concurrency |",
             "|---|---:|---:|---:|---:|---:|"]

    reasons: list[str] = []  # each distinct reason once, below the table

    def cell(m: dict[str, Any] | None, fmt: str = "{:,.1f}") -> str:
        if m is None:
            return "n/a"
        if m["value"] is not None:
            return fmt.format(m["value"])
        if m.get("missing", "") not in reasons:
            reasons.append(m.get("missing", ""))
        return f"missing [{reasons.index(m.get('missing', '')) + 1}]"

    for name, entry in doc["services"].items():
        m = entry["measurements"]
        lines.append(f"| {code(name)} | {cell(m.get('requests_per_hour'))} | "
                     f"{cell(m.get('error_rate'), '{:.2%}')} | {cell(m.get('latency_p50_ms'))} | "
                     f"{cell(m.get('latency_p99_ms'))} | {cell(m.get('peak_concurrency'), '{:g}')} |")
    lines += ["", *(f"[{i}] {text(r)}  " for i, r in enumerate(reasons, 1))]
    for title, items, key in (("Anomalies", doc["anomalies"], "message"), ("Idle", doc["idle"], "message"),
                              ("Proposals", doc["proposals"], "title")):
        lines += ["", f"## {title}", ""]
        lines += [f"- {text(item[key])}" for item in items] or ["- none"]
    lines += ["", "## Predicted vs observed", "", "| service | quantity | P10-P90 coverage | bias | drifted |",
              "|---|---|---:|---:|---|"]
    for name, entry in doc["services"].items():
        mon = entry.get("model_monitoring", {})
        for quantity, band in (mon.get("bands") or {}).items():
            if "coverage" in band:
                lines.append(f"| {code(name)} | {quantity} | {band['coverage']:.0%} | x{band['bias']:.2f} | "
                             f"{'yes' if band['drifted'] else 'no'} |")
        if mon.get("advice"):
            lines.append(f"| {code(name)} | advice | {text(mon['advice'])} | | |")
    return "\n".join(lines) + "\n"


def _print_summary(console: Any, doc: dict[str, Any], out: Path) -> None:
    from rich.text import Text

    for name, entry in doc["services"].items():
        rate = entry["measurements"]["requests_per_hour"]
        shown = f"{rate['value']:,.1f} requests/hour" if rate["value"] is not None else f"missing: {rate['missing']}"
        console.print(Text(f"{name} ({entry['kind']}): {shown}"), highlight=False)
    for item in doc["anomalies"]:
        console.print(Text(f"anomaly [{item['severity']}, {item['enforcement']}]: {item['message']}"),
                      highlight=False)
    for item in doc["idle"]:
        console.print(Text(f"idle: {item['message']}"), highlight=False)
    for item in doc.get("actions", []):
        where = f"branch {item['branch']} commit {item['commit'][:12]}" if item.get("commit") else item["status"]
        console.print(Text(f"{item['title']}: {where}"), highlight=False)
    console.print(Text(f"wrote {out}/observe.json, observe.md and usage-history/"), highlight=False)


if __name__ == "__main__":
    from preflight.cli import main

    sys.exit(main(["observe", *sys.argv[1:]]))
