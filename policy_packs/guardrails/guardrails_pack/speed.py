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

With pulumi-policy 1.21 (`SHARED_SDK`), `Analyze` itself is `_analyze_building_args_once`: that method with the
props, options and provider built once per request, before the policy loop, instead of being looked up in the memo
by each policy (five memo look-ups per policy were ~15% of a Knative Service's Analyze). With any other SDK version
the SDK's own method runs, with the memo above.

`AnalyzeStack` in pulumi-policy rebuilds, for each of the ~10 stack policies, the list of every resource of the
request (a `PolicyResource` per resource, its parent and dependencies linked): ~10 x 2,252 objects at 500 services,
a third of the call. `_analyze_stack_sharing_resources` is that method with the list built once per request (on the
first stack policy that runs) and handed to every stack policy; the policies only read it (policies.stack_policy).
It is a copy of pulumi-policy 1.21's loop (`SHARED_SDK`); with any other SDK version the SDK's own method runs.

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
from pulumi_policy.version import VERSION as _SDK_VERSION

SWITCH_ENV = "GUARDRAILS_PACK_SHARED_PROPS"
# The attribute a policy carries when it can only apply to some resource types (a frozenset of type tokens).
APPLIES_TO = "_guardrails_resource_types"
# What pulumi-policy's `_configure_runtime_settings` reads from the environment.
# The pulumi-policy versions whose Analyze and AnalyzeStack `_analyze_building_args_once` and
# `_analyze_stack_sharing_resources` copy.
SHARED_SDK = ("1.21.",)
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


def _validate(servicer: Any, policy: Any, args: Any, report_violation: Any, response: Any) -> None:
    """One policy's `validate` (awaited when it returns a coroutine), an unknown value or "not applicable" recorded
    in `response` as pulumi-policy 1.21 records them, in its Analyze and AnalyzeStack alike."""
    proto = _policy.proto
    pack_name = servicer._PolicyAnalyzerServicer__policy_pack_name
    pack_version = servicer._PolicyAnalyzerServicer__policy_pack_version
    try:
        result = policy.validate(args, report_violation)
        if _policy.isawaitable(result):
            loop = _policy.asyncio.new_event_loop()
            loop.run_until_complete(_policy.asyncio.Task(result, loop=loop))
            loop.close()
    except _policy.UnknownValueError as e:
        response.diagnostics.append(proto.AnalyzeDiagnostic(
            policyName=policy.name, policyPackName=pack_name, policyPackVersion=pack_version,
            message=(f"can't run policy '{policy.name}' from policy pack '{pack_name}@v{pack_version}' during "
                     f"preview: {e.message}"),
            urn="", description=policy.description,
            enforcementLevel=servicer._map_enforcement_level(_policy.EnforcementLevel.ADVISORY)))
    except _policy._NotApplicableError as e:
        response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or ""))


def _analyze_building_args_once(self: Any, request: Any, _context: Any) -> Any:
    """pulumi-policy 1.21's `_PolicyAnalyzerServicer.Analyze`, the props, options and provider built once (see above).
    Every policy still gets its own arguments, config copy and report function, and runs as the SDK runs it."""
    self._configure_runtime_settings()
    proto, levels = _policy.proto, _policy.EnforcementLevel
    stack_tags = self._PolicyAnalyzerServicer__stack_tags
    response = proto.AnalyzeResponse()
    built: tuple[Any, Any, Any] | None = None
    for policy in self._PolicyAnalyzerServicer__policies:
        enforcement_level = self._get_enforcement_level(policy)
        if enforcement_level == levels.DISABLED or not isinstance(policy, _policy.ResourceValidationPolicy):
            continue
        if not policy.has_validation():  # a remediation-only policy
            response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name,
                                                                     reason="Policy does not implement validate"))
            continue
        if enforcement_level == levels.REMEDIATE:
            enforcement_level = levels.MANDATORY  # a violation left after remediation is reported as mandatory
        report_violation = self._create_report_violation(response, policy.name, policy.description,
                                                         enforcement_level, policy.severity)
        if built is None:
            built = (_policy.unknown_checking_proxy(_policy.deserialize_properties(
                _policy.json_format.MessageToDict(request.properties))),
                self._get_resource_options(request), self._get_provider_resource(request))
        props, opts, provider = built
        args = _policy.ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider,
                                              self._get_policy_config(policy.name), stack_tags)
        _validate(self, policy, args, report_violation, response)
    return response


def _stack_resources(servicer: Any, request: Any) -> list[Any]:
    """Every resource of an AnalyzeStack request as pulumi-policy 1.21 builds them for a stack policy (policy.py,
    AnalyzeStack): props converted (once per request, see above), parent, dependencies and property dependencies
    linked to the resource objects."""
    intermediates = []
    for r in request.resources:
        props = _policy.unknown_checking_proxy(_policy.deserialize_properties(
            _policy.json_format.MessageToDict(r.properties)))
        resource = _policy.PolicyResource(r.type, props, r.urn, r.name, servicer._get_resource_options(r),
                                          servicer._get_provider_resource(r), None, [], {})
        property_dependencies = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
        intermediates.append((resource, r.parent, list(r.dependencies), property_dependencies))
    by_urn = {resource.urn: resource for resource, *_ in intermediates}
    for resource, parent, dependencies, property_dependencies in intermediates:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in property_dependencies.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [resource for resource, *_ in intermediates]


def _analyze_stack_sharing_resources(self: Any, request: Any, _context: Any) -> Any:
    """pulumi-policy 1.21's `_PolicyAnalyzerServicer.AnalyzeStack`, the resource list built once (see above)."""
    self._configure_runtime_settings()
    proto, levels = _policy.proto, _policy.EnforcementLevel
    response = proto.AnalyzeResponse()
    resources: list[Any] | None = None
    for policy in self._PolicyAnalyzerServicer__policies:
        enforcement_level = self._get_enforcement_level(policy)
        if enforcement_level == levels.DISABLED or not isinstance(policy, _policy.StackValidationPolicy):
            continue
        if enforcement_level == levels.REMEDIATE:
            enforcement_level = levels.MANDATORY  # stack policies cannot be remediated
        report_violation = self._create_report_violation(response, policy.name, policy.description,
                                                         enforcement_level, policy.severity)
        if resources is None:
            resources = _stack_resources(self, request)
        args = _policy.StackValidationArgs(resources, self._get_policy_config(policy.name),
                                           self._PolicyAnalyzerServicer__stack_tags)
        _validate(self, policy, args, report_violation, response)
    return response


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
    copied = ("PolicyResource", "ResourceValidationArgs", "ResourceValidationPolicy", "StackValidationArgs",
              "StackValidationPolicy", "EnforcementLevel", "UnknownValueError", "_NotApplicableError", "isawaitable",
              "asyncio", "proto")
    if _SDK_VERSION.startswith(SHARED_SDK) and all(hasattr(_policy, n) for n in copied):
        servicer.Analyze = _per_request(_analyze_building_args_once, by_type=True)
        servicer.AnalyzeStack = _per_request(_analyze_stack_sharing_resources)
    else:
        servicer.Analyze = _per_request(servicer.Analyze, by_type=True)
        servicer.AnalyzeStack = _per_request(servicer.AnalyzeStack)
    _policy._guardrails_shared = True
    return True
