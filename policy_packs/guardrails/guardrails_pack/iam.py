"""IAM policy documents as the controls read them: statements, actions, principals; unknown parts kept apart.

Values may be UNKNOWN (preview-time), Secret, wire sentinels or pulumi-policy's own wrappers; nothing here
prints a secret. Bad shapes raise PropertyError naming the field, so the control fails closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guardrails_core.types import (
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
)
from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, is_unknown, reveal

from guardrails_pack.props import PropertyError, as_list, as_mapping, describe


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
