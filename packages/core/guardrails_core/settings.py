"""Per-environment settings, read from the `guardrails:*` keys of `stacks/Pulumi.<stack>.yaml`.

Neutral module: components, the policy pack and preflight all read it; it imports none of them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel  # noqa: F401 (re-exported)

from guardrails_core.safe_input import (
    UnsafeInputError,
    compose_documents,
    load_yaml_bounded,
    read_text_bounded,
    resolve_inside,
)
from guardrails_core.source import format_source

CONFIG_NAMESPACE = "guardrails"
EnforcementLevel = Literal["advisory", "mandatory", "remediate", "disabled"]
Platform = Literal["knative", "lambda"]


class _Model(BaseModel):
    # camelCase in YAML (Pulumi config style), snake_case in code; typos are errors.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Limits(_Model):
    max_scale: int = Field(20, ge=1, description="Cap on autoscaling.knative.dev/max-scale")
    min_scale_prod: int = Field(1, ge=0, description="Floor on min-scale for latency-critical prod services")
    container_memory_mib: int = Field(8192, ge=64)
    container_cpu_millis: int = Field(4000, ge=10)
    container_concurrency_max: int = Field(1000, ge=1, le=1000)
    timeout_seconds_max: int = Field(600, ge=1)
    lambda_memory_mib: int = Field(10240, ge=128)
    lambda_timeout_seconds: int = Field(900, ge=1, le=900)
    reserved_concurrency_max: int = Field(100, ge=0)
    log_retention_days_min: int = Field(7, ge=1)
    log_retention_days_max: int = Field(365, ge=1)


class DataClassification(_Model):
    levels: list[str] = ["public", "internal", "confidential", "restricted"]
    require_cluster_local_for: list[str] = ["confidential", "restricted"]
    gdpr_regions: list[str] = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1"]
    hipaa_log_retention_floor_days: int = 2192


class PolicySettings(_Model):
    enforcement: dict[Literal["critical", "high", "medium", "low"], EnforcementLevel] = {
        "critical": "advisory",
        "high": "advisory",
        "medium": "advisory",
        "low": "advisory",
    }
    controls: dict[str, EnforcementLevel] = {}
    # May `preflight up --override CONTROL=REASON` downgrade a control on this stack? Unset: forbidden on prod.
    overrides: Literal["allowed", "forbidden"] | None = None


def overrides_allowed(settings: StackSettings) -> bool:
    """`guardrails:policy.overrides`, defaulting to forbidden in prod and allowed elsewhere."""
    if settings.policy.overrides is not None:
        return settings.policy.overrides == "allowed"
    return settings.environment != "prod"


class ObserveSettings(_Model):
    """`guardrails:observe`: how `preflight observe` judges what runs (idle, anomalies, rightsizing, models)."""

    idle_days: int = Field(14, ge=1, le=455, description="N: days of (near) zero traffic before a service is idle")
    idle_requests_per_day: float = Field(1.0, ge=0, description="at most this many requests a day count as idle")
    protected: list[str] = Field([], description="service names (fnmatch patterns) never proposed for cleanup")
    anomaly_factor: float = Field(1.5, gt=1, description="flag a cost move traffic does not explain above this")
    anomaly_recent_hours: int = Field(24, ge=1, le=24 * 90, description="the period compared with usual behaviour")
    anomaly_severity: Literal["low", "medium", "high", "critical"] = "medium"
    # mandatory: `preflight observe` exits 1 when it finds an anomaly (e.g. in prod)
    anomaly_enforcement: Literal["advisory", "mandatory"] = "advisory"
    deletion_expiry_days: int = Field(14, ge=1, le=90, description="grace period of a mark-for-deletion")
    min_coverage: float = Field(0.5, gt=0, lt=1, description="P10-P90 coverage below this = model drifted")


GitopsAction = Literal["promote", "rollback", "rightsize", "cleanup"]


class GitopsSettings(_Model):
    """How preflight acts through Git (`preflight/gitops`)."""

    # Decisions prepared (patch file + PR body) but not committed without `--approve`; unset: all of them in
    # prod, none elsewhere. `[]` commits everything.
    require_approval: list[GitopsAction] | None = None
    # Rightsizing never goes below the observed P99 need times (1 + headroom).
    headroom: float = Field(0.3, ge=0, le=10)


class RolloutSettings(_Model):
    """Canary analysis (`preflight rollout`): an always-valid sequential test per metric."""

    # Probability of a false alarm in one decision (a rollback of a canary within the tolerances below, or a
    # promotion of one outside them), split evenly over the metrics tested (Bonferroni).
    false_alarm_rate: float = Field(0.05, gt=0, le=0.2)
    min_requests: int = Field(200, ge=1, description="Requests each revision must have served before any decision")
    error_rate_tolerance: float = Field(0.005, ge=0, lt=1, description="Canary error rate allowed above stable's")
    latency_tolerance: float = Field(0.1, ge=0, le=10, description="Canary p95/p99 allowed above stable's (ratio)")
    kpi_violation_tolerance: float = Field(0.05, gt=0, lt=1,
                                           description="Share of KPI samples allowed past the declared threshold")
    kpi_step_seconds: int = Field(60, ge=1, le=86400, description="One KPI sample per step of the window")


# Budgets and thresholds are numbers as YAML writes them: `true` or "10" is a typo, never 1 or 10.
Usd = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False, description="USD per month")]
Probability = Annotated[float, Field(strict=True, ge=0, le=1)]
Quantile = Literal["p10", "p50", "p90"]
# A price is a decimal number (a quoted string keeps binary floats away from money); >= 0 and finite.
Price = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class LambdaInit(_Model):
    """INIT billing of on-demand Lambda invocations (since 2025-08-01); both keys are required."""

    cold_start_fraction: Probability = Field(description="share of invocations that start cold")
    init_duration_ms: float = Field(strict=True, ge=0, le=10_000, description="the INIT limit is 10 s")


class KnativePricing(_Model):
    """Per-stack overrides of the OpenCost defaults (e.g. the cluster's real node prices)."""

    cpu_per_vcpu_hour: Price | None = None
    ram_per_gib_hour: Price | None = None
    queue_proxy_cpu_vcpu: Price | None = None
    queue_proxy_memory_gib: Price | None = None
    target_utilization: Price | None = None
    stable_window_seconds: Price | None = None
    scale_down_delay_seconds: Price | None = None
    scale_to_zero_grace_period_seconds: Price | None = None


class BudgetPricing(_Model):
    knative: KnativePricing = KnativePricing()


class BudgetSettings(_Model):
    """`guardrails:budgets`: what the predicted monthly cost is compared with (README, per-environment config)."""

    quantile: Quantile = "p90"
    stack_monthly_usd: Usd | None = None
    service_monthly_usd: Usd | None = None
    cost_centers: dict[str, Usd] = {}
    projects: dict[str, Usd] = {}
    anomaly_factor: float = Field(2.0, strict=True, gt=1, allow_inf_nan=False)
    free_tier: StrictBool = False
    # A declaration is a plan, not a measurement: v becomes P10 v(1-u), P50 v, P90 v(1+u).
    declared_uncertainty: float = Field(0.2, strict=True, ge=0, lt=1)
    lambda_init: LambdaInit | None = None
    pricing: BudgetPricing = BudgetPricing()


class RiskSettings(_Model):
    """`guardrails:risk`: when a predicted probability blocks."""

    change_risk_threshold: Probability | None = None
    capacity_risk_threshold: Probability | None = None
    # A change-risk model trained only on synthetic data is advisory unless the stack opts in.
    enforce_synthetic_change_risk: StrictBool = False


VulnerabilitySeverity = Literal["unknown", "low", "medium", "high", "critical"]
Exposure = Literal["public", "cluster-local"]
Rank = Literal["P1", "P2", "P3", "P4"]


class SignerRule(_Model):
    """One trusted signer: an exact identity (certificate SAN) or a regex over it, and the exact OIDC issuer."""

    identity: str | None = None
    identity_regex: str | None = None
    issuer: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_identity_form(self) -> SignerRule:
        if (self.identity is None) == (self.identity_regex is None):
            raise ValueError("give exactly one of `identity` (exact SAN) or `identityRegex` (full-match regex)")
        if self.identity_regex is not None:
            try:
                re.compile(self.identity_regex)
            except re.error as exc:
                raise ValueError(f"identityRegex {self.identity_regex!r} is not a valid regex: {exc}") from exc
        return self

    def describe(self) -> str:
        who = self.identity if self.identity is not None else f"/{self.identity_regex}/"
        return f"{who} via {self.issuer}"

    def cache_key(self) -> dict[str, Any]:
        return {"identity": self.identity, "identity_regex": self.identity_regex, "issuer": self.issuer}


class TrustSettings(_Model):
    """Trusted root and signers for one environment (or the defaults)."""

    # "production" / "staging" = the roots shipped inside the installed sigstore package; anything else is a
    # path relative to the repository (private Sigstore deployments).
    trusted_root: str | None = None
    signers: list[SignerRule] | None = None


class BlockRule(_Model):
    """A vulnerability is blocked when it matches every key given in one rule (keys left out match anything)."""

    min_severity: VulnerabilitySeverity | None = None
    min_rank: Rank | None = None
    fixable: bool | None = None
    network: bool | None = None
    exposure: Exposure | None = None
    classifications: list[str] | None = None


def _default_block_rules() -> list[BlockRule]:
    # The default policy: a fixable critical in a confidential (or restricted) public service.
    return [
        BlockRule(
            min_severity="critical", fixable=True, exposure="public", classifications=["confidential", "restricted"]
        )
    ]


class VulnerabilityGate(_Model):
    max_report_age_days: int = Field(30, ge=1)
    # Environments where a service without a vulnerability report is a violation.
    require_report_in: list[str] = ["prod"]
    block: list[BlockRule] = Field(default_factory=_default_block_rules)


class SupplyChainSettings(_Model):
    """`guardrails:supplyChain`: who may sign, which trusted root, and what the vulnerability gate blocks."""

    trusted_root: str = "production"
    signers: list[SignerRule] = []
    environments: dict[str, TrustSettings] = {}
    # Environments where an unsigned or unverifiable artifact is a mandatory (critical) violation; PCI-scoped
    # services are always held to this.
    require_signatures_in: list[str] = ["prod"]
    cache: bool = True
    vulnerability_gate: VulnerabilityGate = VulnerabilityGate()

    @field_validator("trusted_root")
    @classmethod
    def _root_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("trustedRoot must be 'production', 'staging' or a path relative to the repository")
        return value

    def for_environment(self, environment: str) -> tuple[str, list[SignerRule]]:
        """(trusted root, signers) for `environment`: its own entry where given, else the defaults."""
        env = self.environments.get(environment)
        root = env.trusted_root if env and env.trusted_root else self.trusted_root
        signers = env.signers if env and env.signers is not None else self.signers
        return root, list(signers)


class StackSettings(_Model):
    environment: Literal["local", "dev", "staging", "prod"]
    platforms: list[Platform] = ["knative"]
    annotation_domain: str = Field("apexlogic.com", pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    namespace: str = Field("default", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    default_tags: dict[str, str] = {}
    required_tags: list[str] = ["cost-center", "project-id", "owner"]
    tag_rules: dict[str, str] = {}
    allowed_registries: list[str] = []
    allowed_runtimes: list[str] = ["python3.12", "python3.13", "nodejs20.x", "nodejs22.x", "java21", "provided.al2023"]
    aws_region: str | None = None
    # Region of the Kubernetes cluster the stack's Knative Services run in (as the cloud names it).
    cluster_region: str | None = None
    allowed_regions: list[str] = []
    limits: Limits = Limits()
    data_classification: DataClassification = DataClassification()
    # Values as Knative reads them (case-insensitive); `allowrootbounded` is only valid for secure-pod-defaults.
    knative_feature_flags: dict[str, Literal["enabled", "disabled", "allowed", "allowrootbounded"]] = {}
    policy: PolicySettings = PolicySettings()
    budgets: BudgetSettings = BudgetSettings()
    risk: RiskSettings = RiskSettings()
    supply_chain: SupplyChainSettings = SupplyChainSettings()
    observe: ObserveSettings = ObserveSettings()
    gitops: GitopsSettings = GitopsSettings()
    rollout: RolloutSettings = RolloutSettings()
    services_dir: str = "services"
    # Currency of reported costs and of budgets (ISO 4217, an ECB reference currency; guardrails_predict.pricing.
    # currency converts at the ECB rate of `currency_date`, default the latest day of its bundled table).
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    currency_date: dt.date | None = None


class StackConfigError(ValueError):
    """A stack config file that cannot be used; the message names the file and the key."""


def _project_doc(project_dir: Path) -> dict[str, Any]:
    try:
        doc = load_yaml_bounded(read_text_bounded(resolve_inside(project_dir, "Pulumi.yaml")))
    except (ValueError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def stack_config_dir(project_dir: Path) -> Path:
    """Where the CLI looks for `Pulumi.<stack>.yaml`: Pulumi.yaml's `stackConfigDir` (inside the project), else the
    project folder itself."""
    configured = _project_doc(project_dir).get("stackConfigDir")
    if not isinstance(configured, str) or not configured.strip():
        return Path(project_dir)
    try:
        resolve_inside(project_dir, configured.strip(), kind="dir")
        return Path(project_dir) / configured.strip()
    except UnsafeInputError as exc:
        raise StackConfigError(f"{Path(project_dir) / 'Pulumi.yaml'}: stackConfigDir {configured!r} refused: the "
                               f"folder {exc}") from None


def stack_config_name(stack: str, project: str | None = None) -> str:
    """The stack part of a name as the CLI accepts it (`dev`, `org/dev`, `org/project/dev`): its config file is
    `Pulumi.<that>.yaml`. A fully qualified name of another project is refused, never read as this one's."""
    parts = stack.split("/")
    if len(parts) > 3 or not all(parts):
        raise StackConfigError(f"stack {stack!r}: expected <stack>, <org>/<stack> or <org>/<project>/<stack>")
    if len(parts) == 3 and project is not None and parts[1] != project:
        raise StackConfigError(f"stack {stack!r} belongs to project {parts[1]!r}; this project (Pulumi.yaml) is "
                               f"{project!r}")
    return parts[-1]


# `preflight --config-file F` (the CLI's flag of the same name): every process of one run - preflight, the program
# and the packs it starts - reads the stack config from F instead of Pulumi.<stack>.yaml. An environment variable,
# because those processes are separate programs that all get their environment from preflight.
CONFIG_FILE_ENV = "GUARDRAILS_CONFIG_FILE"


def stack_file(project_dir: Path, stack: str) -> Path:
    name = stack_config_name(stack, project_name(project_dir))  # validates the name either way
    override = os.environ.get(CONFIG_FILE_ENV)
    if override:
        path = Path(override)
        return path if path.is_absolute() else Path(project_dir) / path
    return stack_config_dir(project_dir) / f"Pulumi.{name}.yaml"


def read_stack_config(project_dir: Path, stack: str) -> dict[str, Any]:
    """The raw `config:` map of a stack file, keys as written (e.g. `guardrails:limits`)."""
    path = stack_file(project_dir, stack)
    chosen = bool(os.environ.get(CONFIG_FILE_ENV))
    if chosen and not path.is_file():
        raise StackConfigError(f"{path}: no such file (--config-file)")
    if not path.is_file():
        available = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
        listed = ", ".join(available) or "none"
        raise StackConfigError(f"{path}: no such stack config file (stacks available: {listed})")
    try:
        # A file named with --config-file may live anywhere (as with the CLI); the stack's own must stay inside.
        real = path if chosen else resolve_inside(project_dir, path.relative_to(project_dir))
        doc = load_yaml_bounded(read_text_bounded(real)) or {}
    except UnsafeInputError as exc:
        raise StackConfigError(f"{path}: refused: the file {exc}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise StackConfigError(f"{path}: not valid YAML: {str(exc)[:300]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise StackConfigError(f"{path}: expected a mapping with a `config:` mapping")
    config = dict(doc.get("config") or {})
    # Fail closed on what only the Pulumi service or the secrets provider can resolve: reading the file without
    # it would silently drop those values (e.g. budgets from an ESC environment => budget controls check nothing).
    if doc.get("environment"):
        raise StackConfigError(
            f"{path}: `environment:` imports Pulumi ESC environments ({_environments(doc['environment'])}), which "
            "preflight cannot resolve offline, so guardrails:* values they set would be missing; put the "
            f"{CONFIG_NAMESPACE}:* keys in this file (ESC may still provide everything else)")
    for key, value in config.items():
        if str(key).startswith(f"{CONFIG_NAMESPACE}:") and isinstance(value, dict) and "secure" in value:
            raise StackConfigError(
                f"{path}: {key} is encrypted (secure:); guardrails settings are policy, not secrets, and preflight "
                f"does not decrypt stack secrets: set it in plain text (pulumi config set {key} ... without --secret)")
    return config


def _environments(value: Any) -> str:
    names = value.get("imports", value) if isinstance(value, dict) else value
    return ", ".join(map(str, names)) if isinstance(names, list) else str(names)


def project_name(project_dir: Path) -> str | None:
    """`name:` of the project's Pulumi.yaml (its config namespace), or None when there is none to read."""
    name = _project_doc(project_dir).get("name")
    return name if isinstance(name, str) else None


def _one_edit_apart(a: str, b: str) -> bool:
    """Levenshtein distance exactly 1 (one insertion, deletion or substitution)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def config_key_problems(config: dict[str, Any], project: str | None = None) -> list[str]:
    """Keys that would be silently ignored: a namespace one edit away from `guardrails` (`guardrail:limits`), and
    any key in the project's own namespace (the program reads none; settings live under `guardrails:`)."""
    problems = []
    for key in config:
        namespace, sep, name = str(key).partition(":")
        if not sep:
            continue
        if _one_edit_apart(namespace, CONFIG_NAMESPACE):
            problems.append(f"{key}: unknown namespace {namespace!r} (a typo of {CONFIG_NAMESPACE!r}?)")
        elif project and namespace == project:
            problems.append(f"{key}: the project namespace has no settings; did you mean {CONFIG_NAMESPACE}:{name}?")
    return problems


def settings_from_config(config: dict[str, Any], origin: str, project: str | None = None, *,
                         key_lines: Callable[[], Mapping[tuple[str, ...], int]] | None = None) -> StackSettings:
    """Build settings from `guardrails:*` keys; values may be JSON strings (as `pulumi.Config` stores objects).
    `key_lines` gives the lines of the keys in `origin` (asked only when there is an error to place)."""
    if problems := config_key_problems(config, project):
        raise StackConfigError("\n".join([f"{origin}: invalid stack settings", *(f"  {p}" for p in problems)]))
    prefix = f"{CONFIG_NAMESPACE}:"
    raw: dict[str, Any] = {}
    for key, value in config.items():
        if not key.startswith(prefix):
            continue
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        raw[key[len(prefix) :]] = value
    try:
        return StackSettings.model_validate(raw)
    except ValidationError as exc:
        raise StackConfigError(format_settings_errors(exc, origin, lines=key_lines() if key_lines else None)) from exc


def settings_to_config(settings: StackSettings) -> dict[str, str]:
    """The inverse of `settings_from_config`: `guardrails:*` stack config strings (objects as JSON)."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json", by_alias=False, exclude_unset=False).items():
        if value is None:
            continue  # unset optional keys (e.g. awsRegion) are absent from a stack's config
        key = f"{CONFIG_NAMESPACE}:{to_camel(name)}"
        out[key] = value if isinstance(value, str) else json.dumps(value)
    return out


def load_stack_settings(project_dir: Path, stack: str) -> StackSettings:
    path = stack_file(project_dir, stack)
    return settings_from_config(read_stack_config(project_dir, stack), str(path), project_name(project_dir),
                                key_lines=lambda: config_key_lines(path))


def format_settings_errors(exc: ValidationError, origin: str, *, under: tuple[str, type[BaseModel]] | None = None,
                           lines: Mapping[tuple[str, ...], int] | None = None) -> str:
    """One line per error: where (file:line when `lines` knows it), the key path, what is wrong and what is allowed.

    `under` is (stack config key, model) when one section was validated alone (None: the whole StackSettings, whose
    fields are the `guardrails:*` keys); `lines` maps key paths as written in the file to their lines."""
    key, model = under if under else (None, StackSettings)
    out = [f"{origin}: invalid stack settings"]
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        written = (f"{CONFIG_NAMESPACE}:{loc[0]}", *loc[1:]) if key is None and loc else (key or "", *loc)
        # named as the stack file spells it (camelCase), whichever spelling the input used
        shown = _aliased(model, loc)
        shown = (f"{CONFIG_NAMESPACE}:{shown[0]}", *shown[1:]) if key is None and shown else (key or "", *shown)
        name = shown[0] + "".join(f".{p}" for p in shown[1:])
        found = err.get("input")
        found_txt = "" if isinstance(found, dict | list) else f" (found {found!r})"
        allowed = ""
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, err["loc"][:-1])
            if parent is not None:
                allowed = f"; allowed: {', '.join(f.alias or n for n, f in parent.model_fields.items())}"
        line = _line_of(written, lines or {})
        where = f"{format_source(origin, line)}: " if line else ""
        out.append(f"  {where}{name}: {err['msg']}{found_txt}{allowed}")
    return "\n".join(out)


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X (the settings' unions are all optional values)."""
    if get_origin(annotation) in (Union, UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model at a pydantic error location (fields by alias or name, list items, map values)."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for n, f in annotation.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _aliased(model: type[BaseModel], loc: tuple[str, ...]) -> tuple[str, ...]:
    """`loc` with each field named by its alias (`supply_chain` -> `supplyChain`); other parts as they are."""
    out, annotation = [], model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found = next(((n, f) for n, f in annotation.model_fields.items() if part in (n, f.alias)), None)
            out.append(found[1].alias or found[0] if found else part)
            annotation = found[1].annotation if found else None
        else:
            out.append(part)
            annotation = get_args(annotation)[-1] if get_origin(annotation) in (list, dict) else None
    return tuple(out)


def _line_of(path: tuple[str, ...], lines: Mapping[tuple[str, ...], int]) -> int | None:
    """The line of `path`, else of its nearest parent the file has (e.g. a key written in snake_case)."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def config_key_lines(path: Path) -> dict[tuple[str, ...], int]:
    """1-based line of every key path under `config:` of a stack file (list items by index), from the YAML node
    marks; {} when the file cannot be composed (its own error is reported elsewhere)."""
    try:
        documents = list(compose_documents(read_text_bounded(path)))
    except (ValueError, yaml.YAMLError):
        return {}
    root = documents[0][1] if documents else None
    config = None
    if isinstance(root, yaml.MappingNode):
        config = next((v for k, v in root.value if getattr(k, "value", None) == "config"), None)
    found: dict[tuple[str, ...], int] = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), config)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            children = [(str(k.value), k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            children = [(str(i), v, v) for i, v in enumerate(node.value)]
        else:
            continue
        for name, mark_node, value in children:
            found[(*prefix, name)] = mark_node.start_mark.line + 1
            stack.append(((*prefix, name), value))
    return found

def as_stack_settings(settings: StackSettings | dict[str, Any], origin: str = "stack settings") -> StackSettings:
    """The typed settings the libraries consume; a dict (e.g. a `model_dump()`) is validated like a stack file."""
    if isinstance(settings, StackSettings):
        return settings
    if not isinstance(settings, dict):
        raise StackConfigError(f"{origin}: expected StackSettings or a mapping, got {type(settings).__name__}")
    try:
        return StackSettings.model_validate(settings)
    except ValidationError as exc:
        raise StackConfigError(format_settings_errors(exc, origin)) from exc
