"""One property conversion per request instead of one per policy.

pulumi-policy's `Analyze` loops over every policy (~77 here) and, inside the loop, converts the request's
properties (`json_format.MessageToDict` -> `deserialize_properties` -> `unknown_checking_proxy`) and the
provider's properties again, whether or not the policy applies to the resource type. `AnalyzeStack` does the same
for every resource, once per stack policy. That conversion was most of the pack's time.

`share_properties_conversion` wraps the servicer's `Analyze` / `AnalyzeStack` so that, for the duration of one
request, those three functions are memoised by the identity of their argument: every policy of the request gets
the very same deserialised, unknown-checking props (the same proxy class, so reading an unknown still raises
`UnknownValueError` with the same path). The memo lives in a thread-local (the server answers up to 4 calls at
once) and is dropped when the request ends. `Remediate` is left alone: there pulumi-policy already converts once
and chains each remediation's output into the next policy.

Sharing is safe because controls treat props as read-only (context.py); `GUARDRAILS_PACK_SHARED_PROPS=0` turns it
off, and tests/crossguard/test_shared_conversion.py proves the findings are the same either way.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from guardrails_core.values import plain
from pulumi_policy import policy as _policy

SWITCH_ENV = "GUARDRAILS_PACK_SHARED_PROPS"

_request = threading.local()  # .memo: {(function name, id(arg)): (arg, result)} while a request runs


def sharing_enabled(environ: Any = None) -> bool:
    return (os.environ if environ is None else environ).get(SWITCH_ENV, "1") != "0"


def shared(key: Any, anchor: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` once per request for (key, the object `anchor`); outside a request (direct tests, Remediate,
    sharing off) it simply runs `compute()`. The result is shared by every control of the request: never edit it."""
    memo = getattr(_request, "memo", None)
    if memo is None:
        return compute()
    slot = (key, id(anchor))
    hit = memo.get(slot)
    if hit is not None and hit[0] is anchor:
        return hit[1]
    result = compute()
    memo[slot] = (anchor, result)
    return result


def shared_plain(props: Any) -> Any:
    """`plain(props)`, once per request for the (shared) props proxy of a resource."""
    return shared("plain", props, lambda: plain(props))


def _memoised(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def call(arg: Any, *args: Any, **kwargs: Any) -> Any:
        memo = getattr(_request, "memo", None)
        if memo is None or args or kwargs:
            return original(arg, *args, **kwargs)
        key = (name, id(arg))
        hit = memo.get(key)
        if hit is not None and hit[0] is arg:
            return hit[1]
        result = original(arg)
        memo[key] = (arg, result)  # holding `arg` keeps its id from being reused within the request
        return result

    return call


class _SharedJsonFormat:
    """Stands in for the `json_format` module inside pulumi_policy.policy (only MessageToDict is memoised)."""

    def __init__(self) -> None:
        self.MessageToDict = _memoised("MessageToDict", json_format.MessageToDict)  # noqa: N815 - protobuf's name

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


def _per_request(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, request: Any, context: Any) -> Any:
        outer = getattr(_request, "memo", None)
        _request.memo = {}
        try:
            return method(self, request, context)
        finally:
            _request.memo = outer

    return call


def share_properties_conversion(environ: Any = None) -> bool:
    """Install the per-request sharing; False (and nothing changed) when switched off or the SDK looks different."""
    if not sharing_enabled(environ):
        return False
    if getattr(_policy, "_guardrails_shared", False):
        return True
    names = ("json_format", "deserialize_properties", "unknown_checking_proxy")
    if getattr(_policy, "json_format", None) is not json_format or not all(hasattr(_policy, n) for n in names):
        return False  # a different SDK layout: leave it alone (correctness over speed)
    _policy.json_format = _SharedJsonFormat()
    _policy.deserialize_properties = _memoised("deserialize_properties", _policy.deserialize_properties)
    _policy.unknown_checking_proxy = _memoised("unknown_checking_proxy", _policy.unknown_checking_proxy)
    servicer = _policy._PolicyAnalyzerServicer
    servicer.Analyze = _per_request(servicer.Analyze)
    servicer.AnalyzeStack = _per_request(servicer.AnalyzeStack)
    _policy._guardrails_shared = True
    return True
