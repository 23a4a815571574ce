"""Control fixtures: `fixtures/good-*.yaml`, `bad-*.yaml` and `expected.yaml` next to each `control.py`.

Fixture file (one resource, or `resources:` for stack controls):

    type: kubernetes:serving.knative.dev/v1:Service
    name: my-svc
    config: {environment: prod}        # optional StackSettings overrides (snake_case), deep-merged over BASE_SETTINGS
    options: {stance: forbid}          # optional per-control options (the control's config_schema)
    properties: {...}                  # `!unknown` = preview-time unknown, `!secret <value>` = secret

`expected.yaml`: `results: [{fixture: bad-x.yaml, result: fail}, {fixture: good-y.yaml, result: pass}]`
(`result` is pass | fail | unknown | error; `unknown`/`error` are also reported as violations by the pack).
The CrossGuard driver's fixture runner uses `load_fixture`, `fixture_policy_config` and `fixture_stack_config`
(the settings reach the pack as stack config, as the engine sends them) so both runners agree.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings, settings_to_config
from guardrails_pack.config import enforcement_for
from guardrails_pack.control import Control
from guardrails_pack.options import PROJECT_DIR_OPTION

# One reader for the fixture format (YAML + `!unknown` / `!secret`), shared with the CrossGuard fixture runner.
from preflight.crossguard.fixtures import FixtureError, load_yaml

# Settings every fixture starts from: a dev stack with the default limits and an explicit registry list.
BASE_SETTINGS: dict[str, Any] = {
    "environment": "dev",
    "platforms": ["knative", "lambda"],
    "namespace": "ai-workloads",
    "allowed_registries": ["docker.io/apexlogic", "ghcr.io/apexlogic"],
}
RESULTS = ("pass", "fail", "unknown", "error")


@dataclass(frozen=True)
class FixtureResource:
    type: str
    name: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Fixture:
    path: Path
    resources: tuple[FixtureResource, ...]
    config: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    stack: bool = False  # True when written as `resources:` (for stack controls)

    @property
    def resource(self) -> FixtureResource:
        return self.resources[0]


def _resource(doc: Any, path: Path, where: str) -> FixtureResource:
    if not isinstance(doc, dict):
        raise FixtureError(f"{path}: {where} must be a mapping with type, name, properties")
    for key in ("type", "properties"):
        if key not in doc:
            raise FixtureError(f"{path}: {where}.{key} is required")
    if not isinstance(doc["properties"], dict):
        raise FixtureError(f"{path}: {where}.properties must be a mapping")
    return FixtureResource(type=str(doc["type"]), name=str(doc.get("name", path.stem)), properties=doc["properties"])


def load_fixture(path: Path) -> Fixture:
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise FixtureError(f"{path}: must be a mapping")
    config = doc.get("config") or {}
    options = doc.get("options") or {}
    if not isinstance(config, dict) or not isinstance(options, dict):
        raise FixtureError(f"{path}: config and options must be mappings")
    if "resources" in doc:
        items = doc["resources"]
        if not isinstance(items, list):
            raise FixtureError(f"{path}: resources must be a list of {{type, name, properties}}")
        resources = tuple(_resource(item, path, f"resources[{i}]") for i, item in enumerate(items))
        return Fixture(path, resources, config, options, stack=True)
    return Fixture(path, (_resource(doc, path, "<root>"),), config, options)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def fixture_settings(fixture: Fixture) -> StackSettings:
    base = StackSettings.model_validate(BASE_SETTINGS).model_dump(mode="json", by_alias=False)
    try:
        # Keys may be written in either case (`costCenters` or `cost_centers`); the model's own dump of what the
        # fixture sets names them as `base` does, so the deep merge meets each key once.
        given = StackSettings.model_validate(_deep_merge(BASE_SETTINGS, fixture.config))
        return StackSettings.model_validate(_deep_merge(base, given.model_dump(mode="json", exclude_unset=True)))
    except ValueError as exc:
        raise FixtureError(f"{fixture.path}: config is not valid StackSettings: {exc}") from exc


def fixture_options(fixture: Fixture, project_dir: Path | None = None) -> dict[str, Any]:
    """The fixture's control options plus the pack-wide project_dir (fixture paths are project-relative)."""
    extra = {PROJECT_DIR_OPTION: str(project_dir)} if project_dir is not None else {}
    return {**extra, **fixture.options}


def fixture_policy_config(fixture: Fixture, control: Control, project_dir: Path | None = None) -> dict[str, Any]:
    """The per-policy config a driver sends in Configure for this fixture."""
    return {"enforcementLevel": enforcement_for(control, fixture_settings(fixture)),
            **fixture_options(fixture, project_dir)}


def fixture_stack_config(fixture: Fixture) -> dict[str, str]:
    """The stack config (ConfigureStack / PULUMI_CONFIG) the fixture runs under."""
    return settings_to_config(fixture_settings(fixture))


@dataclass(frozen=True)
class ExpectedResult:
    fixture: str
    result: str


def load_expected(path: Path) -> list[ExpectedResult]:
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise FixtureError(f"{path}: must be a mapping with `results: [{{fixture, result}}]`")
    out = []
    for i, item in enumerate(doc["results"]):
        if not isinstance(item, dict) or "fixture" not in item or "result" not in item:
            raise FixtureError(f"{path}: results[{i}] needs fixture and result")
        if item["result"] not in RESULTS:
            raise FixtureError(f"{path}: results[{i}].result {item['result']!r} is not one of {', '.join(RESULTS)}")
        out.append(ExpectedResult(str(item["fixture"]), str(item["result"])))
    return out
