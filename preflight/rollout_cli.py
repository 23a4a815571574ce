"""`preflight rollout`: measure a canary declared in Git and promote it, hold it, or roll it back - in Git.

    preflight rollout --stack S --service NAME [--prometheus URL] [--since 1h] [--until TIME] [--approve] [--json]

The canary is declared with `rollout.<domain>/canary-percent` + `rollout.<domain>/stable-revision` (optional
`rollout.<domain>/step`: percentage points per promotion; `rollout.<domain>/kpi.<name>`: "<PromQL using
$revision> <op> <number>"). Stable = the declared revision; canary = the service's other revision that served
requests in the window (Knative names them `<service>-NNNNN`; the newest wins when there are several).
Canary and stable are compared on success rate, latency p95/p99 and the declared KPIs with an always-valid
sequential test (`preflight.observe.canary`; false-alarm rate `guardrails:rollout.falseAlarmRate`, minimum
sample `minRequests`). Then:
  * promote:  a commit raising canary-percent by the step, or, at 100 % (or with no step), making the canary
              the stable revision (stable-revision = canary, canary-percent = 0);
  * hold:     nothing committed; the reasons say how much more traffic would decide;
  * rollback: `git revert` of the commit that introduced the canary (the last commit that added canary-percent
              to this service's declaration, plus preflight's own promotion commits after it), so Git again says
              what should run.
Commits go to a new branch (`preflight/<decision>/<service>`), never main, never pushed; a decision the stack
marks as needing a human (`guardrails:gitops.requireApproval`; default: every decision in prod) is prepared as a
patch + PR body and committed only with `--approve`. The decision record (metrics, queries, test statistics,
the commit) goes to out/rollout/ and, with `--json`, to stdout: {decision, reasons, metrics, commit, ...}.

A Lambda function's canary is `spec.canary: {stableVersion, weight}` (the `live` alias on the stable version,
`weight` to the version the deploy published), measured in CloudWatch per `ExecutedVersion` of the alias (error
rate, Duration p99, and the KPIs declared in `spec.canary.kpis`: a CloudWatch metric per `$version` with its
condition; endpoint from the standard AWS SDK settings, region `aws:region`). Promote removes
`spec.canary` (the alias then points at the published version, no additional weights); rollback reverts the
commit that introduced it. See docs/gitops.md.

A declared KPI whose query the backend answers with an error (bad PromQL, an evaluation error, a GetMetricData
failure other than credentials/connection) cannot be tested: the decision holds (never promotes), saying why.

Exit codes: 0 promoted or held; 1 rolled back, or a decision prepared that awaits approval; 2 usage/input error
or Prometheus/Git unavailable (nothing committed).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from guardrails_core.atomic import write_atomic

EXIT_OK, EXIT_ACTION, EXIT_USAGE = 0, 1, 2
_SINCE = re.compile(r"^([1-9][0-9]{0,6})(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_HISTORY_COMMITS = 500


class RolloutError(Exception):
    """Bad input for a rollout (exit 2, nothing committed)."""


def add_rollout_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "rollout", help="measure a declared canary (Prometheus / CloudWatch); promote, hold or roll back through Git",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="stack name (default: $PULUMI_STACK, else the selected stack)")
    parser.add_argument("--project-dir", default=None, help="the Pulumi project (default: nearest Pulumi.yaml)")
    parser.add_argument("--service", required=True, metavar="NAME",
                        help="metadata.name of the Knative Service or Lambda function")
    parser.add_argument("--prometheus", default=None, metavar="URL",
                        help="Prometheus base URL (default: $PROMETHEUS_URL, else http://127.0.0.1:9090)")
    parser.add_argument("--since", default="1h", metavar="DURATION",
                        help="the window to judge, ending now: 30m, 6h, 2d (default: 1h)")
    parser.add_argument("--until", default=None, metavar="TIME",
                        help="end of the window, RFC 3339 (2026-12-01T12:00:00Z) or Unix seconds (default: now); "
                             "re-judges a past window exactly, e.g. to audit a decision")
    parser.add_argument("--approve", action="store_true",
                        help="commit a decision the stack marks as needing a human (otherwise only prepared)")
    parser.add_argument("--json", action="store_true", help="print the decision record as JSON")
    parser.set_defaults(func=run_rollout)
    return parser


def parse_until(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromtimestamp(float(value), UTC) if re.fullmatch(r"[0-9]{9,11}(\.[0-9]+)?", value) \
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RolloutError(f"--until {value!r}: expected RFC 3339 with a zone (2026-12-01T12:00:00Z) or Unix seconds")
    return moment.astimezone(UTC)


def parse_since(value: str) -> timedelta:
    match = _SINCE.match(value)
    if not match:
        raise RolloutError(f"--since {value!r}: expected a number and a unit (s, m, h, d), e.g. 30m or 14d")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


@dataclass
class Target:
    declaration: Any
    file_in_repo: str  # the declaration file relative to the git repository's root
    namespace: str


def _find_service(project_dir: Path, stack: str, settings: Any, name: str) -> Any:
    from components.specs.loader import load_declarations

    declarations = load_declarations(project_dir, stack, settings)
    found = [d for d in declarations if d.name == name]
    if not found:
        known = ", ".join(sorted(d.name for d in declarations)) or "none"
        raise RolloutError(f"--service {name!r}: no declaration with that metadata.name (declared: {known})")
    decl = found[0]
    if decl.kind == "lambda":
        if decl.spec.body.canary is None:
            raise RolloutError(f"{decl.source}: {name} declares no canary (add spec.canary: {{stableVersion: "
                               "\"<version>\", weight: 0.1}: the alias sends that share to the new version)")
        return decl
    if decl.spec.canary is None:
        raise RolloutError(f"{decl.source}: {name} declares no canary (add rollout.{settings.annotation_domain}/"
                           f"canary-percent and rollout.{settings.annotation_domain}/stable-revision)")
    return decl


# ---- the metric tests --------------------------------------------------------------------------------------

def _kpi_query(expr: str, namespace: str, service: str, revision: str) -> str:
    def quoted(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"')

    return (expr.replace("$revision", quoted(revision)).replace("$namespace", quoted(namespace))
            .replace("$service", quoted(service)))


def _tests(client: Any, target: Target, window: Any, settings: Any, stable: str, canary: str,
           observed: dict[str, Any]) -> tuple[list[Any], list[str]]:
    from components.specs.annotations import parse_kpi
    from preflight.observe.canary import LATENCY_QUANTILES, MetricTest, error_rate_test, kpi_test
    from preflight.observe.prometheus import PrometheusQueryError, latency_histograms

    cfg = settings.rollout
    decl = target.declaration
    prefix = f"rollout.{settings.annotation_domain}/kpi."
    kpis = {k[len(prefix):]: parse_kpi(v) for k, v in sorted(decl.spec.annotations.items()) if k.startswith(prefix)}
    metrics = 1 + len(LATENCY_QUANTILES) + len(kpis)
    alpha = cfg.false_alarm_rate / metrics
    tests: list[MetricTest] = []
    untestable: list[str] = []
    s, c = observed[stable], observed[canary]
    n_s, k_s = round(s.requests.value), round(s.errors.value or 0)
    n_c, k_c = round(c.requests.value), round(c.errors.value or 0)
    error_test = error_rate_test(stable, n_s, k_s, n_c, k_c, cfg.error_rate_tolerance, alpha,
                                 [c.requests.query, c.errors.query])
    (tests if isinstance(error_test, MetricTest) else untestable).append(error_test)
    hist_query, histograms = latency_histograms(client, target.namespace, decl.name, window)
    for metric, q in LATENCY_QUANTILES.items():
        stable_q = getattr(s, f"{metric}_ms")
        hist = histograms.get(canary)
        if stable_q.missing or hist is None:
            why = stable_q.missing_reason if stable_q.missing else f"no latency histogram for {canary}"
            untestable.append(f"{metric}: cannot be tested ({why})")
            continue
        bound = stable_q.value * (1 + cfg.latency_tolerance)
        le, slower = hist.count_above(bound)
        if math.isinf(le):
            untestable.append(f"{metric}: stable {metric} x (1 + {cfg.latency_tolerance:g}) = {bound:.0f} ms is "
                              "past the last histogram bucket; cannot be tested")
            continue
        total = round(hist.buckets[-1][1])
        tests.append(MetricTest(metric, total, round(slower), round(1 - q, 4), alpha,
                                {"revision": stable, f"{metric}_ms": stable_q.value, "bound_ms": bound,
                                 "bucket_le_ms": le, "tolerance": cfg.latency_tolerance,
                                 "meaning": f"canary requests slower than {le:g} ms"},
                                [stable_q.query, hist_query]).run())
    from preflight.observe.model import Window

    kpi_window = Window(window.start, window.end, cfg.kpi_step_seconds)
    for name, parsed in kpis.items():
        expr, op, threshold = parsed
        query = _kpi_query(expr, target.namespace, decl.name, canary)
        stable_query = _kpi_query(expr, target.namespace, decl.name, stable)
        try:
            canary_values = [v for _, points in client.query_range(query, kpi_window) for v in points.values()]
            stable_values = [v for _, points in client.query_range(stable_query, kpi_window)
                             for v in points.values()]
        except PrometheusQueryError as exc:  # the server answered with an error: this KPI is unmeasured
            untestable.append(f"kpi.{name}: cannot be tested (Prometheus rejected its query: {exc})")
            continue
        kpi = kpi_test(name, canary_values, stable_values, op, threshold, cfg.kpi_violation_tolerance, alpha,
                       cfg.kpi_step_seconds, stable, canary, f"`{query}`", [query, stable_query])
        (tests if isinstance(kpi, MetricTest) else untestable).append(kpi)
    return tests, untestable


# ---- Git: the commit that introduced the canary ------------------------------------------------------------

def _canary_of(text: str | None, service: str, marker: Callable[[dict], Any]) -> Any:
    """What `marker` reads from `service`'s document in a file's text (None: no such field or document)."""
    if text is None:
        return None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return None
    for doc in docs:
        if isinstance(doc, dict) and (doc.get("metadata") or {}).get("name") == service:
            return marker(doc)
    return None


def annotation_marker(key: str) -> Callable[[dict], Any]:
    """A Knative canary: the `canary-percent` annotation."""
    return lambda doc: ((doc.get("metadata") or {}).get("annotations") or {}).get(key)


def lambda_canary_marker(doc: dict) -> Any:
    """A Lambda canary: the function spec's `canary` (weighted alias routing)."""
    return (doc.get("spec") or {}).get("canary") if isinstance(doc.get("spec"), dict) else None


def canary_commits(git: Any, file: str, service: str, marker: Callable[[dict], Any], what: str) -> list[str]:
    """[preflight's promotion commits after it (newest first)..., the commit that introduced the canary]: the
    newest commit in `file`'s history after which `service` has a canary (`marker`) and before which it had not."""
    history = [c for c in git.run("log", "--format=%H", f"-n{MAX_HISTORY_COMMITS}", "HEAD", "--", file).split()]
    intro = None
    for commit in history:
        parents = git.parents(commit)
        after = _canary_of(git.show_file(commit, file), service, marker)
        before = _canary_of(git.show_file(parents[0], file), service, marker) if parents else None
        if after is not None and before is None:
            intro = commit
            break
    if intro is None:
        raise RolloutError(f"{file}: no commit in the last {MAX_HISTORY_COMMITS} of its history introduced "
                           f"{what} for {service}; cannot tell what to revert")
    steps = []
    for commit in history[:history.index(intro)]:
        body = git.run("log", "-1", "--format=%B", commit)
        if "Preflight-Action: promote" in body and f"Preflight-Service: {service}\n" in body + "\n":
            steps.append(commit)
    return [*steps, intro]


# ---- the command -------------------------------------------------------------------------------------------

def rollout(project_dir: Path, stack: str, service: str, prometheus_url: str, since: timedelta, approve: bool,
            now: datetime | None = None) -> dict[str, Any]:
    from guardrails_core.settings import load_stack_settings

    from components.specs.annotations import AnnotationKeys
    from preflight.gitops import Change, Edit, FileEdits, Git, Proposal, act, needs_approval
    from preflight.observe.canary import decide
    from preflight.observe.model import Window
    from preflight.observe.prometheus import PrometheusClient, observe_targets

    settings = load_stack_settings(project_dir, stack)
    decl = _find_service(project_dir, stack, settings, service)
    git = Git.at(project_dir)
    file_in_repo = (project_dir / decl.file).resolve().relative_to(git.root.resolve()).as_posix()
    if decl.kind == "lambda":
        return lambda_rollout(project_dir, stack, settings, decl, git, since, approve, now)
    target = Target(decl, file_in_repo, decl.spec.namespace or settings.namespace)
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    window = Window(end - since, end, int(since.total_seconds()))
    client = PrometheusClient(prometheus_url)
    client.check()  # unreachable -> PrometheusError before anything else is looked at
    keys = AnnotationKeys(settings.annotation_domain)
    canary_spec = decl.spec.canary
    stable = canary_spec.stable_revision
    observed = observe_targets(client, target.namespace, service, window)
    serving = {name: t for name, t in observed.items() if (t.requests.value or 0) >= 0.5}
    others = sorted((n for n in serving if n != stable), key=_generation)
    canary = others[-1] if others else None
    record: dict[str, Any] = {
        "service": service, "stack": stack, "declaration": decl.source, "window": window.label(),
        "prometheus": client.shown_url, "stable": stable, "canary": canary,
        "declared": {"canary_percent": canary_spec.percent, "step": _step(decl, keys)},
        "commit": None, "branch": None, "status": None, "patch_file": None, "body_file": None,
    }
    metrics: dict[str, Any] = {name: _target_dict(t) for name, t in observed.items()}
    if canary is None or stable not in serving:
        reasons = []
        if stable not in serving:
            reasons.append(f"the stable revision {stable} served no requests in the window {window.label()}")
        if canary is None:
            reasons.append(f"no revision of {service} other than {stable} served requests in the window "
                           f"(canary not deployed yet, or no traffic)")
        return _finish(project_dir, {**record, "decision": "hold", "reasons": reasons,
                                     "metrics": {"revisions": metrics, "tests": []}, "queries": client.asked})
    if len(others) > 1:
        metrics["note"] = f"several non-stable revisions served traffic ({', '.join(others)}); judged the newest"
    tests, untestable = _tests(client, target, window, settings, stable, canary, observed)
    analysis = decide(tests, untestable, canary, stable, round(observed[canary].requests.value),
                      round(observed[stable].requests.value), settings.rollout.min_requests)
    record.update(decision=analysis.decision, reasons=analysis.reasons,
                  metrics={"revisions": metrics, "tests": [t.as_dict() for t in tests]}, queries=client.asked)
    if analysis.decision == "hold":
        return _finish(project_dir, record)
    evidence = [f"window {window.label()} from {client.shown_url}; stable {stable}, canary {canary}"]
    evidence += [f"{t.metric} queries: " + ", ".join(f"`{q}`" for q in t.queries) for t in tests]
    for name in (stable, canary):
        t = observed[name]
        evidence.append(f"{name}: {t.requests.value:.0f} requests, {t.errors.value or 0:.0f} 5xx, p95 "
                        f"{_ms(t.latency_p95_ms)}, p99 {_ms(t.latency_p99_ms)} (query: `{t.requests.query}`)")
    for t in tests:
        d = t.as_dict()
        evidence.append(f"{t.metric}: canary {t.k}/{t.n} vs tolerated {t.theta0:.4g}; log LR harm "
                        f"{d['log_lr_harm']}, safe {d['log_lr_safe']} (threshold {d['threshold_log_lr']:.3f} = "
                        f"log 1/{t.alpha:.4g}); {t.outcome}")
    percent_key = keys.rollout_key("canary-percent")
    if analysis.decision == "promote":
        step = _step(decl, keys)
        new = min(100, canary_spec.percent + step) if step else 100
        ann = ["metadata", "annotations"]
        if new < 100:
            edits = (Edit([*ann, percent_key], str(new), quote=True),)
            title = f"rollout: promote {service} canary {canary} {canary_spec.percent}% -> {new}%"
            changes = [Change(percent_key, str(canary_spec.percent), str(new))]
        else:
            edits = (Edit([*ann, keys.rollout_key("stable-revision")], canary),
                     Edit([*ann, percent_key], "0", quote=True))
            title = f"rollout: promote {service}: {canary} becomes the stable revision (100%)"
            changes = [Change(keys.rollout_key("stable-revision"), stable, canary),
                       Change(percent_key, str(canary_spec.percent), "0 (all traffic on the new stable)")]
        proposal = Proposal("promote", service, title, why=" ".join(analysis.reasons), evidence=evidence,
                            edits=[FileEdits(target.file_in_repo, decl.line, edits)], changes=changes,
                            risk=f"More traffic on {canary}, proved within tolerance on {len(tests)} metric(s) at a "
                                 f"false-alarm rate of {settings.rollout.false_alarm_rate:g}; undo with git revert.")
    else:
        to_revert = canary_commits(git, target.file_in_repo, service, annotation_marker(percent_key),
                                   percent_key)
        record["reverted"] = to_revert
        title = (f"rollout: roll back {service} canary {canary} (revert {to_revert[-1][:12]} "
                 f"\"{git.subject(to_revert[-1])[:60]}\")")
        proposal = Proposal("rollback", service, title, why=" ".join(analysis.reasons), evidence=evidence,
                            revert=to_revert,
                            changes=[Change(percent_key, str(canary_spec.percent), "(removed: the canary's commit "
                                                                                  "is reverted)")],
                            risk=f"All traffic returns to {stable}; the change the canary carried is undone in Git.")
    required = needs_approval(settings, proposal.kind)
    outcome = act(git, proposal, approved=approve, approval_required=required,
                  out_dir=project_dir / "out" / "gitops")
    record.update(commit=outcome.commit, branch=outcome.branch, status=outcome.status, base=outcome.base,
                  patch_file=outcome.patch_file, body_file=outcome.body_file, needs_approval=required,
                  title=proposal.title)
    return _finish(project_dir, record)


# ---- Lambda: a weighted alias, measured per executed version in CloudWatch --------------------------------

def _lambda_tests(stable: Any, canary: Any, settings: Any, kpis: list[tuple[Any, Any]]) -> tuple[list[Any], list[str]]:
    """Error rate, Duration p99 and the declared KPIs of the canary version against the stable one
    (`preflight.observe.canary`). `kpis`: (declared KPI, its samples per version or why they could not be read)."""
    from preflight.observe.canary import (
        LAMBDA_LATENCY_QUANTILES,
        MetricTest,
        count_above,
        error_rate_test,
        kpi_test,
        quantile_bounds,
    )

    cfg = settings.rollout
    alpha = cfg.false_alarm_rate / (1 + len(LAMBDA_LATENCY_QUANTILES) + len(kpis))
    tests: list[MetricTest] = []
    untestable: list[str] = []
    error_test = error_rate_test(stable.version, round(stable.requests.value), round(stable.errors.value),
                                 round(canary.requests.value), round(canary.errors.value), cfg.error_rate_tolerance,
                                 alpha, [canary.requests.query, canary.errors.query])
    (tests if isinstance(error_test, MetricTest) else untestable).append(error_test)
    n = sum(round(c) for c, _, _ in canary.duration_periods)
    for metric, q in LAMBDA_LATENCY_QUANTILES.items():
        low, high = quantile_bounds(list(stable.duration_periods), q)
        if high is None or not n:
            who = f"stable version {stable.version}" if high is None else f"canary version {canary.version}"
            untestable.append(f"{metric}: no Duration datapoints for the {who} in the window; cannot be tested")
            continue
        harm_bound = high * (1 + cfg.latency_tolerance)
        slow_lo, _ = count_above(list(canary.duration_periods), harm_bound)
        if low is None:
            safe_bound, slow_hi = None, n  # no lower bound on the stable's p99: the canary cannot be proved fast
        else:
            safe_bound = low * (1 + cfg.latency_tolerance)
            slow_hi = count_above(list(canary.duration_periods), safe_bound)[1]
        tests.append(MetricTest(
            metric, n, slow_lo, round(1 - q, 4), alpha,
            {"revision": stable.version, f"{metric}_ms_bounds": [low, high], "bound_ms_harm": harm_bound,
             "bound_ms_safe": safe_bound, "tolerance": cfg.latency_tolerance,
             "meaning": "canary invocations slower than the stable's p99 x (1 + tolerance): at least "
                        "canary_bad above bound_ms_harm, at most canary_bad_upper above bound_ms_safe (from "
                        "per-minute SampleCount/Minimum/Maximum)"},
            [stable.duration_query, canary.duration_query], k_safe=slow_hi).run())
    for kpi, samples in kpis:
        if isinstance(samples, str):
            untestable.append(f"kpi.{kpi.name}: cannot be tested ({samples})")
            continue
        (s_values, s_query), (c_values, c_query) = samples[stable.version], samples[canary.version]
        result = kpi_test(kpi.name, c_values, s_values, kpi.op, kpi.threshold, cfg.kpi_violation_tolerance, alpha,
                          kpi_period(settings), stable.version, f"version {canary.version}",
                          f"CloudWatch `{c_query}`", [c_query, s_query])
        (tests if isinstance(result, MetricTest) else untestable).append(result)
    return tests, untestable


def kpi_period(settings: Any) -> int:
    """A Lambda KPI's CloudWatch period: `kpiStepSeconds` up to whole minutes (CloudWatch's standard resolution)."""
    return max(1, math.ceil(settings.rollout.kpi_step_seconds / 60)) * 60


def _version_dict(v: Any) -> dict[str, Any]:
    def m(x: Any) -> dict[str, Any]:
        return {"value": x.value, "unit": x.unit, "query": x.query, "window": x.window.label()}

    counts = [c for c, _, _ in v.duration_periods]
    return {"requests": m(v.requests), "errors": m(v.errors),
            "error_rate": v.errors.value / v.requests.value if v.requests.value else None,
            "duration": {"minutes": len(counts), "samples": sum(counts),
                         "min_ms": min((mn for _, mn, _ in v.duration_periods), default=None),
                         "max_ms": max((mx for _, _, mx in v.duration_periods), default=None),
                         "query": v.duration_query}}


def _canary_source(project_dir: Path, decl: Any, git: Any) -> tuple[str, int, bool]:
    """(file relative to the repository, document line, whether it is the stack's overlay) of the document that
    declares `spec.canary`: the stack's overlay when it sets it, else the declaration."""
    overlay = decl.overlay
    in_overlay = overlay is not None and isinstance(overlay.data, dict) and \
        "canary" in ((overlay.data.get("spec") or {}) if isinstance(overlay.data.get("spec"), dict) else {})
    file, line = (overlay.file, overlay.line) if in_overlay else (decl.file, decl.line)
    return (project_dir / file).resolve().relative_to(git.root.resolve()).as_posix(), line, in_overlay


def lambda_rollout(project_dir: Path, stack: str, settings: Any, decl: Any, git: Any, since: timedelta,
                   approve: bool, now: datetime | None) -> dict[str, Any]:
    """The Lambda canary: `spec.canary` = the `live` alias on `stableVersion`, sending `weight` to the version
    the deploy published. Promote = drop `spec.canary` (the alias then points at the published version with no
    additional weights); rollback = revert the commit that introduced `spec.canary`. Both act on the file that
    declares it: the stack's overlay when it does (promotion there writes `canary: null` when the base declares
    a canary too, JSON Merge Patch's removal), else the declaration."""
    from guardrails_core.settings import read_stack_config

    from preflight.gitops import REMOVE, Change, Edit, FileEdits, Proposal, act, needs_approval
    from preflight.observe.canary import decide
    from preflight.observe.cloudwatch import ALIAS, CloudWatchReader, cloudwatch_client
    from preflight.observe.model import Window
    from preflight.observe.sources import ObserveContext

    service = decl.name
    canary_spec = decl.spec.body.canary
    file_in_repo, doc_line, in_overlay = _canary_source(project_dir, decl, git)
    base_has_canary = isinstance(decl.origin.data.get("spec"), dict) and "canary" in decl.origin.data["spec"] \
        if decl.origin is not None and isinstance(decl.origin.data, dict) else False
    stable = canary_spec.stable_version
    region = ObserveContext(project_dir, stack, settings, read_stack_config(project_dir, stack)).aws_region()
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)  # whole minutes: Lambda's resolution
    window = Window(end - since, end, 60)
    reader = CloudWatchReader(cloudwatch_client(region), region)
    versions = reader.executed_versions(service, ALIAS)
    figures = reader.alias_versions(service, ALIAS, sorted({*versions, stable}), window)
    serving = [v for v, f in figures.items() if (f.requests.value or 0) >= 0.5]
    others = sorted((v for v in serving if v != stable), key=lambda v: (int(v) if v.isdigit() else -1, v))
    canary = others[-1] if others else None
    record: dict[str, Any] = {
        "service": service, "kind": "lambda", "stack": stack, "declaration": decl.source,
        "canary_declared_in": file_in_repo, "window": window.label(),
        "cloudwatch": f"{reader.endpoint} (region {region})", "alias": ALIAS, "stable": stable, "canary": canary,
        "declared": {"stable_version": stable, "weight": canary_spec.weight,
                     "kpis": [k.model_dump(by_alias=True) for k in canary_spec.kpis]},
        "commit": None, "branch": None, "status": None, "patch_file": None, "body_file": None,
    }
    metrics: dict[str, Any] = {"versions": {v: _version_dict(f) for v, f in figures.items()}, "tests": []}
    queries = sorted({q for f in figures.values() for q in (f.requests.query, f.errors.query, f.duration_query)})
    if canary is None or stable not in serving:
        reasons = []
        if stable not in serving:
            reasons.append(f"the stable version {stable} served no invocations through alias {ALIAS} in the window "
                           f"{window.label()}")
        if canary is None:
            reasons.append(f"no version of {service} other than {stable} ran invocations through alias {ALIAS} in "
                           "the window (canary not deployed yet, or no traffic)")
        return _finish(project_dir, {**record, "decision": "hold", "reasons": reasons, "metrics": metrics,
                                     "queries": queries})
    if len(others) > 1:
        metrics["note"] = f"several non-stable versions ran invocations ({', '.join(others)}); judged the newest"
    s, c = figures[stable], figures[canary]
    kpis = [(kpi, reader.kpi_samples(kpi, service, [stable, canary], window, kpi_period(settings)))
            for kpi in canary_spec.kpis]
    queries += sorted(q for _, got in kpis if not isinstance(got, str) for _, q in got.values())
    tests, untestable = _lambda_tests(s, c, settings, kpis)
    analysis = decide(tests, untestable, f"version {canary}", f"version {stable}", round(c.requests.value),
                      round(s.requests.value), settings.rollout.min_requests)
    metrics["tests"] = [t.as_dict() for t in tests]
    record.update(decision=analysis.decision, reasons=analysis.reasons, metrics=metrics, queries=queries)
    if analysis.decision == "hold":
        return _finish(project_dir, record)
    evidence = [f"window {window.label()} from CloudWatch {reader.endpoint} (region {region}), alias {ALIAS}; "
                f"stable version {stable}, canary version {canary}"]
    for version, f in ((stable, s), (canary, c)):
        evidence.append(f"version {version}: {f.requests.value:.0f} invocations, {f.errors.value:.0f} errors "
                        f"(query: `{f.requests.query}`)")
    for t in tests:
        d = t.as_dict()
        seen = f"{t.k}/{t.n}" if t.k_safe is None else f"{t.k}..{t.k_safe} of {t.n}"
        evidence.append(f"{t.metric}: canary {seen} vs tolerated {t.theta0:.4g}; log LR harm {d['log_lr_harm']}, "
                        f"safe {d['log_lr_safe']} (threshold {d['threshold_log_lr']:.3f} = log 1/{t.alpha:.4g}); "
                        f"{t.outcome}; queries: " + ", ".join(f"`{q}`" for q in t.queries))
    weight = f"{canary_spec.weight:g}"
    if analysis.decision == "promote":
        proposal = Proposal(
            "promote", service, f"rollout: promote {service}: version {canary} takes all traffic of alias {ALIAS}",
            why=" ".join(analysis.reasons), evidence=evidence,
            edits=[FileEdits(file_in_repo, doc_line, (Edit(["spec", "canary"],
                                                             None if in_overlay and base_has_canary else REMOVE),))],
            changes=[Change(f"alias {ALIAS}", f"version {stable} + {weight} to version {canary}",
                            f"the published version ({canary}), no additional weights"),
                     Change("spec.canary", f"{{stableVersion: {stable!r}, weight: {weight}}}", "(removed)")],
            risk=f"All invocations of {ALIAS} go to version {canary}, proved within tolerance on {len(tests)} "
                 f"metric(s) at a false-alarm rate of {settings.rollout.false_alarm_rate:g}; undo with git revert.")
    else:
        to_revert = canary_commits(git, file_in_repo, service, lambda_canary_marker, "spec.canary")
        record["reverted"] = to_revert
        proposal = Proposal(
            "rollback", service, f"rollout: roll back {service} canary version {canary} (revert "
                                 f"{to_revert[-1][:12]} \"{git.subject(to_revert[-1])[:60]}\")",
            why=" ".join(analysis.reasons), evidence=evidence, revert=to_revert,
            changes=[Change("spec.canary", f"{{stableVersion: {stable!r}, weight: {weight}}}",
                            "(removed: the canary's commit is reverted)")],
            risk=f"Alias {ALIAS} returns to the declaration before the canary; the change it carried is undone "
                 "in Git.")
    required = needs_approval(settings, proposal.kind)
    outcome = act(git, proposal, approved=approve, approval_required=required, out_dir=project_dir / "out" / "gitops")
    record.update(commit=outcome.commit, branch=outcome.branch, status=outcome.status, base=outcome.base,
                  patch_file=outcome.patch_file, body_file=outcome.body_file, needs_approval=required,
                  title=proposal.title)
    return _finish(project_dir, record)


def _generation(revision: str) -> tuple[int, str]:
    match = re.search(r"-(\d+)$", revision)
    return (int(match[1]) if match else -1, revision)


def _step(decl: Any, keys: Any) -> int | None:
    value = decl.spec.annotations.get(keys.rollout_key("step"))
    return int(value) if value is not None else None


def _ms(m: Any) -> str:
    return "missing" if m.missing else f"{m.value:.0f} ms"


def _target_dict(t: Any) -> dict[str, Any]:
    def m(x: Any) -> dict[str, Any]:
        return {"value": x.value, "unit": x.unit, "query": x.query, "window": x.window.label(),
                **({"missing": x.missing_reason} if x.missing else {})}

    return {"requests": m(t.requests), "errors": m(t.errors), "error_rate": m(t.error_rate),
            "requests_per_hour": m(t.requests_per_hour), "latency_p50_ms": m(t.latency_p50_ms),
            "latency_p95_ms": m(t.latency_p95_ms), "latency_p99_ms": m(t.latency_p99_ms)}


def _finish(project_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Keep the decision record beside the reports (out/rollout/<service>-<time>.json)."""
    out = project_dir / "out" / "rollout"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = out / f"{record['service']}-{stamp}.json"
    record["record"] = str(path)
    write_atomic(path, json.dumps(record, indent=2, default=str))
    return record


def run_rollout(args: argparse.Namespace) -> int:
    from guardrails_core.settings import StackConfigError

    from components.specs.errors import DeclarationErrors
    from preflight.cli import UsageError, resolve_target
    from preflight.gitops import EditError, GitError
    from preflight.observe.cloudwatch import CloudWatchError
    from preflight.observe.prometheus import PrometheusError, prometheus_url
    from preflight.observe.sources import SourceError

    try:
        resolve_target(args)
        url = prometheus_url(args.prometheus)
        record = rollout(Path(args.project_dir).resolve(), args.stack, args.service, url, parse_since(args.since),
                         args.approve, now=parse_until(args.until))
    except (RolloutError, UsageError, StackConfigError, PrometheusError, CloudWatchError, SourceError, GitError,
            EditError) as exc:
        print(f"error: {exc}\nnothing committed", file=sys.stderr)
        return EXIT_USAGE
    except DeclarationErrors as exc:
        print(f"error: {exc}\nnothing committed", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(record, indent=2, default=str))
    else:
        _print_text(record)
    waiting = record.get("status") == "prepared"
    return EXIT_ACTION if record["decision"] == "rollback" or waiting else EXIT_OK


def _print_text(record: dict[str, Any]) -> None:
    print(f"{record['service']}: {record['decision'].upper()} (stable {record['stable']}, canary "
          f"{record['canary'] or 'none'}; window {record['window']})")
    for reason in record["reasons"]:
        print(f"  - {reason}")
    if record.get("status") == "committed":
        print(f"committed {record['commit']} on branch {record['branch']} (main untouched, nothing pushed)")
        print(f"PR: gh pr create --head {record['branch']} --title {json.dumps(record['title'])} "
              f"--body-file {record['body_file']}")
    elif record.get("status") == "prepared":
        print(f"needs a human: nothing committed; patch {record['patch_file']}, PR body {record['body_file']}; "
              "re-run with --approve to commit")
    print(f"record: {record['record']}")


if __name__ == "__main__":  # standalone: python -m preflight.rollout_cli rollout ...
    top = argparse.ArgumentParser(prog="preflight")
    add_rollout_parser(top.add_subparsers(dest="command", required=True))
    ns = top.parse_args()
    sys.exit(ns.func(ns))
