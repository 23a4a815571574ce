"""Property values on the CrossGuard wire, exactly as the Pulumi engine marshals them.

The engine (sdk/go/common/resource/plugin/rpc.go, `MarshalProperties` with KeepUnknowns, KeepSecrets and
SkipInternalKeys for Analyze/AnalyzeStack) sends a `google.protobuf.Struct` where
- an unknown (computed) value becomes the string sentinel `UNKNOWN_SENTINEL`, whatever its type;
- a secret becomes `{SPECIAL_SIG_KEY: SECRET_SIG, "value": <inner>}`;
- keys starting with `__` (engine-internal, e.g. `__defaults`) are dropped, at every depth, for Analyze
  but kept for Remediate;
- numbers are doubles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2

from preflight.crossguard.errors import WireFormatError
from preflight.values import SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN, UNKNOWN_SENTINEL, Secret

# pulumi_policy recognises these extra sentinels as unknowns too (proxy.py); the engine only sends the
# string one, but a remediation may hand any of them back.
_OTHER_UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
_UNKNOWN_SENTINELS = _OTHER_UNKNOWN_SENTINELS | {UNKNOWN_SENTINEL}


def to_wire(value: Any, *, skip_internal_keys: bool, path: str = "") -> Any:
    """A JSON-like value ready for a Struct, with markers turned into the engine's sentinels."""
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


def to_struct(properties: Mapping[str, Any], *, skip_internal_keys: bool = True) -> struct_pb2.Struct:
    """Resource properties as the engine puts them in AnalyzeRequest.properties."""
    struct = struct_pb2.Struct()
    wire = to_wire(properties, skip_internal_keys=skip_internal_keys)
    struct.update(wire)
    return struct


def from_wire(value: Any) -> Any:
    """The inverse of `to_wire`: sentinels back to UNKNOWN / Secret; whole doubles back to ints."""
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
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


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return from_wire(json_format.MessageToDict(struct))
