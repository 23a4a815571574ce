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

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from guardrails_core.values import WireFormatError, from_wire, to_wire

__all__ = ["WireFormatError", "from_struct", "from_wire", "to_struct", "to_wire"]


def to_struct(properties: Mapping[str, Any], *, skip_internal_keys: bool = True) -> struct_pb2.Struct:
    """Resource properties as the engine puts them in AnalyzeRequest.properties."""
    struct = struct_pb2.Struct()
    struct.update(to_wire(properties, skip_internal_keys=skip_internal_keys))
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return from_wire(json_format.MessageToDict(struct))
