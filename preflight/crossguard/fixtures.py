"""Control fixtures through the real protocol, like `kyverno test`.

Layout (docs/CONTRACTS.md): `<controls>/<area>/<control folder>/` holds `control.py`, `fixtures/*.yaml` and
`expected.yaml` (`results: [{fixture: bad-x.yaml, result: fail}, ...]`, result ∈ pass|fail|unknown|error).
A fixture is one resource (`type`, `name`, `properties`) or a stack (`resources: [{type, name, properties}]`),
with optional `config` (pack-specific; turned into policy config by a `ConfigBuilder`) and `options`
(policy config properties). `!unknown` is a preview-time unknown, `!secret <value>` a secret.

All fixtures run in one plugin process; each is isolated by Configure: its control's policy gets the fixture's
config, every other policy is disabled. The actual result for the control's policy is read from the findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from guardrails_core.values import UNKNOWN, Secret

from preflight.crossguard.client import PackInfo, is_preview_unknown
from preflight.crossguard.run import PackSession
from preflight.engine.base import PlannedResource, PolicyFinding

RESULTS = ("pass", "fail", "unknown", "error")
# Messages by which a pack says "this control did not run" (pack-side wrappers, CONTRACTS.md): the guardrails
# pack reports `[<id>] cannot be evaluated during preview` and `[<id>] failed closed` as violations.
UNKNOWN_MARKERS = ("] cannot be evaluated during preview",)
ERROR_MARKERS = ("] failed closed",)


class FixtureError(ValueError):
    """A fixture, expected.yaml or control folder that cannot be used (names the file and the field)."""


# libyaml's safe loader when present (about 10x faster on hundreds of fixtures), else the pure-Python one.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FixtureLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader plus `!unknown` and `!secret` (scalar, sequence or mapping)."""


def _construct_unknown(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return UNKNOWN


def _construct_secret(loader: yaml.SafeLoader, node: yaml.Node) -> Secret:
    if isinstance(node, yaml.ScalarNode):
        return Secret(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Secret(loader.construct_sequence(node, deep=True))
    return Secret(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


_FixtureLoader.add_constructor("!unknown", _construct_unknown)
_FixtureLoader.add_constructor("!secret", _construct_secret)


def load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=_FixtureLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise FixtureError(f"{path}: cannot be read: {exc}") from exc


@dataclass(frozen=True)
class Fixture:
    path: Path
    resources: tuple[PlannedResource, ...]
    config: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    stack: bool = False  # written as `resources:` (a stack control's input)


def _planned(doc: Any, path: Path, where: str, *, stack: str, project: str) -> PlannedResource:
    if not isinstance(doc, dict):
        raise FixtureError(f"{path}: {where} must be a mapping with type, name, properties")
    for key in ("type", "properties"):
        if key not in doc:
            raise FixtureError(f"{path}: {where}.{key} is required")
    if not isinstance(doc["type"], str) or doc["type"].count(":") < 2:
        raise FixtureError(f"{path}: {where}.type must be a Pulumi type token like 'aws:lambda/function:Function'")
    if not isinstance(doc["properties"], dict):
        raise FixtureError(f"{path}: {where}.properties must be a mapping")
    name = str(doc.get("name", path.stem))
    urn = str(doc.get("urn") or f"urn:pulumi:{stack}::{project}::{doc['type']}::{name}")
    return PlannedResource(
        urn=urn, type=doc["type"], name=name, custom=True, parent=doc.get("parent"), provider=doc.get("provider"),
        inputs=doc["properties"], source_file=str(path), source_line=None,
    )


def load_fixture(path: Path, *, stack: str = "fixtures", project: str = "fixtures") -> Fixture:
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise FixtureError(f"{path}: must be a mapping (type/name/properties, or resources: [...])")
    config, options = doc.get("config") or {}, doc.get("options") or {}
    if not isinstance(config, dict):
        raise FixtureError(f"{path}: config must be a mapping")
    if not isinstance(options, dict):
        raise FixtureError(f"{path}: options must be a mapping")
    if "resources" in doc:
        items = doc["resources"]
        if not isinstance(items, list) or not items:
            raise FixtureError(f"{path}: resources must be a non-empty list of {{type, name, properties}}")
        resources = tuple(_planned(item, path, f"resources[{i}]", stack=stack, project=project)
                          for i, item in enumerate(items))
        return Fixture(path, resources, config, options, stack=True)
    return Fixture(path, (_planned(doc, path, "<root>", stack=stack, project=project),), config, options)


@dataclass(frozen=True)
class ExpectedResult:
    fixture: str
    result: str


def load_expected(path: Path) -> list[ExpectedResult]:
    if not path.is_file():
        raise FixtureError(f"{path}: missing (every control folder needs expected.yaml)")
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise FixtureError(f"{path}: must be a mapping with `results: [{{fixture, result}}]`")
    out: list[ExpectedResult] = []
    for i, item in enumerate(doc["results"]):
        if not isinstance(item, dict) or "fixture" not in item or "result" not in item:
            raise FixtureError(f"{path}: results[{i}] needs `fixture` and `result`")
        if item["result"] not in RESULTS:
            raise FixtureError(f"{path}: results[{i}].result {item['result']!r} is not one of {', '.join(RESULTS)}")
        out.append(ExpectedResult(str(item["fixture"]), str(item["result"])))
    return out


@dataclass(frozen=True)
class FixtureCase:
    control_dir: Path
    policy: str
    fixture: Fixture
    expected: str

    @property
    def label(self) -> str:
        return f"{self.control_dir.name}/{self.fixture.path.name}"


@dataclass(frozen=True)
class FixtureOutcome:
    case: FixtureCase
    actual: str
    findings: tuple[PolicyFinding, ...]
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.actual == self.case.expected

    def explain(self) -> str:
        lines = [f"{self.case.label}: expected {self.case.expected}, got {self.actual} (policy {self.case.policy})"]
        lines += [f"  finding: {f.message}" for f in self.findings]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)


def control_dirs(controls_root: Path) -> list[Path]:
    """Every folder under `controls_root` holding a control.py, sorted."""
    return sorted(p.parent for p in controls_root.rglob("control.py"))


def folder_key(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def policy_for_folder(control_dir: Path, info: PackInfo) -> str:
    """The policy whose name matches the folder (`pod-no-privileged` <-> `pod_no_privileged`)."""
    matches = [name for name in info.policies if folder_key(name) == control_dir.name]
    if len(matches) != 1:
        raise FixtureError(
            f"{control_dir}: expected exactly one policy in pack {info.name!r} named like the folder "
            f"(folder {control_dir.name!r} = policy name with '-' and '.' as '_'); found {matches or 'none'}"
        )
    return matches[0]


def load_control_cases(control_dir: Path, info: PackInfo, *, stack: str, project: str) -> list[FixtureCase]:
    """The cases of one control; a control with no failing or no passing case, or with a fixture that
    expected.yaml does not list (or lists but does not exist), is an error."""
    policy = policy_for_folder(control_dir, info)
    expected = load_expected(control_dir / "expected.yaml")
    fixtures_dir = control_dir / "fixtures"
    on_disk = {p.name for p in fixtures_dir.glob("*.yaml")} | {p.name for p in fixtures_dir.glob("*.yml")}
    listed = [e.fixture for e in expected]
    if len(set(listed)) != len(listed):
        dupes = sorted({n for n in listed if listed.count(n) > 1})
        raise FixtureError(f"{control_dir / 'expected.yaml'}: fixtures listed twice: {', '.join(dupes)}")
    missing = sorted(set(listed) - on_disk)
    if missing:
        raise FixtureError(f"{control_dir / 'expected.yaml'}: lists fixtures not in fixtures/: {', '.join(missing)}")
    unlisted = sorted(on_disk - set(listed))
    if unlisted:
        raise FixtureError(f"{control_dir / 'expected.yaml'}: has no result for {', '.join(unlisted)}")
    results = {e.result for e in expected}
    if "fail" not in results or "pass" not in results:
        raise FixtureError(
            f"{control_dir / 'expected.yaml'}: a control needs at least one `fail` and one `pass` case "
            f"(has: {', '.join(sorted(results)) or 'none'})"
        )
    return [
        FixtureCase(control_dir, policy, load_fixture(fixtures_dir / e.fixture, stack=stack, project=project),
                    e.result)
        for e in expected
    ]


# A ConfigBuilder turns (case, pack info) into the policy config entry for the case's policy; a
# StackConfigBuilder into the stack config (ConfigureStack) the case runs under, when the pack reads one.
ConfigBuilder = Callable[[FixtureCase, PackInfo], Mapping[str, Any]]
StackConfigBuilder = Callable[[FixtureCase], Mapping[str, Any]]


def options_as_config(case: FixtureCase, info: PackInfo) -> Mapping[str, Any]:
    """Generic CrossGuard meaning: `config` and `options` are both the policy's config properties."""
    return {**case.fixture.config, **case.fixture.options}


def classify(policy: str, findings: Sequence[PolicyFinding], errors: Sequence[str]) -> str:
    """pass | fail | unknown | error for one policy, from what the pack returned."""
    if errors:
        return "error"
    mine = [f for f in findings if f.policy == policy]
    if any(marker in f.message for f in mine for marker in ERROR_MARKERS):
        return "error"
    if any(is_preview_unknown(f) or any(m in f.message for m in UNKNOWN_MARKERS) for f in mine):
        return "unknown"
    return "fail" if mine else "pass"


def run_case(session: PackSession, case: FixtureCase, config_builder: ConfigBuilder,
             stack_config_builder: StackConfigBuilder | None = None) -> FixtureOutcome:
    assert session.info is not None
    entry = dict(config_builder(case, session.info))
    if "enforcementLevel" not in entry:
        level = session.info.policies[case.policy].enforcement_level
        entry["enforcementLevel"] = "advisory" if level == "disabled" else level
    stack_config = stack_config_builder(case) if stack_config_builder is not None else None
    run = session.run(list(case.fixture.resources), {"all": "disabled", case.policy: entry},
                      stack_config=stack_config)
    others = [f for f in run.findings if f.policy != case.policy]
    errors = list(run.errors)
    if others:  # every other policy was disabled; a finding from one means Configure was not honoured
        errors.append(f"findings from disabled policies: {sorted({f.policy for f in others})}")
    return FixtureOutcome(case, classify(case.policy, run.findings, errors), tuple(run.findings), tuple(errors))


def run_control_fixtures(
    session: PackSession,
    controls_root: Path,
    *,
    config_builder: ConfigBuilder = options_as_config,
    stack_config_builder: StackConfigBuilder | None = None,
    stack: str = "fixtures",
    project: str = "fixtures",
) -> tuple[list[FixtureOutcome], list[str]]:
    """Run every control folder's fixtures through `session`. Returns (outcomes, problems) where problems are
    folder-level errors (bad expected.yaml, missing pass/fail case, no matching policy)."""
    assert session.info is not None, "use PackSession as a context manager"
    outcomes: list[FixtureOutcome] = []
    problems: list[str] = []
    dirs = control_dirs(controls_root)
    if not dirs:
        problems.append(f"{controls_root}: no control folders (no control.py found)")
    for control_dir in dirs:
        try:
            cases = load_control_cases(control_dir, session.info, stack=stack, project=project)
        except FixtureError as exc:
            problems.append(str(exc))
            continue
        for case in cases:
            try:
                outcomes.append(run_case(session, case, config_builder, stack_config_builder))
            except (FixtureError, ValueError) as exc:
                problems.append(f"{case.label}: {exc}")
    return outcomes, problems
