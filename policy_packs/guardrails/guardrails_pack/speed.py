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

Inside that loop pulumi-policy also builds, for each of the ~77 policies, the resource options, the provider
resource, a report function and a config copy, even for the ~65 whose resource types do not include the request's
(they return at once, reporting nothing). So, for one `Analyze` request, the servicer's policy list yields only the
policies that can apply to the request's type (a policy built by `policies.resource_policy` names its types in
`APPLIES_TO`; any other policy is always kept), and the options and provider are built once per request. The
response is the same: a skipped policy would have reported nothing and nothing "not applicable".
`GetAnalyzerInfo`, `AnalyzeStack` and `Remediate` still see every policy.

pulumi-policy also re-parses `PULUMI_CONFIG` and rebuilds the runtime settings at the start of every request
(`_configure_runtime_settings`); that is done again only when the environment it reads has changed.

Sharing is safe because controls treat props as read-only (context.py); `GUARDRAILS_PACK_SHARED_PROPS=0` turns all
of it off, and tests/crossguard/test_shared_conversion.py proves the findings are the same either way.
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
# The attribute a policy carries when it can only apply to some resource types (a frozenset of type tokens).
APPLIES_TO = "_guardrails_resource_types"
# What pulumi-policy's `_configure_runtime_settings` reads from the environment.
_RUNTIME_ENV = ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN",
                "PULUMI_ORGANIZATION")

# .memo: {(function name, id(arg)): (arg, result)} while a request runs; .resource_type: the type of the Analyze
# request being answered (None otherwise).
_request = threading.local()


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


def _memoised_method(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """`_memoised` for a servicer method of one argument (the request)."""
    def call(self: Any, request: Any) -> Any:
        return _memoised(name, lambda arg: original(self, arg))(request)

    return call


def _per_request(method: Callable[..., Any], *, by_type: bool = False) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, request: Any, context: Any) -> Any:
        outer = getattr(_request, "memo", None), getattr(_request, "resource_type", None)
        _request.memo = {}
        _request.resource_type = request.type if by_type else None
        try:
            return method(self, request, context)
        finally:
            _request.memo, _request.resource_type = outer

    return call


class _PoliciesByType(list):
    """The servicer's policy list; while an `Analyze` request runs in this thread, iterating it yields only the
    policies that can apply to the request's resource type (in the pack's order)."""

    def __init__(self, policies: Any) -> None:
        super().__init__(policies)
        self._by_type: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def __iter__(self) -> Any:
        resource_type = getattr(_request, "resource_type", None)
        if resource_type is None:
            return super().__iter__()
        selected = self._by_type.get(resource_type)
        if selected is None:
            selected = [p for p in list.__iter__(self)
                        if getattr(p, APPLIES_TO, None) is None or resource_type in getattr(p, APPLIES_TO)]
            with self._lock:
                if len(self._by_type) > 1024:  # bounded: a plan has a few dozen types
                    self._by_type.clear()
                self._by_type[resource_type] = selected
        return iter(selected)


def _filter_policies_by_type(servicer: Any) -> None:
    original_init = servicer.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        attribute = "_PolicyAnalyzerServicer__policies"  # the servicer's private list (name-mangled)
        self.__dict__[attribute] = _PoliciesByType(self.__dict__[attribute])

    servicer.__init__ = init


def _configure_runtime_settings_on_change(servicer: Any) -> None:
    original = servicer._configure_runtime_settings
    seen: dict[int, tuple[str | None, ...]] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def configure(self: Any) -> None:
        current = tuple(os.environ.get(name) for name in _RUNTIME_ENV)
        if seen.get(id(self)) == current:
            return
        with lock:
            original(self)
            seen[id(self)] = current

    servicer._configure_runtime_settings = configure


def share_properties_conversion(environ: Any = None) -> bool:
    """Install the per-request sharing; False (and nothing changed) when switched off or the SDK looks different."""
    if not sharing_enabled(environ):
        return False
    if getattr(_policy, "_guardrails_shared", False):
        return True
    names = ("json_format", "deserialize_properties", "unknown_checking_proxy")
    servicer = _policy._PolicyAnalyzerServicer
    methods = ("_get_resource_options", "_get_provider_resource", "_configure_runtime_settings")
    if (getattr(_policy, "json_format", None) is not json_format or not all(hasattr(_policy, n) for n in names)
            or not all(hasattr(servicer, m) for m in methods)):
        return False  # a different SDK layout: leave it alone (correctness over speed)
    _policy.json_format = _SharedJsonFormat()
    _policy.deserialize_properties = _memoised("deserialize_properties", _policy.deserialize_properties)
    _policy.unknown_checking_proxy = _memoised("unknown_checking_proxy", _policy.unknown_checking_proxy)
    servicer._get_resource_options = _memoised_method("_get_resource_options", servicer._get_resource_options)
    servicer._get_provider_resource = _memoised_method("_get_provider_resource", servicer._get_provider_resource)
    _configure_runtime_settings_on_change(servicer)
    _filter_policies_by_type(servicer)
    servicer.Analyze = _per_request(servicer.Analyze, by_type=True)
    servicer.AnalyzeStack = _per_request(servicer.AnalyzeStack)
    _policy._guardrails_shared = True
    return True
