"""Helpers shared by the AWS, tagging/FinOps and data-classification controls (part B).

Everything here works on plain property dicts as policies see them: values may be
`guardrails_core.values.UNKNOWN` (preview-time unknown), `guardrails_core.values.Secret` (a Pulumi secret), the raw
wire sentinels, or `pulumi_policy.secret.Secret`. The helpers never print secret values.

Bad shapes raise `PropertyError` with the field path and what is allowed; the pack wrapper turns any
exception into a violation naming the control, so a malformed resource fails closed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guardrails_core.source import SOURCE_KEY  # noqa: F401 (controls import it from here)
from guardrails_core.types import (  # noqa: F401 (controls import the tokens from here)
    AWS_PROVIDER,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    KNATIVE_SERVICE,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PERMISSION,
    LOG_GROUP,
)
from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, Secret, is_secret, is_unknown, plain, reveal  # noqa: F401

from guardrails_pack.context import ControlInputError

# AWS resources that carry `tags` (the children of ServerlessFunction plus the ones users add).
AWS_TAGGABLE_TYPES = (LAMBDA_FUNCTION, IAM_ROLE, IAM_POLICY, LOG_GROUP)
CLASSIFIED_WORKLOAD_TYPES = (KNATIVE_SERVICE, LAMBDA_FUNCTION)

CLASSIFICATION_KEY = "data-classification"
COMPLIANCE_SCOPE_KEY = "compliance-scope"
PCI_SCOPE_KEY = "pci-scope"
KNOWN_COMPLIANCE_SCOPES = ("gdpr", "hipaa", "pci")
SENSITIVE_LEVELS = ("confidential", "restricted")


# A resource property with a shape no control can judge (wrong type, malformed JSON, ...). The pack's
# wrapper words this class specially ("failed closed on unexpected input"), so reuse it rather than subclass.
PropertyError = ControlInputError


class SettingsError(ValueError):
    """A stack setting the control needs is missing or has the wrong type."""


# ---------------------------------------------------------------------------------------------
# Unknowns and secrets
# ---------------------------------------------------------------------------------------------


def describe(value: Any) -> str:
    """A safe description of a value for a violation message: never echoes a secret."""
    if is_secret(value):
        return "[secret]"
    if is_unknown(value):
        return "<unknown at preview>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def props_of(ctx: Any) -> dict[str, Any]:
    """The control's props as a plain dict (unknowns as UNKNOWN); see `plain`."""
    return plain(ctx.props)


def stack_resources(ctx: Any, *types: str) -> list[tuple[Any, dict[str, Any]]]:
    """(StackResource, plain props) for every resource of the given types (all when none given)."""
    return [(r, plain(r.props)) for r in ctx.resources if not types or r.type in types]


# ---------------------------------------------------------------------------------------------
# Typed property access with clear errors
# ---------------------------------------------------------------------------------------------

_MISSING = object()


def get_path(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Walk a dotted path ("tracingConfig.mode"); a missing step gives `default`.

    A step that is not a mapping raises PropertyError naming the path, so `{"tracingConfig": "x"}` is
    reported instead of silently passing. Secret wrappers on intermediate steps are looked through.
    """
    current: Any = props
    walked: list[str] = []
    for step in path.split("."):
        current = reveal(current)
        if current is None:
            return default
        if is_unknown(current):
            return UNKNOWN
        if not isinstance(current, Mapping):
            where = ".".join(walked) or "<root>"
            raise PropertyError(f"{where}: expected an object, got {type(current).__name__}")
        walked.append(step)
        current = current.get(step, _MISSING)
        if current is _MISSING:
            return default
    return current


def as_mapping(value: Any, where: str) -> dict[str, Any]:
    """The value as a dict; None → {}; anything else that is not an object → PropertyError."""
    value = reveal(value)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PropertyError(f"{where}: expected an object, got {type(value).__name__}")
    return dict(value)


def as_list(value: Any, where: str) -> list[Any]:
    value = reveal(value)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise PropertyError(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def as_int(value: Any, where: str) -> int | None:
    """An integer property; None when absent. bool and non-numeric strings are rejected."""
    value = reveal(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise PropertyError(f"{where}: expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise PropertyError(f"{where}: expected an integer, got {describe(value)}")


def setting(settings: Mapping[str, Any], path: str) -> Any:
    """A required stack setting (snake_case dotted path); missing → SettingsError naming the key."""
    current: Any = settings
    for step in path.split("."):
        if not isinstance(current, Mapping) or current.get(step) is None:
            raise SettingsError(f"stack setting `{path}` is required by this control but is not set")
        current = current[step]
    return current


def optional_setting(settings: Mapping[str, Any], path: str, default: Any = None) -> Any:
    current: Any = settings
    for step in path.split("."):
        if not isinstance(current, Mapping) or current.get(step) is None:
            return default
        current = current[step]
    return current


def setting_int(settings: Mapping[str, Any], path: str) -> int:
    value = setting(settings, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"stack setting `{path}` must be an integer, got {value!r}")
    return value


def setting_str_list(settings: Mapping[str, Any], path: str) -> list[str]:
    value = setting(settings, path)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"stack setting `{path}` must be a list of strings, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Tags, labels, annotations
# ---------------------------------------------------------------------------------------------


def aws_tags(props: Mapping[str, Any]) -> dict[str, Any]:
    """`tags` of an AWS resource (values may be UNKNOWN / secret). Non-object tags → PropertyError."""
    tags = props.get("tags")
    if is_unknown(tags):
        return {}
    return as_mapping(tags, "tags")


def ksvc_labels(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "metadata.labels"), "metadata.labels")


def ksvc_annotations(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "metadata.annotations"), "metadata.annotations")


def ksvc_template_annotations(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "spec.template.metadata.annotations"),
                      "spec.template.metadata.annotations")


def ksvc_template_labels(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "spec.template.metadata.labels"), "spec.template.metadata.labels")


def metadata_of(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """The key/value metadata a resource carries: ksvc labels + annotations, or AWS tags.

    Labels win over annotations on a ksvc (the component writes both from the same source).
    """
    if resource_type == KNATIVE_SERVICE:
        return {**ksvc_annotations(props), **ksvc_labels(props)}
    return aws_tags(props)


def lookup(meta: Mapping[str, Any], key: str, domain: str, prefix: str | None = None) -> Any:
    """A value by its plain key (`data-classification`) or its domain annotation (`security.D/...`)."""
    if key in meta:
        return meta[key]
    if prefix is not None:
        return meta.get(f"{prefix}.{domain}/{key}")
    return None


@dataclass(frozen=True)
class Classification:
    """What a workload declares about its data."""

    level: str | None  # None when missing; may be any string (validated by dc.label-required)
    scopes: tuple[str, ...]  # lower-case compliance scopes, e.g. ("gdpr", "hipaa")
    pci: bool
    unknown: bool = False  # a classification value was unknown at preview
    problems: tuple[str, ...] = field(default_factory=tuple)  # malformed values, already worded

    @property
    def sensitive(self) -> bool:
        return self.level in SENSITIVE_LEVELS

    def has(self, scope: str) -> bool:
        return scope in self.scopes or (scope == "pci" and self.pci)


def _split_scopes(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in re.split(r"[\s,]+", raw) if part.strip())


def classification_of(resource_type: str, props: Mapping[str, Any], domain: str) -> Classification:
    """Read data class, compliance scope and PCI scope from labels/annotations (ksvc) or tags (AWS)."""
    meta = metadata_of(resource_type, props)
    problems: list[str] = []
    unknown = False

    def text(key: str) -> str | None:
        nonlocal unknown
        value = reveal(lookup(meta, key, domain, prefix="security"))
        if value is None:
            return None
        if is_unknown(value):
            unknown = True
            return None
        if not isinstance(value, str):
            problems.append(f"`{key}` must be a string, got {type(value).__name__}")
            return None
        return value.strip()

    level = text(CLASSIFICATION_KEY)
    scopes_raw = text(COMPLIANCE_SCOPE_KEY)
    pci_raw = text(PCI_SCOPE_KEY)
    if pci_raw is not None and pci_raw.lower() not in ("true", "false"):
        problems.append(f"`{PCI_SCOPE_KEY}` must be \"true\" or \"false\", got {pci_raw!r}")
    pci = pci_raw is not None and pci_raw.lower() == "true"
    scopes = _split_scopes(scopes_raw) if scopes_raw else ()
    return Classification(level=level.lower() if level else level, scopes=scopes,
                          pci=pci or "pci" in scopes, unknown=unknown, problems=tuple(problems))


# ---------------------------------------------------------------------------------------------
# Policy exceptions (annotation / tag `security.D/exception.<control-id>`)
# ---------------------------------------------------------------------------------------------

EXCEPTION_TICKET = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")  # Jira-style, e.g. SEC-1234


def reference_date(option: Any = None) -> dt.date:
    """Today; or the control option `reference_date`, else `GUARDRAILS_TODAY` (ISO dates), so fixtures and
    replays of a report are deterministic."""
    if isinstance(option, str) and option.strip():
        try:
            return dt.date.fromisoformat(option.strip())
        except ValueError as exc:
            raise SettingsError(f"option reference_date must be an ISO date (YYYY-MM-DD), got {option!r}") from exc
    forced = os.environ.get("GUARDRAILS_TODAY")
    if forced:
        try:
            return dt.date.fromisoformat(forced)
        except ValueError as exc:
            raise SettingsError(f"GUARDRAILS_TODAY must be an ISO date (YYYY-MM-DD), got {forced!r}") from exc
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class PolicyException:
    key: str
    control_id: str
    ticket: str | None
    expires: dt.date | None
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def exception_key_prefix(domain: str) -> str:
    return f"security.{domain}/exception."


def parse_exception(key: str, raw: Any, domain: str, today: dt.date, max_days: int) -> PolicyException:
    """Parse `ticket=SEC-1; expires=2026-12-31[; reason=...]` and judge it against `today`."""
    control_id = key[len(exception_key_prefix(domain)):]
    problems: list[str] = []
    raw = reveal(raw)
    if is_unknown(raw) or not isinstance(raw, str):
        return PolicyException(key, control_id, None, None,
                               (f"`{key}` must be a string like \"ticket=SEC-123; expires=YYYY-MM-DD\", "
                                f"got {describe(raw)}",))
    fields: dict[str, str] = {}
    for part in re.split(r"[;,]", raw):
        if "=" in part:
            name, _, value = part.partition("=")
            fields[name.strip().lower()] = value.strip()
    ticket = fields.get("ticket")
    if not ticket:
        problems.append(f"`{key}` names no ticket (expected `ticket=ABC-123`)")
    elif not EXCEPTION_TICKET.match(ticket):
        problems.append(f"`{key}` ticket {ticket!r} is not a tracker id like ABC-123")
    expires: dt.date | None = None
    expires_raw = fields.get("expires")
    if not expires_raw:
        problems.append(f"`{key}` has no expiry (expected `expires=YYYY-MM-DD`)")
    else:
        try:
            expires = dt.date.fromisoformat(expires_raw)
        except ValueError:
            problems.append(f"`{key}` expiry {expires_raw!r} is not an ISO date YYYY-MM-DD")
    if expires is not None:
        if expires < today:
            problems.append(f"`{key}` expired on {expires.isoformat()}")
        elif (expires - today).days > max_days:
            problems.append(f"`{key}` expires {expires.isoformat()}, more than {max_days} days after "
                            f"{today.isoformat()}")
    return PolicyException(key, control_id, ticket, expires, tuple(problems))


def exceptions_of(meta: Mapping[str, Any], domain: str, today: dt.date, max_days: int) -> list[PolicyException]:
    prefix = exception_key_prefix(domain)
    return [parse_exception(k, v, domain, today, max_days) for k, v in meta.items()
            if isinstance(k, str) and k.startswith(prefix)]


def has_valid_exception(meta: Mapping[str, Any], control_id: str, domain: str, max_days: int,
                        today: dt.date) -> bool:
    return any(exc.control_id == control_id and exc.valid
               for exc in exceptions_of(meta, domain, today, max_days))


# ---------------------------------------------------------------------------------------------
# IAM policy documents
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...]  # flattened: "*" or "Service:lambda.amazonaws.com" / "AWS:arn:..."
    has_condition: bool
    index: int


@dataclass(frozen=True)
class PolicyDocument:
    statements: tuple[Statement, ...]
    unknown_parts: tuple[str, ...]  # field paths that were unknown at preview

    def allows(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.effect == "Allow")


def _strings(value: Any, where: str, unknown_parts: list[str]) -> tuple[str, ...]:
    value = reveal(value)
    if value is None:
        return ()
    if is_unknown(value):
        unknown_parts.append(where)
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise PropertyError(f"{where}: expected a string or a list of strings, got {type(value).__name__}")
    out: list[str] = []
    for i, item in enumerate(items):
        item = reveal(item)
        if is_unknown(item):
            unknown_parts.append(f"{where}[{i}]")
        elif isinstance(item, str):
            out.append(item)
        else:
            raise PropertyError(f"{where}[{i}]: expected a string, got {type(item).__name__}")
    return tuple(out)


def _principals(value: Any, where: str, unknown_parts: list[str]) -> tuple[str, ...]:
    value = reveal(value)
    if value is None:
        return ()
    if is_unknown(value):
        unknown_parts.append(where)
        return ()
    if value == "*":
        return ("*",)
    if not isinstance(value, Mapping):
        raise PropertyError(f"{where}: expected \"*\" or an object like {{\"Service\": ...}}, got {describe(value)}")
    out: list[str] = []
    for kind, ids in value.items():
        for ident in _strings(ids, f"{where}.{kind}", unknown_parts):
            out.append("*" if ident == "*" else f"{kind}:{ident}")
    return tuple(out)


def parse_policy_document(raw: Any, where: str) -> PolicyDocument | None:
    """Parse an IAM policy (JSON string or object). None when the whole document is unknown at preview.

    Malformed JSON, a non-object document, a missing/invalid Statement or Effect raise PropertyError naming
    `where`; the calling control turns that into a violation (an unreadable policy cannot be shown safe).
    """
    raw = reveal(raw)
    if raw is None:
        raise PropertyError(f"{where}: the policy document is missing")
    if is_unknown(raw):
        return None
    if isinstance(raw, str):
        if UNKNOWN_SENTINEL in raw:
            return None  # an apply() output interpolated an unknown into the JSON text
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PropertyError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") \
                from exc
    elif isinstance(raw, Mapping):
        doc = raw
    else:
        raise PropertyError(f"{where}: expected a JSON string or an object, got {type(raw).__name__}")
    if not isinstance(doc, Mapping):
        raise PropertyError(f"{where}: the document must be a JSON object, got {type(doc).__name__}")
    raw_statements = doc.get("Statement")
    if raw_statements is None:
        raise PropertyError(f"{where}: the document has no `Statement`")
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PropertyError(f"{where}.Statement: expected an object or a list, got {type(raw_statements).__name__}")
    unknown_parts: list[str] = []
    statements: list[Statement] = []
    for i, stmt in enumerate(raw_statements):
        stmt = reveal(stmt)
        at = f"{where}.Statement[{i}]"
        if is_unknown(stmt):
            unknown_parts.append(at)
            continue
        if not isinstance(stmt, Mapping):
            raise PropertyError(f"{at}: expected an object, got {type(stmt).__name__}")
        effect = reveal(stmt.get("Effect"))
        if effect not in ("Allow", "Deny"):
            raise PropertyError(f"{at}.Effect: must be \"Allow\" or \"Deny\", got {describe(effect)}")
        statements.append(Statement(
            effect=effect,
            actions=_strings(stmt.get("Action"), f"{at}.Action", unknown_parts),
            not_actions=_strings(stmt.get("NotAction"), f"{at}.NotAction", unknown_parts),
            resources=_strings(stmt.get("Resource"), f"{at}.Resource", unknown_parts),
            not_resources=_strings(stmt.get("NotResource"), f"{at}.NotResource", unknown_parts),
            principals=_principals(stmt.get("Principal"), f"{at}.Principal", unknown_parts),
            has_condition=bool(stmt.get("Condition")),
            index=i,
        ))
    return PolicyDocument(tuple(statements), tuple(unknown_parts))


def action_matches(pattern: str, action: str) -> bool:
    """IAM wildcard match (case-insensitive, `*` and `?`), e.g. `iam:*` matches `iam:PassRole`."""
    regex = "^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, action.lower()) is not None


def statement_grants(stmt: Statement, action: str) -> bool:
    """Does this Allow statement grant `action` (through Action or through NotAction exclusion)?"""
    if stmt.effect != "Allow":
        return False
    if stmt.not_actions:
        return not any(action_matches(p, action) for p in stmt.not_actions)
    return any(action_matches(p, action) for p in stmt.actions)


# ---------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------

_ARN_REGION = re.compile(r"^arn:aws[a-zA-Z-]*:[a-z0-9-]+:([a-z0-9-]*):")


def region_of(resource_type: str, props: Mapping[str, Any], provider_props: Mapping[str, Any] | None,
              default_region: str | None) -> Any:
    """The region a resource lands in: its own `region` (pulumi-aws v7), else its provider's, else the
    stack's `aws_region`. Returns UNKNOWN when it is unknown at preview, None when nothing says."""
    if resource_type == AWS_PROVIDER:
        value = reveal(props.get("region"))
        return value if value is not None else default_region
    own = reveal(props.get("region"))
    if own is not None:
        return own
    if provider_props is not None:
        value = reveal(provider_props.get("region"))
        if value is not None:
            return value
    return default_region


def arn_region(arn: str) -> str | None:
    match = _ARN_REGION.match(arn)
    return match.group(1) or None if match else None


# ---------------------------------------------------------------------------------------------
# Secrets and PII in environment variables
# ---------------------------------------------------------------------------------------------

SECRET_NAME = re.compile(
    r"(?i)(secret|passw(or)?d|passwd|(^|_)pwd($|_)|token|api_?key|apikey|private_?key|access_?key|credential"
    r"|client_?secret|signing_?key|session_?key|conn(ection)?_?str(ing)?|(^|_)dsn($|_))"
)
# A secret-looking name may still hold a *reference* to a secret (ARN, SSM parameter name): that is the fix.
REFERENCE_NAME_SUFFIX = re.compile(r"(?i)_(arn|param|parameter|parameter_name|path|secret_id|secret_name|ref)$")
REFERENCE_VALUE = re.compile(r"^(arn:aws[a-z-]*:(secretsmanager|ssm|kms):|\{\{resolve:)")
SECRET_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("a Stripe live key", re.compile(r"\b[rs]k_live_[0-9a-zA-Z]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("an OpenAI-style API key", re.compile(r"\bsk-(proj-)?[A-Za-z0-9_-]{20,}")),
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("a URL with embedded credentials", re.compile(r"://[^/\s:@]+:[^/\s@]+@")),
)

PII_NAME = re.compile(
    r"(?i)(^|_)(e_?mail|ssn|social_security(_number)?|phone(_number)?|mobile(_number)?|dob|date_of_birth"
    r"|birth_?date|passport(_number)?|credit_?card(_number)?|card_?number|cvv|iban|national_id|tax_id"
    r"|patient(_name|_id)?|mrn|medical_record(_number)?|full_name|home_address|pii)(_|$)"
)


def secret_in_env(name: str, value: Any) -> str | None:
    """Why an env var looks like a hard-coded secret, or None. Never includes the value itself."""
    if is_secret(value):
        return ("is a Pulumi secret, but Lambda stores environment variables in plain text for anyone with "
                "lambda:GetFunctionConfiguration")
    raw = reveal(value)
    name_hit = bool(SECRET_NAME.search(name)) and not REFERENCE_NAME_SUFFIX.search(name)
    if is_unknown(raw):
        return "has a secret-looking name and a value computed at deploy time" if name_hit else None
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    for what, pattern in SECRET_VALUE_PATTERNS:
        if pattern.search(text):
            return f"holds what looks like {what}"
    if name_hit and text.strip() and not REFERENCE_VALUE.match(text.strip()):
        return "has a secret-looking name and a literal value"
    return None


def pii_looking(name: str) -> bool:
    return bool(PII_NAME.search(name))


def env_variables(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """Lambda `environment.variables` (None when unknown at preview as a whole)."""
    variables = get_path(props, "environment.variables")
    if is_unknown(variables):
        return None
    return as_mapping(variables, "environment.variables")


def lambda_name(props: Mapping[str, Any], fallback: str) -> Any:
    """The function's physical name (`name`), else the Pulumi resource name."""
    name = reveal(props.get("name"))
    return fallback if name is None else name


def public_permission_problem(props: Mapping[str, Any]) -> str | None:
    """Why this Permission makes the function public, or None. Shared with dc.confidential-no-public-lambda."""
    principal = reveal(props.get("principal"))
    if is_unknown(principal):
        return "principal is unknown at preview, so the permission cannot be shown not to be public"
    if not isinstance(principal, str):
        return f"principal must be a string (\"*\", an account id, an ARN or a service), got {describe(principal)}"
    if principal.strip() in ("*", "AWS:*", "arn:aws:iam::*:root"):
        if reveal(props.get("principalOrgId")):
            return None  # `*` narrowed to one AWS Organization is not public
        return f"principal {principal!r} lets anyone invoke the function"
    return None


def open_url_problem(props: Mapping[str, Any]) -> str | None:
    """Why this FunctionUrl is open to the internet, or None. Shared with dc.confidential-no-public-lambda."""
    auth = reveal(props.get("authorizationType"))
    if is_unknown(auth):
        return "authorizationType is unknown at preview; declare AWS_IAM"
    if auth == "NONE":
        return "authorizationType is NONE: anyone on the internet can invoke the function"
    if auth != "AWS_IAM":
        return f"authorizationType must be AWS_IAM or NONE, got {describe(auth)}"
    return None


IAM_DOCUMENT_TYPES = (IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY)


def permission_documents(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(field path, raw document) for every permissions policy a resource carries (not the trust policy)."""
    if resource_type in (IAM_ROLE_POLICY, IAM_POLICY):
        return [("policy", props.get("policy"))]
    if resource_type == IAM_ROLE:
        inline = props.get("inlinePolicies")
        if is_unknown(inline):
            return [("inlinePolicies", UNKNOWN)]
        out: list[tuple[str, Any]] = []
        for i, item in enumerate(as_list(inline, "inlinePolicies")):
            item = as_mapping(item, f"inlinePolicies[{i}]")
            if "policy" in item:
                out.append((f"inlinePolicies[{i}].policy", item["policy"]))
        return out
    return []


def parsed_permission_documents(
    resource_type: str, props: Mapping[str, Any]
) -> tuple[list[tuple[str, PolicyDocument]], list[str]]:
    """Parsed documents plus the field paths that were unknown at preview (as a whole or in part)."""
    parsed: list[tuple[str, PolicyDocument]] = []
    unknown: list[str] = []
    for where, raw in permission_documents(resource_type, props):
        doc = parse_policy_document(raw, where)
        if doc is None:
            unknown.append(where)
            continue
        unknown.extend(doc.unknown_parts)
        parsed.append((where, doc))
    return parsed, unknown


def managed_policy_arns(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if resource_type == IAM_ROLE_POLICY_ATTACHMENT:
        return [("policyArn", reveal(props.get("policyArn")))]
    if resource_type == IAM_ROLE:
        arns = props.get("managedPolicyArns")
        if is_unknown(arns):
            return [("managedPolicyArns", UNKNOWN)]
        return [(f"managedPolicyArns[{i}]", reveal(a)) for i, a in enumerate(as_list(arns, "managedPolicyArns"))]
    return []


# Values CloudWatch Logs accepts for retentionInDays (PutRetentionPolicy); 0/absent = never expire.
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653)


def log_retention(props: Mapping[str, Any]) -> Any:
    """retentionInDays as an int, None when absent/0 (never expires), UNKNOWN when unknown at preview."""
    raw = props.get("retentionInDays")
    if is_unknown(raw):
        return UNKNOWN
    value = as_int(raw, "retentionInDays")
    if value is not None and value != 0 and value not in CLOUDWATCH_RETENTION_DAYS:
        raise PropertyError(f"retentionInDays {value} is not a CloudWatch retention value "
                            f"(allowed: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))})")
    return None if value in (None, 0) else value
