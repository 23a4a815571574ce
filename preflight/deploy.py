"""What `preflight up` needs around the engine: per-control overrides, and an honest account of the update.

* `parse_overrides(["dc.confidential-cluster-local=SEC-123: demo cluster, expires 2026-12-31"], settings, origin)`
  → `{control id: reason}`; an unknown id is a UsageError-worthy `OverrideError` with the allowed ids and a
  "did you mean"; refused when the stack forbids overrides (`guardrails:policy.overrides`, forbidden on prod).
* `field_conflicts(text)` — Server-Side Apply conflicts in the engine's error: which object, which field manager
  owns which fields, and what to do.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from guardrails_core.settings import StackSettings, overrides_allowed

from preflight.gate import override_record

EXIT_DEPLOY_FAILED = 3
# `--override "reason"` (the whole gate) is gone: an override names the control it downgrades.
_OVERRIDE = re.compile(r"^\s*(?P<control>[a-z][a-z0-9]*\.[a-z0-9][a-z0-9.-]*|[a-z][a-z0-9-]*)\s*=(?P<reason>.*)$", re.S)


class OverrideError(ValueError):
    """An override that cannot be used (message says why and what is allowed)."""


def parse_overrides(values: Sequence[str], settings: StackSettings, origin: str,
                    catalogue: dict[str, str] | None = None) -> dict[str, str]:
    """`CONTROL=REASON` strings → {control id: reason}. CONTROL is a control id (`dc.confidential-cluster-local`)
    or its policy name (`dc-confidential-cluster-local`)."""
    if not values:
        return {}
    if not overrides_allowed(settings):
        raise OverrideError(f"overrides are forbidden on stack environment {settings.environment!r} "
                            f"(guardrails:policy.overrides in {origin}"
                            f"{'' if settings.policy.overrides else ', default for prod'}): fix the findings instead")
    if catalogue is None:
        from preflight.packs import control_catalogue

        catalogue = control_catalogue()
    by_name = {name: control for control, name in catalogue.items()}
    out: dict[str, str] = {}
    for value in values:
        match = _OVERRIDE.match(value)
        if not match:
            raise OverrideError(f"--override {value!r}: expected CONTROL=REASON, e.g. --override "
                                "dc.confidential-cluster-local=\"SEC-123: demo cluster, expires 2026-12-31\" (an "
                                "override downgrades only the controls it names; see docs/controls.md for the ids)")
        control, reason = match["control"], match["reason"].strip()
        control = by_name.get(control, control)
        if control not in catalogue:
            near = difflib.get_close_matches(control, list(catalogue), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(near)}? " if near else ""
            raise OverrideError(f"--override {control}: unknown control id; {hint}allowed: the {len(catalogue)} "
                                f"control ids in docs/controls.md ({', '.join(sorted(catalogue)[:5])}, ...)")
        if not reason:
            raise OverrideError(f"--override {control}: needs a reason after '=', e.g. "
                                f"{control}=\"SEC-123: demo cluster, expires 2026-12-31\"")
        if control in out:
            raise OverrideError(f"--override {control}: given twice")
        out[control] = reason
    return out


def override_records(overrides: dict[str, str]) -> list[dict[str, str]]:
    """Who/when/why per overridden control, for the report."""
    return [{**override_record(reason), "control": control} for control, reason in overrides.items()]


@dataclass(frozen=True)
class FieldConflict:
    resource: str
    manager: str
    fields: list[str]
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return {"resource": self.resource, "manager": self.manager, "fields": self.fields, "fix": self.fix}

    def sentence(self) -> str:
        return (f"{self.resource}: field(s) {', '.join(self.fields) or '?'} are owned by field manager "
                f"{self.manager!r}; {self.fix}")


# pulumi-kubernetes reports e.g.
#   resource "urn:pulumi:cluster::proj::...$kubernetes:serving.knative.dev/v1:Service::ranker" was not successfully
#   created by the Kubernetes API server: Server-Side Apply field conflict detected. ... The resource managed by field
#   manager "pulumi-kubernetes-7c5480ef" had an apply conflict: Apply failed with 1 conflict: conflict with
#   "kubectl-client-side-apply" using serving.knative.dev/v1: .spec.template.spec.containers
_URN = re.compile(r'resource "(?P<urn>urn:pulumi:[^"]+)"')
_CONFLICT = re.compile(r'conflict with "(?P<manager>[^"]+)"(?: using [\w./-]+)?:\s*(?P<fields>[^\n]*)')


def field_conflicts(text: str) -> list[FieldConflict]:
    """Every Server-Side Apply field conflict the engine's error names, with the usual fix."""
    out: list[FieldConflict] = []
    for block in re.split(r"\n(?=pulumi: resource )", text):
        if "conflict with" not in block:
            continue
        urn = _URN.search(block)
        where = "a Kubernetes object"
        if urn:
            kind = urn["urn"].rsplit("$", 1)[-1].rsplit("::", 1)[0].split("::")[-1]
            where = f"{kind} {urn['urn'].rsplit('::', 1)[-1]}"
        for match in _CONFLICT.finditer(block):
            fields = [f.strip(" ,") for f in re.findall(r"\.[^\s,]+", match["fields"])]
            manager = match["manager"]
            fix = (f"the object already exists and {manager!r} (e.g. `kubectl apply`) owns these fields, not this "
                   "stack. Either stop that writer and let the stack own the object (`kubectl delete` it, then "
                   "`preflight up` creates it; or `pulumi import` it), or let Pulumi take the fields over: add the "
                   "annotation `pulumi.com/patchForce: \"true\"` to the declaration")
            conflict = FieldConflict(where, manager, fields, fix)
            if conflict not in out:
                out.append(conflict)
    # The engine repeats a conflict in its summary without naming the resource: keep the one that names it.
    named = {(c.manager, tuple(c.fields)) for c in out if c.resource != "a Kubernetes object"}
    return [c for c in out if c.resource != "a Kubernetes object" or (c.manager, tuple(c.fields)) not in named]
