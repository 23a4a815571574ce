"""Turn whatever the CLI hands us into a report document that is safe to show: redacted, then validated.

Every renderer starts here, so no output format can forget a step. Three layers keep secrets out:
1. `guardrails_core.values.redact` replaces `Secret` objects (and unknowns) with their markers;
2. secrets already serialised in the engine's wire format (`{SPECIAL_SIG_KEY: SECRET_SIG, "value": ...}`) and the
   unknown sentinel string are replaced the same way (a CrossGuard driver may hand those through untouched);
3. the plaintext of every secret found above is masked wherever else it appears in a string, because a policy
   message or a diff may quote the value it complained about.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from guardrails_core.values import SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN, UNKNOWN_SENTINEL, Secret, redact

from preflight.report.schema import validate_report

SECRET_MARK = "[secret]"
UNKNOWN_MARK = "<unknown>"
# Shorter plaintexts are not masked elsewhere in the text: masking "1" or "on" would mangle every message,
# and such a value is no secret worth hiding in the first place.
MIN_MASKED_SECRET_LENGTH = 4


def _is_wire_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SPECIAL_SIG_KEY) == SECRET_SIG


def _leaf_texts(value: Any) -> Iterator[str]:
    """Every string form under which a secret's content could show up in a rendered report."""
    if isinstance(value, Secret):
        yield from _leaf_texts(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaf_texts(item)
        if not _is_wire_secret(value):
            yield json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaf_texts(item)
    elif value is not None and value is not UNKNOWN and not isinstance(value, bool):
        yield str(value)


def secret_texts(value: Any) -> set[str]:
    """Plaintexts of all secrets held anywhere in `value` (Secret objects and wire-format secrets)."""
    found: set[str] = set()
    if isinstance(value, Secret):
        found.update(_leaf_texts(value.value))
    elif _is_wire_secret(value):
        found.update(_leaf_texts(value.get("value")))
    elif isinstance(value, dict):
        for item in value.values():
            found |= secret_texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= secret_texts(item)
    return {text for text in found if len(text) >= MIN_MASKED_SECRET_LENGTH}


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:  # longest first, so a secret containing another is masked whole
        text = text.replace(secret, SECRET_MARK)
    return text


def _scrub(value: Any, secrets: list[str]) -> Any:
    if _is_wire_secret(value):
        return SECRET_MARK
    if isinstance(value, dict):
        return {_mask(str(k), secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return UNKNOWN_MARK if value == UNKNOWN_SENTINEL else _mask(value, secrets)
    return value


def redact_document(doc: Any) -> Any:
    """A JSON-safe copy of `doc` with no secret plaintext left in it (see module docstring)."""
    secrets = sorted(secret_texts(doc), key=len, reverse=True)
    return _scrub(redact(doc), secrets)


# Hashes of documents that already passed validation. jsonschema needs ~1 ms per violation, and the CLI renders
# the same document in up to four formats; hashing the canonical JSON is ~50x cheaper than validating again.
_VALIDATED: OrderedDict[str, None] = OrderedDict()
_VALIDATED_CAPACITY = 16


def _content_hash(doc: Any) -> str | None:
    try:
        canonical = json.dumps(doc, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not plain JSON: let validate_report explain what is wrong
        return None
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def prepare_report(doc: Any, source: str = "preflight report") -> dict[str, Any]:
    """Redact, then validate (fail closed: an invalid document raises `ReportValidationError`)."""
    clean = redact_document(doc)
    digest = _content_hash(clean)
    if digest is not None and digest in _VALIDATED:
        _VALIDATED.move_to_end(digest)
        return clean
    validate_report(clean, source)
    if digest is not None:
        _VALIDATED[digest] = None
        while len(_VALIDATED) > _VALIDATED_CAPACITY:
            _VALIDATED.popitem(last=False)
    return clean
