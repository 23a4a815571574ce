"""Idle resources, each with its monthly saving and a cleanup proposal (never a silent delete).

Rules (`guardrails:observe`: `idleDays` = N, `idleRequestsPerDay`, `protected`, `deletionExpiryDays`):
  * idle = every one of the last N whole days observed with at most `idleRequestsPerDay` requests. A day whose
    requests are missing is not idle, it is unknown: no finding, the reason is reported.
  * idle Lambda with provisioned concurrency: remove it (it bills every second it is allocated).
  * idle Knative Service with min-scale > 0: scale to zero (min-scale "0").
  * idle without either: mark for deletion - annotation `finops.<domain>/delete-after: <today + expiry>`; the
    owner deletes the file, or removes the mark, before then.
  * a Knative canary left at 0%: a `spec.traffic` entry naming a revision with `percent: 0`, or
    `rollout.<domain>/canary-percent: "0"`: remove it (the revision keeps no traffic; Knative garbage-collects it).
Savings are cost(now) - cost(after) at the observed workload, from the pricing engine; a service whose price is
unknown (e.g. no provisioned-concurrency rate for its region) keeps its finding with the reason, never a $0.
A protected service (fnmatch on its name) keeps its findings but gets no proposal.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from guardrails_predict.costing import service_cost
from guardrails_predict.pricing import PricingError
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.rightsizing import _annotation_key as annotation_key

from preflight.gitops import REMOVE, Change, Edit, FileEdits, Proposal
from preflight.observe.model import ObservedService


@dataclass
class IdleFinding:
    service: str
    rule: str  # idle-provisioned-concurrency | min-scale-on-idle | no-traffic | canary-at-zero
    message: str
    saving_usd_month: float | None
    saving_missing_reason: str | None = None
    protected: bool = False
    proposal: Proposal | None = None
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "rule": self.rule, "message": self.message,
                "saving_usd_month": self.saving_usd_month, "saving_missing_reason": self.saving_missing_reason,
                "protected": self.protected, "evidence": self.evidence,
                "proposal": self.proposal.title if self.proposal else None}


def daily_requests(observed: ObservedService) -> list[float | None]:
    """Requests per whole 24-hour block of the window, oldest first (None when any hour is missing)."""
    series = observed.hourly.get("requests")
    if series is None:
        return []
    values = series.values
    out: list[float | None] = []
    for day in range(len(values) // 24):
        block = values[day * 24:(day + 1) * 24]
        out.append(None if any(v is None for v in block) else float(sum(block)))  # type: ignore[arg-type]
    return out


def is_protected(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _cost(svc: Any, requests_month: float, duration_ms: float, cfg: Any, prices: Any, **overrides: Any
          ) -> tuple[float | None, str | None]:
    try:
        return float(service_cost(svc, requests_month, duration_ms, cfg, prices, **overrides)), None
    except (PricingError, PredictionInputError) as exc:
        return None, str(exc)


def _saving(svc: Any, requests_month: float, duration_ms: float, cfg: Any, prices: Any,
            **after: Any) -> tuple[float | None, str | None]:
    now, why = _cost(svc, requests_month, duration_ms, cfg, prices)
    then, why_after = _cost(svc, requests_month, duration_ms, cfg, prices, **after) if after else (0.0, None)
    if now is None or then is None:
        return None, why or why_after
    return round(now - then, 2), None


def find_idle(svc: Any, observed: ObservedService, settings: Any, cfg: Any, prices: Any, today: date
              ) -> tuple[list[IdleFinding], str | None]:
    """(findings, why idleness could not be decided or None). `settings` is the StackSettings, `cfg` the
    PredictionSettings, `svc` the predictions' Service (declared configuration)."""
    rules = settings.observe
    domain = settings.annotation_domain
    findings: list[IdleFinding] = []
    protected = is_protected(svc.name, rules.protected)
    file, line = svc.primary.source_file or observed.declaration, svc.primary.source_line
    findings += _canaries_at_zero(svc, file, line, domain, protected)
    days = daily_requests(observed)
    n = rules.idle_days
    if len(days) < n:
        return findings, (f"{len(days)} whole day(s) observed, fewer than guardrails:observe.idleDays {n}: "
                          "idleness not decided")
    last = days[-n:]
    if any(d is None for d in last):
        return findings, f"requests missing for part of the last {n} days ({observed.requests_per_hour.missing_reason})"
    if max(last) > rules.idle_requests_per_day:  # type: ignore[type-var]
        return findings, None
    total = sum(last)  # type: ignore[arg-type]
    requests_month = total / n * 730 / 24
    duration = observed.duration_mean_ms.value if observed.duration_mean_ms and not \
        observed.duration_mean_ms.missing else 0.0
    evidence = [f"requests: {observed.hourly['requests'].query}",
                f"{total:g} requests in the last {n} days (idle: <= {rules.idle_requests_per_day:g}/day, "
                "guardrails:observe.idleRequestsPerDay)"]
    quiet = f"{total:g} requests in the last {n} days"
    if svc.kind == "lambda" and svc.provisioned_concurrency > 0:
        saving, why = _saving(svc, requests_month, duration or 0.0, cfg, prices, provisioned_concurrency=0)
        finding = IdleFinding(svc.name, "idle-provisioned-concurrency",
                              f"{svc.name}: provisioned concurrency {svc.provisioned_concurrency} and {quiet}: "
                              "remove it", saving, why, protected, evidence=evidence)
        edits = [Edit(("spec", "provisionedConcurrency"), REMOVE)]
        changes = [Change("spec.provisionedConcurrency", str(svc.provisioned_concurrency), "(removed: 0)")]
    elif svc.kind == "knative" and svc.min_scale > 0:
        saving, why = _saving(svc, requests_month, duration or 0.0, cfg, prices, min_scale=0)
        finding = IdleFinding(svc.name, "min-scale-on-idle", f"{svc.name}: min-scale {svc.min_scale} and {quiet}: "
                              "scale to zero", saving, why, protected, evidence=evidence)
        key = annotation_key(svc, "min-scale", "minScale")
        edits = [Edit(("spec", "template", "metadata", "annotations", key), "0", quote=True)]
        changes = [Change(f"spec.template.metadata.annotations.{key}", str(svc.min_scale), "0")]
    else:
        saving, why = _saving(svc, requests_month, duration or 0.0, cfg, prices)
        expiry = today + timedelta(days=rules.deletion_expiry_days)
        finding = IdleFinding(svc.name, "no-traffic", f"{svc.name}: {quiet}: marked for deletion after "
                              f"{expiry.isoformat()}", saving, why, protected, evidence=evidence)
        key = f"finops.{domain}/delete-after"
        edits = [Edit(("metadata", "annotations", key), expiry.isoformat(), quote=True)]
        changes = [Change(f"metadata.annotations.{key}", "(none)", expiry.isoformat())]
    money = cfg.exchange.text  # the stack's currency; `saving_usd_month` stays USD
    finding.message += f" (saves {money(saving)}/month)" if saving is not None else f" (saving unknown: {why})"
    if not protected:
        finding.proposal = Proposal(
            kind="cleanup", service=svc.name, title=f"{svc.name}: {finding.message.split(': ', 1)[1].split(' (')[0]}",
            why=f"idle: {quiet} (guardrails:observe.idleDays {n}); "
                + (f"saves {money(saving)}/month" if saving is not None else f"saving unknown: {why}"),
            evidence=[*evidence, f"window {observed.window.label()}"],
            edits=[FileEdits(file, line, tuple(edits))], changes=changes,
            # idle: the saving does not depend on a workload forecast, so the band is one figure
            saving_usd_month={q: saving for q in ("p10", "p50", "p90")} if saving else None, currency=cfg.exchange,
            risk="Nothing is deleted: the service keeps running (scaled down); revert this commit to undo."
            if finding.rule != "no-traffic" else
            f"Nothing is deleted now: the owner deletes the declaration, or removes the mark, before {expiry}.")
    else:
        finding.message += " (protected by guardrails:observe.protected: no proposal)"
    findings.append(finding)
    return findings, None


def _canaries_at_zero(svc: Any, file: str, line: int | None, domain: str, protected: bool) -> list[IdleFinding]:
    if svc.kind != "knative":
        return []
    out = []
    spec = svc.declaration.get("spec", {}) if isinstance(svc.declaration, dict) else {}
    for i, entry in enumerate(spec.get("traffic") or []):
        if isinstance(entry, dict) and entry.get("revisionName") and entry.get("percent") == 0:
            out.append(IdleFinding(svc.name, "canary-at-zero", f"{svc.name}: revision {entry['revisionName']} is "
                                   "left in spec.traffic at 0%: remove the entry", 0.0, protected=protected,
                                   evidence=[f"{file}: spec.traffic[{i}]"]))
            edits = [Edit(("spec", "traffic", i), REMOVE)]
            break
    else:
        key = f"rollout.{domain}/canary-percent"
        annotations = (svc.declaration.get("metadata", {}) or {}).get("annotations", {}) or {}
        if str(annotations.get(key, "")).strip() != "0":
            return []
        # No proposal here: without the annotations the component routes 100% to the latest revision, which is
        # the abandoned canary. Rolling back the template (`preflight rollout`) is the cleanup.
        return [IdleFinding(svc.name, "canary-at-zero", f"{svc.name}: {key} is \"0\": the canary revision carries no "
                            "traffic; revert the template change that introduced it (preflight rollout) or promote it",
                            0.0, protected=protected, evidence=[f"{file}: metadata.annotations.{key}"])]
    if not protected:
        out[-1].proposal = Proposal(kind="cleanup", service=svc.name,
                                    title=f"{svc.name}: remove the canary left at 0%", why=out[-1].message,
                                    evidence=out[-1].evidence, edits=[FileEdits(file, line, tuple(edits))],
                                    changes=[Change(out[-1].evidence[0].split(": ", 1)[1], "percent: 0",
                                                    "(removed)")],
                                    risk="None: the entry carries no traffic.")
    return out
