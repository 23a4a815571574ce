"""Drift: what runs differs from what Pulumi last deployed from Git — which field, where it is declared, who changed it.

Input is the document `pulumi refresh --preview-only --json` prints: `steps[]`, each with `op` (`refresh` = no
change, `update` = the live object differs, `delete` = it is gone), `urn`, `oldState` (what the backend holds: the
last deployment) and `newState` (what the provider read back), both with `type`, `custom`, `parent`, `inputs`
and `outputs`. The field changes are computed from the two `outputs` (the live objects), minus what the API
server changes on every write (resourceVersion, generation, managedFields, status) and the provider's own `__`
keys. Each change is then put on the line of its field in the declaration (or the overlay that set it), and
attributed with the live object's `metadata.managedFields` (preflight.managed_fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guardrails_core.types import KNATIVE_SERVICE

from components.serverless_function import FIELD_ORIGINS
from components.specs.loader import Declaration
from preflight.engine.base import PlannedResource, attach_sources
from preflight.managed_fields import FieldOwner, is_pulumi, last_apply, owners
from preflight.source_map import dotted, parse_path

PropPath = tuple[str | int, ...]
STACK_TYPE = "pulumi:pulumi:Stack"
# What the API server rewrites on every write, or reports rather than stores: never drift.
SERVER_FIELDS: frozenset[PropPath] = frozenset({
    ("metadata", "managedFields"), ("metadata", "resourceVersion"), ("metadata", "generation"),
    ("metadata", "uid"), ("metadata", "creationTimestamp"), ("metadata", "selfLink"), ("status",),
    # kubectl's client-side-apply bookkeeping: the fields it applied are reported themselves.
    ("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"),
})
CHANGED_OPS = frozenset({"update", "delete"})
MAX_SHOWN = 200  # characters of a value in messages; the JSON keeps the value


class DriftInputError(ValueError):
    """The refresh document is not what `pulumi refresh --preview-only --json` prints (names the field)."""


@dataclass(frozen=True)
class State:
    urn: str
    type: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    def planned(self) -> PlannedResource:
        """The resource as policies and predictions take it (inputs, as the engine sends them on preview)."""
        return PlannedResource(urn=self.urn, type=self.type, name=self.urn.rsplit("::", 1)[-1], custom=self.custom,
                               parent=self.parent or None, provider=self.provider or None, inputs=self.inputs)


@dataclass(frozen=True)
class Step:
    op: str
    urn: str
    old: State | None
    new: State | None


def _state(raw: Any, where: str) -> State | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise DriftInputError(f"{where}: expected an object, found {type(raw).__name__}")
    for key in ("urn", "type"):
        if not isinstance(raw.get(key), str):
            raise DriftInputError(f"{where}.{key}: missing (the refresh document must come from `pulumi refresh "
                                  "--preview-only --json`)")
    inputs, outputs = raw.get("inputs") or {}, raw.get("outputs") or {}
    if not isinstance(inputs, dict) or not isinstance(outputs, dict):
        raise DriftInputError(f"{where}.inputs/outputs: expected objects")
    return State(raw["urn"], raw["type"], bool(raw.get("custom")), raw.get("parent"), raw.get("provider"),
                 inputs, outputs)


def parse_refresh(doc: Any) -> list[Step]:
    """The steps of a refresh preview document, the stack resource left out."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("steps", []), list):
        raise DriftInputError("refresh document: expected an object with a `steps` list")
    steps = []
    for i, raw in enumerate(doc.get("steps") or []):
        where = f"steps[{i}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("op"), str) or not isinstance(raw.get("urn"), str):
            raise DriftInputError(f"{where}: expected an object with `op` and `urn`")
        step = Step(raw["op"], raw["urn"], _state(raw.get("oldState"), f"{where}.oldState"),
                    _state(raw.get("newState"), f"{where}.newState"))
        if (step.old or step.new) and (step.old or step.new).type == STACK_TYPE:
            continue
        steps.append(step)
    return steps


def _drop_noise(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in outputs.items() if not k.startswith("__")}


def field_changes(old: Any, new: Any, path: PropPath = ()) -> Iterator[tuple[PropPath, Any, Any]]:
    """(path, old, new) for every leaf that differs; lists of the same length are compared item by item."""
    if path in SERVER_FIELDS:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                yield (*path, key), old[key], None
            elif key not in old:
                yield (*path, key), None, new[key]
            else:
                yield from field_changes(old[key], new[key], (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from field_changes(a, b, (*path, index))
    elif old != new:
        yield path, old, new


@dataclass
class FieldDrift:
    path: PropPath  # in the live object (Pulumi property names)
    deployed: Any  # what the last `up` left (the backend's state)
    live: Any  # what runs now (None: removed)
    file: str | None = None
    line: int | None = None
    declaration_path: PropPath | None = None  # the declaration field that renders this property
    changed_by: FieldOwner | None = None
    loop: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": dotted(self.path), "deployed": self.deployed, "live": self.live,
            "file": self.file, "line": self.line,
            "declaration_field": dotted(self.declaration_path) if self.declaration_path else None,
            "changed_by": self.changed_by.as_dict() if self.changed_by else None, "loop": self.loop,
        }


@dataclass
class ResourceDrift:
    urn: str
    type: str
    name: str
    op: str  # update | delete
    file: str | None
    line: int | None
    pulumi_manager: str | None
    pulumi_applied: str | None  # time of Pulumi's last server-side apply of the object
    fields: list[FieldDrift] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "op": self.op, "file": self.file,
                "line": self.line, "pulumi_manager": self.pulumi_manager, "pulumi_applied": self.pulumi_applied,
                "fields": [f.as_dict() for f in self.fields]}


def declaration_path(resource_type: str, path: PropPath) -> PropPath | None:
    """The declaration field a rendered property comes from: the same path for a Knative Service (its manifest is
    the declaration plus added labels/annotations); the component's FIELD_ORIGINS for AWS resources."""
    if resource_type == KNATIVE_SERVICE:
        return path
    origin = FIELD_ORIGINS.get((resource_type, str(path[0]))) if path else None
    return parse_path(origin) if origin else None


def declared_resources(steps: Sequence[Step]) -> list[PlannedResource]:
    """The stack as last deployed (the backend's state), with the declaration file/line of each resource."""
    return attach_sources([s.old.planned() for s in steps if s.old is not None])


def live_resources(steps: Sequence[Step]) -> list[PlannedResource]:
    """The stack as it runs (what the provider read back); a resource deleted out of band is absent."""
    return attach_sources([s.new.planned() for s in steps if s.new is not None])


def find_drift(steps: Sequence[Step], declarations: Sequence[Declaration],
               pulumi_managers: Sequence[str] = ()) -> list[ResourceDrift]:
    by_start = {(d.file, d.line): d for d in declarations}
    sources = {r.urn: (r.source_file, r.source_line) for r in declared_resources(steps)}
    out = []
    for step in steps:
        if step.op not in CHANGED_OPS or step.old is None:
            continue
        old_live = _drop_noise(step.old.outputs)
        new_live = _drop_noise(step.new.outputs) if step.new is not None else {}
        file, line = sources.get(step.urn, (None, None))
        declaration = by_start.get((file or "", line or 0))
        managers = [*pulumi_managers, *([step.old.outputs["__fieldManager"]]
                                        if isinstance(step.old.outputs.get("__fieldManager"), str) else [])]
        applied = last_apply(step.new.outputs if step.new else {}, managers)
        drift = ResourceDrift(step.urn, step.old.type, step.urn.rsplit("::", 1)[-1], step.op, file, line,
                              applied.manager if applied else (managers[-1] if managers else None),
                              applied.time if applied else None)
        changes = [((), old_live, None)] if step.new is None else list(field_changes(old_live, new_live))
        for path, deployed, live in changes:
            item = FieldDrift(path, deployed, live)
            decl_path = declaration_path(step.old.type, path) if path else None
            if declaration is not None:
                item.file, item.line = declaration.locate(decl_path) if decl_path else (declaration.file,
                                                                                      declaration.line)
                item.declaration_path = decl_path
            else:
                item.file, item.line = file, line
            if step.new is not None and path:
                who = [o for o in owners(step.new.outputs, path) if not is_pulumi(o.manager, managers)]
                item.changed_by = who[0] if who else None
            drift.fields.append(item)
        if drift.fields:
            out.append(drift)
    return out


# --- reconciliation loops ---------------------------------------------------------------------------------------
LEDGER_VERSION = 1
LOOP_FIX = ("another writer keeps changing this field after every `up`: stop it or make it leave the field alone "
            "(a controller: change its configuration; a person or script: change Git instead), or, if that writer "
            "is meant to own the field, stop Pulumi managing it — adopt the live value and add the field to "
            "`ignoreChanges`, or leave it out of the declaration so server-side apply gives it to the other manager")


def _ledger_key(urn: str, path: PropPath) -> str:
    return f"{urn}#{dotted(path)}"


def load_ledger(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Earlier drift observations (one file per stack); an unreadable ledger is treated as empty, never fatal."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != LEDGER_VERSION or not isinstance(doc.get("fields"), dict):
        return {}
    return {k: v for k, v in doc["fields"].items() if isinstance(v, list)}


def mark_loops(drifts: Sequence[ResourceDrift], ledger: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A field that drifted before, was re-applied by Pulumi since (its apply time moved on), and drifted again is a
    reconciliation loop: Pulumi and another manager keep overwriting each other. Records this run in `ledger`."""
    loops = []
    for drift in drifts:
        for item in drift.fields:
            if not item.path:
                continue
            key = _ledger_key(drift.urn, item.path)
            seen = ledger.setdefault(key, [])
            earlier = [o for o in seen if o.get("pulumi_applied") and drift.pulumi_applied
                       and o["pulumi_applied"] < drift.pulumi_applied]
            observation = {"observed": datetime.now(UTC).isoformat(timespec="seconds"), "live": item.live,
                           "deployed": item.deployed, "pulumi_applied": drift.pulumi_applied,
                           "manager": item.changed_by.manager if item.changed_by else None,
                           "manager_time": item.changed_by.time if item.changed_by else None}
            if earlier:
                others = list(dict.fromkeys(o["manager"] for o in [*earlier, observation] if o.get("manager")))
                item.loop = {
                    "times": len(earlier) + 1,
                    "pulumi_manager": drift.pulumi_manager,
                    "other_managers": others,
                    "reapplied_at": sorted({o["pulumi_applied"] for o in earlier} | {drift.pulumi_applied}),
                    "fix": LOOP_FIX,
                }
                loops.append({"urn": drift.urn, "name": drift.name, "field": dotted(item.path),
                              "file": item.file, "line": item.line, **item.loop})
            if not seen or seen[-1].get("pulumi_applied") != drift.pulumi_applied or seen[-1].get("live") != item.live:
                seen.append(observation)
            del seen[:-20]  # bounded: the last 20 observations per field are evidence enough
    return loops


def save_ledger(path: Path, ledger: dict[str, list[dict[str, Any]]]) -> None:
    from guardrails_core.atomic import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"version": LEDGER_VERSION, "fields": ledger}, indent=1, sort_keys=True) + "\n")


def shown(value: Any) -> str:
    """A value for a one-line message: JSON, cut to MAX_SHOWN characters."""
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"
