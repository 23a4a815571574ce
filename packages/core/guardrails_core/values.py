"""The one value codec: preview-time unknowns, secrets, and the engine's wire form of both.

Every stage (program engines, the CrossGuard driver, the policy packs, predictions, reports) converts through
these functions; none keeps its own sentinels or walkers.

The engine (sdk/go/common/resource/plugin/rpc.go, `MarshalProperties` with KeepUnknowns, KeepSecrets and
SkipInternalKeys for Analyze/AnalyzeStack) sends a `google.protobuf.Struct` where
- an unknown (computed) value becomes the string sentinel `UNKNOWN_SENTINEL`, whatever its type;
- a secret becomes `{SPECIAL_SIG_KEY: SECRET_SIG, "value": <inner>}`;
- keys starting with `__` (engine-internal, e.g. `__defaults`) are dropped at every depth for Analyze;
- numbers are doubles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The exact sentinels the Pulumi engine uses on the wire (sdk/go/common/resource/plugin/rpc.go).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# pulumi-policy recognises these typed sentinels as unknowns too (pulumi_policy/proxy.py); the engine only sends
# the string one, but a remediation or a policy's own output may carry any of them.
TYPED_UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
UNKNOWN_SENTINELS = TYPED_UNKNOWN_SENTINELS | {UNKNOWN_SENTINEL}
SECRET_MARK = "[secret]"
UNKNOWN_MARK = "<unknown>"
# pulumi-policy's read-only proxies and its secret wrapper, recognised by name so this module needs no import of it.
_PROXY_TYPE_NAMES = frozenset({"_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"})
_PLAIN_SCALARS = frozenset({int, float, bool, type(None)})


class _Unknown:
    """A value that is not known until `up` (e.g. an ARN computed by the cloud)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return UNKNOWN_MARK

    def __reduce__(self) -> str:  # keep the singleton across pickling (child process -> parent)
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A secret value; never printed. `repr` and reports show `[secret]`."""

    value: Any

    def __repr__(self) -> str:
        return SECRET_MARK

    __str__ = __repr__


class WireFormatError(ValueError):
    """A value that cannot be put on the engine's wire (names the property path)."""


def is_unknown(value: Any) -> bool:
    """True for a preview-time unknown, whichever form it reached us in."""
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


def is_wire_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SPECIAL_SIG_KEY) == SECRET_SIG


def to_wire(value: Any, *, skip_internal_keys: bool = False, path: str = "") -> Any:
    """Plain values (with UNKNOWN / Secret) -> the JSON form the engine puts in a Struct."""
    if value is UNKNOWN:
        return UNKNOWN_SENTINEL
    if isinstance(value, Secret):
        return {SPECIAL_SIG_KEY: SECRET_SIG, "value": to_wire(value.value, skip_internal_keys=skip_internal_keys,
                                                               path=path)}
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise WireFormatError(f"property {path or '<root>'}: {value!r} cannot be sent (not a finite number)")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireFormatError(f"property {path or '<root>'}: key {key!r} is not a string")
            if skip_internal_keys and key.startswith("__"):
                continue  # engine-internal keys never reach Analyze (resource.IsInternalPropertyKey)
            out[key] = to_wire(item, skip_internal_keys=skip_internal_keys, path=f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list | tuple):
        return [to_wire(item, skip_internal_keys=skip_internal_keys, path=f"{path}[{i}]")
                for i, item in enumerate(value)]
    raise WireFormatError(
        f"property {path or '<root>'}: values of type {type(value).__name__} cannot be sent to a policy pack "
        "(allowed: null, bool, number, string, list, mapping, UNKNOWN, Secret)"
    )


def from_wire(value: Any) -> Any:
    """The inverse of `to_wire`: sentinels back to UNKNOWN / Secret; whole doubles back to ints."""
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # Struct numbers are doubles; 512.0 was 512 when the program declared it
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG:
            return Secret(from_wire(value.get("value")))
        return {key: from_wire(item) for key, item in value.items()}
    return value


def plain(value: Any) -> Any:
    """A plain dict/list copy of any props (pulumi-policy proxies included): unknowns as UNKNOWN, secrets as Secret.

    pulumi-policy hands props as read-only proxies that raise `UnknownValueError` when an unknown is read;
    code that must tell "unknown" (a KMS key ARN created in the same update: it *is* set) from "absent" reads a
    plain copy instead of letting the first unknown abort it.
    """
    # Exact built-in types first (almost every value of a plan): the same answers as the general path below,
    # without its isinstance/ABC checks, which made this walk the largest span of predictions (issue 17).
    kind = type(value)
    if kind is str:
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if kind is dict:
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG:
            return Secret(plain(value.get("value")))
        return {k: plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if kind in _PLAIN_SCALARS:
        return value
    if kind.__name__ in _PROXY_TYPE_NAMES:
        value = value["__target"]  # pulumi-policy's own escape hatch (deserialize._serialize_property)
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, Secret):
        return Secret(plain(value.value))
    if _is_policy_secret(value):
        return Secret(plain(value.value))
    if isinstance(value, Mapping):
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG:
            return Secret(plain(value.get("value")))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    return value


def _is_policy_secret(value: Any) -> bool:  # pulumi_policy.secret.Secret, without importing pulumi-policy
    return type(value).__name__ == "Secret" and type(value).__module__.startswith("pulumi_policy")


# Values that can never be a secret wrapper: what controls read most (a Knative Service's Analyze asks ~100 times).
_NEVER_SECRET = frozenset({str, int, float, bool, type(None), list, tuple})


def is_secret(value: Any) -> bool:
    """True for a value the program marked secret: our marker, pulumi-policy's, or the wire envelope."""
    if type(value) in _NEVER_SECRET:
        return False
    return isinstance(value, Secret) or _is_policy_secret(value) or is_wire_secret(value)


def reveal(value: Any) -> Any:
    """The value under any secret wrapper (for code that must judge a secret's shape, never print it)."""
    if type(value) in _NEVER_SECRET:
        return value
    while is_secret(value):
        value = value.get("value") if isinstance(value, Mapping) else value.value
    return value


def redact(value: Any, text: Callable[[str], str] | None = None) -> Any:
    """A JSON-safe copy with secrets replaced by "[secret]" and unknowns by "<unknown>"; `text`, when given, is
    applied to every other string value on the way (keys untouched), saving the caller a walk of its own."""
    kind = type(value)  # the common leaves first: a report of a large plan has millions of them
    if kind is str:
        if value in UNKNOWN_SENTINELS:
            return UNKNOWN_MARK
        return value if text is None else text(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind is dict and value.get(SPECIAL_SIG_KEY) != SECRET_SIG:
        return {k: redact(v, text) for k, v in value.items()}
    if kind is list:
        return [redact(v, text) for v in value]
    if isinstance(value, Secret) or is_wire_secret(value):
        return SECRET_MARK
    if is_unknown(value):
        return UNKNOWN_MARK
    if isinstance(value, str):  # a str subclass
        return value if text is None else text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, text) for v in value]
    return value
