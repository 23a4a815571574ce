"""Our controls against the peers' own tests (cases in `cases/*.yaml`, made by scripts/convert_peer_tests.py).

For every case a Knative Service can express, the controls that claim the case's peer id are run on it under a
prod stack whose cluster enables every Knative feature flag (flags are cluster configuration, not part of the
rule). A peer id in a control's `peer_ids` must give the peer's verdict exactly ("fail" when any claiming control
fails); one in `stricter_than` must fail every case the peer fails. Regenerate the summary with

    .venv/bin/python tests/conformance/conformance.py        # writes docs/conformance.md (--check: compare)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policy_packs" / "guardrails"
for _path in (REPO, PACK_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import yaml  # noqa: E402
from guardrails_core.settings import StackSettings  # noqa: E402
from guardrails_core.types import KNATIVE_SERVICE  # noqa: E402
from guardrails_pack.context import StackResource  # noqa: E402
from guardrails_pack.control import Control  # noqa: E402
from guardrails_pack.discovery import discover_controls  # noqa: E402
from guardrails_pack.runtime import evaluate_resource, evaluate_stack, runtime_props  # noqa: E402

CASES_DIR = Path(__file__).resolve().parent / "cases"
SUMMARY = REPO / "docs" / "conformance.md"
PEERS = ("checkov", "polaris", "kube-score", "kyverno")
_FLAGS = json.loads((PACK_DIR / "guardrails_pack/controls/kn/kn_flag_gated_fields/knative_flags.json").read_text())
SETTINGS = StackSettings.model_validate({
    "environment": "prod",
    "platforms": ["knative"],
    "namespace": "default",
    "knative_feature_flags": {key: spec["values"][-1] if spec["values"][-1] == "enabled" else "enabled"
                              for key, spec in _FLAGS["flags"].items()},
})


# Peer rules whose published form carries its own parameters (Kyverno's sample policies name registries, labels or a
# stance); our controls take the same parameters from the stack settings or the control's options. The conformance
# run sets them to the sample policy's values for that peer id only.
PEER_PARAMETERS: dict[str, dict[str, Any]] = {
    "kyverno:best-practices/restrict-image-registries": {
        "settings": {"allowed_registries": ["eu.foo.io", "bar.io"]},
        "why": "the sample policy allows images `eu.foo.io/* | bar.io/*`"},
    "kyverno:kubecost/require-kubecost-labels": {
        "settings": {"required_tags": ["owner", "team", "department", "app", "env"]},
        "why": "the policy requires the labels owner, team, department, app, env"},
    "kyverno:best-practices/require-labels": {
        "settings": {"required_tags": ["app.kubernetes.io/name"]},
        "why": "the sample policy requires the label app.kubernetes.io/name"},
    "kyverno:other/forbid-cpu-limits": {
        "options": {"pod.cpu-limit-stance": {"stanceByEnvironment": {"prod": "forbid"}}},
        "why": "the policy forbids CPU limits (our stance option `forbid`)"},
}


def settings_for(peer_id: str) -> StackSettings:
    override = PEER_PARAMETERS.get(peer_id, {}).get("settings")
    if not override:
        return SETTINGS
    return StackSettings.model_validate({**SETTINGS.model_dump(), **override})


@dataclass(frozen=True)
class Claims:
    exact: tuple[Control, ...] = ()
    stricter: tuple[Control, ...] = ()


def claims(controls: Iterable[Control]) -> dict[str, Claims]:
    out: dict[str, Claims] = {}
    for control in controls:
        if KNATIVE_SERVICE not in control.resource_types:
            continue
        for peer_id in control.peer_ids:
            current = out.get(peer_id, Claims())
            out[peer_id] = Claims(current.exact + (control,), current.stricter)
        for peer_id in control.stricter_than:
            current = out.get(peer_id, Claims())
            out[peer_id] = Claims(current.exact, current.stricter + (control,))
    return out


def load_cases(peer: str) -> dict[str, Any]:
    return yaml.safe_load((CASES_DIR / f"{peer}.yaml").read_text())


def verdict(controls: Iterable[Control], service: dict[str, Any], name: str,
            peer_id: str = "") -> tuple[str, list[str]]:
    """("pass"|"fail"|"error", messages) of the controls on one converted Service."""
    messages: list[str] = []
    status = "pass"
    settings = settings_for(peer_id)
    options = PEER_PARAMETERS.get(peer_id, {}).get("options", {})
    urn = f"urn:pulumi:conformance::p::{KNATIVE_SERVICE}::{name}"
    for control in controls:
        config = options.get(control.id, {})
        if control.kind == "stack":  # the case's plan is the converted Service alone
            outcome = evaluate_stack(control, [StackResource(KNATIVE_SERVICE, name, urn, runtime_props(service))],
                                     settings, config)
        else:
            outcome = evaluate_resource(control, KNATIVE_SERVICE, runtime_props(service), settings, name=name,
                                        urn=urn, config=config)
        if outcome is None:
            continue
        if outcome.status == "error":
            return "error", [f"{control.id}: {m}" for m in outcome.messages]
        if outcome.status != "pass":
            status = "fail"
            messages += [f"{control.id}: {m}" for m in outcome.messages]
    return status, messages


@dataclass
class PeerIdResult:
    claim: str  # "exact" | "stricter" | "not claimed"
    agree: int = 0
    disagree: int = 0
    inexpressible: int = 0
    no_verdict: int = 0
    disagreements: list[str] = field(default_factory=list)


def run(peer: str, claimed: dict[str, Claims] | None = None) -> dict[str, PeerIdResult]:
    claimed = claims(discover_controls()) if claimed is None else claimed
    results: dict[str, PeerIdResult] = {}
    for case in load_cases(peer)["cases"]:
        peer_id = case["peer_id"]
        claim = claimed.get(peer_id, Claims())
        kind = ("exact + stricter" if claim.exact and claim.stricter else "exact" if claim.exact
                else "stricter" if claim.stricter else "not claimed")
        result = results.setdefault(peer_id, PeerIdResult(kind))
        if case["expected"] is None:
            result.no_verdict += 1
            continue
        if case["service"] is None:
            result.inexpressible += 1
            continue
        if kind == "not claimed":
            continue
        problems = []
        if claim.exact:
            ours, messages = verdict(claim.exact, case["service"], case["id"], peer_id)
            if ours != case["expected"]:
                problems.append(f"peer {case['expected']}, ours {ours}: {'; '.join(messages) or 'no finding'}")
        if claim.stricter:  # a peer failure must be ours too; we may fail more
            ours, messages = verdict(claim.stricter, case["service"], case["id"], peer_id)
            if ours == "error" or (case["expected"] == "fail" and ours != "fail"):
                problems.append(f"peer {case['expected']}, stricter control(s) {ours}: "
                                f"{'; '.join(messages) or 'no finding'}")
        if problems:
            result.disagree += 1
            result.disagreements.append(f"{case['id']} ({case['path']}): " + " / ".join(problems))
        else:
            result.agree += 1
    return dict(sorted(results.items()))


def totals(results: dict[str, PeerIdResult]) -> dict[str, int]:
    claimed = [r for r in results.values() if r.claim != "not claimed"]
    return {key: sum(getattr(r, key) for r in claimed) for key in ("agree", "disagree", "inexpressible", "no_verdict")}


def render(all_results: dict[str, dict[str, PeerIdResult]]) -> str:
    lines = [
        "# Conformance with the peers' own tests",
        "",
        "<!-- Generated by tests/conformance/conformance.py from tests/conformance/cases/*.yaml. Do not edit. -->",
        "",
        "Each peer's published test cases, converted to Knative Services by `scripts/convert_peer_tests.py`, with the "
        "peer's expected verdict (provenance: `tests/conformance/cases/PROVENANCE.md`). A peer id a control lists in "
        "`peer_ids` must give exactly the peer's verdict; one in `stricter_than` must fail every case the peer fails "
        "(it may fail more). *Inexpressible*: the CRD schema or Knative's webhook rejects the case (reason per case "
        "in the case file). *No verdict*: the peer's test gives none for that resource. Stack: prod, every Knative "
        "feature flag enabled. Where a peer's published rule carries its own parameters, the run sets ours to the "
        "same values for that rule only: "
        + "; ".join(f"`{k}`: {v['why']}" for k, v in sorted(PEER_PARAMETERS.items())) + ".",
        "",
        "| peer | agree | disagree | inexpressible | no verdict |",
        "|---|---|---|---|---|",
    ]
    for peer, results in all_results.items():
        t = totals(results)
        lines.append(f"| {peer} | {t['agree']} | {t['disagree']} | {t['inexpressible']} | {t['no_verdict']} |")
    for peer, results in all_results.items():
        lines += ["", f"## {peer}", "", "| peer id | claim | agree | disagree | inexpressible | no verdict |",
                  "|---|---|---|---|---|---|"]
        for peer_id, r in results.items():
            agree = "" if r.claim == "not claimed" else str(r.agree)
            disagree = "" if r.claim == "not claimed" else str(r.disagree)
            lines.append(f"| `{peer_id}` | {r.claim} | {agree} | {disagree} | {r.inexpressible} | {r.no_verdict} |")
        misses = [d for r in results.values() for d in r.disagreements]
        if misses:
            lines += ["", "Disagreements:", ""] + [f"- {d}" for d in misses]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render({peer: run(peer) for peer in PEERS})
    if "--check" in argv:
        if not SUMMARY.exists() or SUMMARY.read_text() != text:
            print(f"{SUMMARY} is out of date; run tests/conformance/conformance.py", file=sys.stderr)
            return 1
        return 0
    SUMMARY.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
