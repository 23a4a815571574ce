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
import math
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from guardrails_core.values import SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN, UNKNOWN_SENTINELS, Secret

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
    _redact(value, found, [])
    return {text for text in found if len(text) >= MIN_MASKED_SECRET_LENGTH}


_JSON_SCALARS = frozenset({int, bool, type(None)})


def _redact(value: Any, found: set[str], odd: list[Any]) -> Any:
    """One walk: the copy with secrets and unknowns replaced by their markers and keys as strings; the plaintexts
    of the secrets go to `found`, and any leaf that is not JSON data to `odd` (validation then names it)."""
    kind = type(value)
    if kind is str:
        return UNKNOWN_MARK if value in UNKNOWN_SENTINELS else value
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG:
            found.update(_leaf_texts(value.get("value")))
            return SECRET_MARK
        return {str(k): _redact(v, found, odd) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_redact(v, found, odd) for v in value]
    if kind in _JSON_SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):
            odd.append(value)
        return value
    if isinstance(value, Secret):
        found.update(_leaf_texts(value.value))
        return SECRET_MARK
    if value is UNKNOWN:
        return UNKNOWN_MARK
    if isinstance(value, str):  # a str subclass: the same rules as a str
        return UNKNOWN_MARK if value in UNKNOWN_SENTINELS else value
    if isinstance(value, float) and not math.isfinite(value) or not isinstance(value, int | float):
        odd.append(value)
    return value


def _mask_strings(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {_mask(k, secrets): _mask_strings(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_strings(v, secrets) for v in value]
    if isinstance(value, str):
        return _mask(value, secrets)
    return value


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:  # longest first, so a secret containing another is masked whole
        text = text.replace(secret, SECRET_MARK)
    return text


def _redacted(doc: Any) -> tuple[Any, bool]:
    """(the redacted copy, whether every leaf of it is JSON data)."""
    found: set[str] = set()
    odd: list[Any] = []
    clean = _redact(doc, found, odd)
    secrets = sorted((text for text in found if len(text) >= MIN_MASKED_SECRET_LENGTH), key=len, reverse=True)
    # The plaintext of a secret is masked wherever else it appears; most plans have none, so no second walk.
    return (_mask_strings(clean, secrets) if secrets else clean), not odd


def redact_document(doc: Any) -> Any:
    """A JSON-safe copy of `doc` with no secret plaintext left in it (see module docstring)."""
    return _redacted(doc)[0]


# Documents `prepare_report` returned and was asked to remember, each with the hash of its content then. jsonschema
# needs ~1 ms per violation and the redaction walk ~0.5 s at 500 services, and the CLI renders one document in up to
# four formats; hashing the canonical JSON is much cheaper than either. Identity alone is not trusted: a document
# edited since is prepared again (redacted and validated), so an edit can never slip a secret past the renderers.
# A few at most: each is held whole (the CLI renders one document at a time; a 500-service one is ~17 MB).
_PREPARED: OrderedDict[int, tuple[Any, str]] = OrderedDict()
_PREPARED_CAPACITY = 4


def _content_hash(doc: Any) -> str | None:
    try:
        canonical = json.dumps(doc, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not plain JSON: let validate_report explain what is wrong
        return None
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def prepare_report(doc: Any, source: str = "preflight report", *, remember: bool = True) -> dict[str, Any]:
    """Redact, then validate (fail closed: an invalid document raises `ReportValidationError`).

    `remember`: the returned document will be handed back here (rendered in another format); it is then returned
    as is while its content is unchanged. False when it will not (`--json` alone): no hash to compute."""
    known = _PREPARED.get(id(doc))
    if known is not None and known[0] is doc and _content_hash(doc) == known[1]:
        _PREPARED.move_to_end(id(doc))
        return doc
    clean, plain_json = _redacted(doc)
    validate_report(clean, source, plain_json=plain_json)
    digest = _content_hash(clean) if remember and plain_json else None
    if digest is not None:
        _PREPARED[id(clean)] = (clean, digest)  # holding `clean` keeps its id from being reused
        while len(_PREPARED) > _PREPARED_CAPACITY:
            _PREPARED.popitem(last=False)
    return clean
