"""`preflight rightsize`: resize a Knative Service from what Prometheus observed, as a commit on a branch.

    preflight rightsize --stack S --service NAME [--prometheus URL] [--since 14d] [--until TIME] [--approve] [--json]

cpu/memory requests from the busiest pod's P99 (cAdvisor), the memory limit from the max, max-scale from the P99
of requests in flight, `autoscaling.knative.dev/target` from the autoscaler's requests in flight per pod against
the CPU each pod used (raised for a saving, lowered as a risk fix when CPU saturates and requests queue) - never
below the observed figure x (1 + `guardrails:gitops.headroom`, default 0.3); the
rules are in `guardrails_predict.rightsizing.knative_from_observed`. The change is a commit on
`preflight/rightsize/<service>` (main untouched, nothing pushed) with a PR body (before/after, saving
P10/P50/P90, risk, evidence with every query) in out/gitops/; a stack that requires approval for `rightsize`
(`guardrails:gitops.requireApproval`; default: prod) gets the patch and body only, unless `--approve`.

Exit codes: 0 committed, or nothing to change; 1 prepared, awaiting approval; 2 usage/input error or Prometheus
/ Git unavailable (nothing committed).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preflight.rollout_cli import EXIT_ACTION, EXIT_OK, EXIT_USAGE, RolloutError, parse_since, parse_until


def add_rightsize_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "rightsize", help="resize a Knative Service from observed usage (Prometheus) as a Git commit",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="stack name (default: $PULUMI_STACK, else the selected stack)")
    parser.add_argument("--project-dir", default=None, help="the Pulumi project (default: nearest Pulumi.yaml)")
    parser.add_argument("--service", required=True, metavar="NAME", help="metadata.name of the Knative Service")
    parser.add_argument("--prometheus", default=None, metavar="URL",
                        help="Prometheus base URL (default: $PROMETHEUS_URL, else http://127.0.0.1:9090)")
    parser.add_argument("--since", default="14d", metavar="DURATION", help="the window, ending now (default: 14d)")
    parser.add_argument("--until", default=None, metavar="TIME", help="end of the window (RFC 3339 or Unix seconds)")
    parser.add_argument("--approve", action="store_true", help="commit even where the stack requires approval")
    parser.add_argument("--json", action="store_true", help="print the recommendation and outcome as JSON")
    parser.set_defaults(func=run_rightsize)
    return parser


def rightsize(project_dir: Path, stack: str, service: str, url: str, since: Any, until: datetime | None,
              approve: bool) -> dict[str, Any]:
    from guardrails_core.settings import load_stack_settings

    from components.specs.loader import load_declarations
    from preflight.gitops import Git, act, needs_approval
    from preflight.observe.model import Window
    from preflight.observe.prometheus import PrometheusClient, observe_knative
    from preflight.observe.rightsize import knative_rightsizing

    settings = load_stack_settings(project_dir, stack)
    found = [d for d in load_declarations(project_dir, stack, settings) if d.name == service]
    if not found or found[0].kind != "knative":
        raise RolloutError(f"--service {service!r}: no Knative Service with that metadata.name in {stack}")
    decl = found[0]
    git = Git.at(project_dir)
    end = (until or datetime.now(UTC)).replace(microsecond=0)
    window = Window(end - since, end, 3600)
    client = PrometheusClient(url)
    client.check()
    observed = observe_knative(decl, client, window, namespace=settings.namespace)
    result, proposal = knative_rightsizing(decl, observed, settings)
    record: dict[str, Any] = {"service": service, "stack": stack, "window": window.label(),
                              "prometheus": client.shown_url, "changes": result["changes"],
                              "floors": result["floors"], "saving_usd_month": result["saving_usd_month"],
                              "extra_cost_usd_month": result["extra_cost_usd_month"],
                              "not_changed": result["not_changed"], "target": result["target"],
                              "queries": client.asked, "status": "unchanged", "commit": None, "branch": None}
    if proposal is None:
        return record
    file_in_repo = (project_dir / decl.file).resolve().relative_to(git.root.resolve()).as_posix()
    proposal.edits = [type(e)(file_in_repo, e.line, e.edits) for e in proposal.edits]
    required = needs_approval(settings, "rightsize")
    outcome = act(git, proposal, approved=approve, approval_required=required,
                  out_dir=project_dir / "out" / "gitops")
    record.update(outcome.as_dict(), title=proposal.title)
    return record


def run_rightsize(args: argparse.Namespace) -> int:
    from guardrails_core.settings import StackConfigError
    from guardrails_predict.resources import PredictionInputError

    from components.specs.errors import DeclarationErrors
    from preflight.cli import UsageError, resolve_target
    from preflight.gitops import EditError, GitError
    from preflight.observe.prometheus import PrometheusError, prometheus_url

    try:
        resolve_target(args)
        url = prometheus_url(args.prometheus)
        record = rightsize(Path(args.project_dir).resolve(), args.stack, args.service, url, parse_since(args.since),
                           parse_until(args.until), args.approve)
    except (RolloutError, UsageError, StackConfigError, DeclarationErrors, PrometheusError, GitError, EditError,
            PredictionInputError) as exc:
        print(f"error: {exc}\nnothing committed", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(record, indent=2, default=str))
    else:
        changes = record["changes"] or {}
        print(f"{record['service']}: {len(changes)} change(s) over {record['window']}")
        for knob, change in changes.items():
            print(f"  - {knob}: {change['current']} -> {change['recommended']} ({change['why']})")
        for knob, why in (record["not_changed"] or {}).items():
            print(f"  - {knob} not changed: {why}")
        if record["saving_usd_month"]:
            s = record["saving_usd_month"]
            print(f"  saving P10/P50/P90 ${s['p10']:,.2f} / ${s['p50']:,.2f} / ${s['p90']:,.2f} a month")
        if record["extra_cost_usd_month"]:
            s = record["extra_cost_usd_month"]
            print(f"  a risk fix that costs P10/P50/P90 ${s['p10']:,.2f} / ${s['p50']:,.2f} / ${s['p90']:,.2f} "
                  "a month more (no saving claimed)")
        if record["status"] == "committed":
            print(f"committed {record['commit']} on branch {record['branch']}; PR body {record['body_file']}")
        elif record["status"] == "prepared":
            print(f"needs a human: patch {record['patch_file']}, PR body {record['body_file']}; --approve commits")
    return EXIT_ACTION if record["status"] == "prepared" else EXIT_OK
