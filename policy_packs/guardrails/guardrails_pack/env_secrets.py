"""Secrets and personal data in environment variables — Lambda's and Knative containers' alike (names and values;
values are never printed). The one table of what a secret-looking name or value is, for every control that reads
env vars (`lam.no-secrets-in-env`, `pod.no-secrets-in-env`, `dc.*`).

Values may be UNKNOWN (preview-time), Secret, wire sentinels or pulumi-policy's own wrappers; nothing here
prints a secret. Bad shapes raise PropertyError naming the field, so the control fails closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from guardrails_core.values import is_secret, is_unknown, reveal

from guardrails_pack.props import as_mapping, get_path

# `_` or `-` between words: Lambda names are identifiers, container env names may hold a hyphen (`API-KEY`).
SECRET_NAME = re.compile(
    r"(?i)(secret|passw(or)?d|passwd|(^|[_-])pwd($|[_-])|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|credential|client[_-]?secret|signing[_-]?key|session[_-]?key|conn(ection)?[_-]?str(ing)?|(^|[_-])dsn($|[_-]))"
)


# A secret-looking name may still hold a *reference* to a secret (ARN, SSM parameter name): that is the fix.
REFERENCE_NAME_SUFFIX = re.compile(r"(?i)[_-](arn|param|parameter|parameter_name|path|secret_id|secret_name|ref)$")


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


def secret_looking_name(name: str) -> bool:
    """A name that says it holds a credential (and not a reference to one: `DB_PASSWORD_ARN`)."""
    return bool(SECRET_NAME.search(name)) and not REFERENCE_NAME_SUFFIX.search(name)


def secret_value_kind(text: str) -> str | None:
    """What a literal value looks like when it looks like a credential ("an AWS access key id", ...), else None."""
    for what, pattern in SECRET_VALUE_PATTERNS:
        if pattern.search(text):
            return what
    return None


def literal_credential(name: str, text: str) -> bool:
    """A secret-looking name holding a literal value that is no reference to a secret store."""
    return secret_looking_name(name) and bool(text.strip()) and not REFERENCE_VALUE.match(text.strip())


def secret_in_env(name: str, value: Any) -> str | None:
    """Why a Lambda env var looks like a hard-coded secret, or None. Never includes the value itself."""
    if is_secret(value):
        return ("is a Pulumi secret, but Lambda stores environment variables in plain text for anyone with "
                "lambda:GetFunctionConfiguration")
    raw = reveal(value)
    if is_unknown(raw):
        return "has a secret-looking name and a value computed at deploy time" if secret_looking_name(name) else None
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    if (what := secret_value_kind(text)) is not None:
        return f"holds what looks like {what}"
    if literal_credential(name, text):
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
