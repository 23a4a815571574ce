"""pulumi-policy converts a resource's properties from protobuf once per policy (`Analyze` loops over policies and
calls `json_format.MessageToDict(request.properties)` inside the loop). With ~70 policies that conversion was a
third of the pack's time. The properties message is the same object for every policy of one request, so the
conversion is memoised by identity — the result is identical, only computed once per request."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from pulumi_policy import policy as _policy


def memoise_properties_conversion() -> None:
    module_format = getattr(_policy, "json_format", None)
    if module_format is not json_format or getattr(_policy, "_guardrails_memo", False):
        return  # a different SDK layout: leave it alone (correctness over speed)
    original = json_format.MessageToDict
    last: list[Any] = [None, None]  # (message, dict) of the most recent call

    class _MemoJsonFormat:
        def __getattr__(self, name: str) -> Any:
            return getattr(json_format, name)

        @staticmethod
        def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - protobuf's name
            if args or kwargs:
                return original(message, *args, **kwargs)
            if last[0] is not message:
                last[0], last[1] = message, original(message)
            # deserialize_properties builds new containers from this dict, so sharing it is safe.
            return last[1]

    _policy.json_format = _MemoJsonFormat()
    _policy._guardrails_memo = True
