"""Typed client for a running policy pack, speaking the Analyzer gRPC protocol as the Pulumi engine does.

Every failure (gRPC error status, deadline, plugin died) is raised as `PluginCallError` naming the pack and
the call; callers decide whether to collect it as an error, never whether to ignore it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2, json_format
from guardrails_core.values import redact
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from preflight.crossguard.errors import PluginCallError, PolicyConfigError
from preflight.crossguard.plugin import PolicyPackProcess
from preflight.crossguard.policy_config import PolicyConfigEntry, reconcile
from preflight.crossguard.wire import from_struct, to_struct
from preflight.engine.base import PlannedResource, PolicyFinding, Remediation

DEFAULT_CALL_TIMEOUT_S = 30.0

ENFORCEMENT_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
ENFORCEMENT_VALUES = {name: value for value, name in ENFORCEMENT_NAMES.items()}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: None,
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
POLICY_TYPES = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "unknown",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}
# pulumi_policy turns an UnknownValueError inside a policy into an advisory diagnostic with this prefix
# (policy.py, Analyze/AnalyzeStack): the policy did not run, it did not pass.
PREVIEW_UNKNOWN_MARKER = "during preview: "


@dataclass(frozen=True)
class PolicyMeta:
    """What GetAnalyzerInfo says about one policy."""

    name: str
    description: str
    enforcement_level: str
    policy_type: str  # resource | stack | unknown
    severity: str | None
    config_schema: dict[str, Any] = field(default_factory=dict)
    required_config: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    remediation_steps: str = ""
    url: str = ""
    framework: str | None = None
    display_name: str = ""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    supports_config: bool
    policies: dict[str, PolicyMeta]
    initial_config: dict[str, PolicyConfigEntry]
    description: str = ""


@dataclass(frozen=True)
class NotApplicable:
    policy: str
    reason: str
    resource_urn: str | None = None


@dataclass(frozen=True)
class AnalyzeOutcome:
    findings: list[PolicyFinding]
    not_applicable: list[NotApplicable]


def is_preview_unknown(finding: PolicyFinding) -> bool:
    """True for the advisory pulumi_policy emits when a policy touched an unknown value at preview."""
    return finding.message.startswith("can't run policy ") and PREVIEW_UNKNOWN_MARKER in finding.message


def parse_urn(urn: str) -> tuple[str, str]:
    """(type, name) from `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    qualified_type = parts[2]
    return qualified_type.rsplit("$", 1)[-1], "::".join(parts[3:])


def provider_urn(reference: str) -> str:
    """A provider reference is `<urn>::<id>`; the URN is everything before the last `::`."""
    return reference.rsplit("::", 1)[0] if reference.count("::") >= 4 else reference


_Resp = TypeVar("_Resp")


class AnalyzerClient:
    """One policy pack, over `AnalyzerStub`. Create with a started `PolicyPackProcess`."""

    def __init__(self, process: PolicyPackProcess, *, call_timeout: float = DEFAULT_CALL_TIMEOUT_S) -> None:
        if process.channel is None:
            raise ValueError(f"policy pack {process.pack_label!r} is not started")
        self.process = process
        self.call_timeout = call_timeout
        self.stub = analyzer_pb2_grpc.AnalyzerStub(process.channel)
        self._info: PackInfo | None = None
        self._providers: dict[str, PlannedResource] = {}
        # A plan has a few providers and every resource names one: each message is built once per plan.
        self._provider_messages: dict[str, analyzer_pb2.AnalyzerProviderResource] = {}
        # Configure is sent once per plan (per fixture in the fixture runner) with an entry for every policy;
        # the entries rarely change, so their compiled schemas and protobuf messages are cached.
        self._validators: dict[str, Any] = {}
        self._config_messages: dict[tuple[str, str, str], analyzer_pb2.PolicyConfig] = {}

    @property
    def pack_name(self) -> str:
        return self._info.name if self._info else self.process.pack_label

    # -- plumbing --------------------------------------------------------------------------------------

    def _call(self, call: str, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.call_timeout)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                detail = f"no answer within {self.call_timeout:g}s (policy hung or too slow)"
            else:
                detail = f"{getattr(code, 'name', code)}: {details}"
            death = self.process.describe_death()
            if death:
                detail = f"{detail}; {death}"
            raise PluginCallError(self.pack_name, call, detail) from exc

    def set_provider_resources(self, resources: Iterable[PlannedResource]) -> None:
        """Provider resources (type `pulumi:providers:*`) whose inputs fill AnalyzerProviderResource."""
        self._providers = {r.urn: r for r in resources if r.type.startswith("pulumi:providers:")}
        self._provider_messages = {}

    def _provider_message(self, reference: str | None) -> analyzer_pb2.AnalyzerProviderResource | None:
        if not reference:
            return None
        message = self._provider_messages.get(reference)
        if message is None:
            message = self._provider_messages[reference] = self._new_provider_message(reference)
        return message

    def _new_provider_message(self, reference: str) -> analyzer_pb2.AnalyzerProviderResource:
        urn = provider_urn(reference)
        known = self._providers.get(urn)
        if known is not None:
            return analyzer_pb2.AnalyzerProviderResource(
                urn=known.urn, type=known.type, name=known.name, properties=to_struct(known.inputs)
            )
        try:
            ptype, pname = parse_urn(urn)
        except ValueError:
            return analyzer_pb2.AnalyzerProviderResource(urn=urn)
        return analyzer_pb2.AnalyzerProviderResource(urn=urn, type=ptype, name=pname)

    @staticmethod
    def _options(resource: PlannedResource) -> analyzer_pb2.AnalyzerResourceOptions:
        # The engine always sends customTimeouts (zeros when unset) and the parent URN in options.
        return analyzer_pb2.AnalyzerResourceOptions(
            parent=resource.parent or "",
            customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
        )

    def _analyze_request(self, resource: PlannedResource, *, skip_internal_keys: bool) -> analyzer_pb2.AnalyzeRequest:
        request = analyzer_pb2.AnalyzeRequest(
            urn=resource.urn,
            type=resource.type,
            name=resource.name,
            properties=to_struct(resource.inputs, skip_internal_keys=skip_internal_keys),
            options=self._options(resource),
        )
        provider = self._provider_message(resource.provider)
        if provider is not None:
            request.provider.CopyFrom(provider)
        return request

    # -- calls -----------------------------------------------------------------------------------------

    def get_plugin_info(self) -> str:
        """The pulumi-policy SDK version the pack runs (PluginInfo.version)."""
        return self._call("GetPluginInfo", self.stub.GetPluginInfo, empty_pb2.Empty()).version

    def get_analyzer_info(self) -> PackInfo:
        resp = self._call("GetAnalyzerInfo", self.stub.GetAnalyzerInfo, empty_pb2.Empty())
        policies: dict[str, PolicyMeta] = {}
        for p in resp.policies:
            schema = json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {}
            policies[p.name] = PolicyMeta(
                name=p.name,
                description=p.description,
                enforcement_level=ENFORCEMENT_NAMES.get(p.enforcementLevel, "advisory"),
                policy_type=POLICY_TYPES.get(p.policy_type, "unknown"),
                severity=SEVERITY_NAMES.get(p.severity),
                config_schema=schema,
                required_config=tuple(p.configSchema.required) if p.HasField("configSchema") else (),
                tags=tuple(p.tags),
                remediation_steps=p.remediation_steps,
                url=p.url,
                framework=p.framework.name or None if p.HasField("framework") else None,
                display_name=p.displayName,
            )
        initial = {
            name: PolicyConfigEntry(ENFORCEMENT_NAMES.get(cfg.enforcementLevel, "advisory"),
                                    json_format.MessageToDict(cfg.properties))
            for name, cfg in resp.initialConfig.items()
        }
        # The CLI prefers the version in PulumiPolicy.yaml over the one the pack reports.
        version = str(self.process.manifest.get("version") or resp.version)
        self._info = PackInfo(resp.name, version, resp.supportsConfig, policies, initial, resp.description)
        return self._info

    def info(self) -> PackInfo:
        return self._info or self.get_analyzer_info()

    def configure(self, policy_config: Mapping[str, Any] | None) -> dict[str, PolicyConfigEntry]:
        """Reconcile like the engine (defaults + initialConfig + given), validate, and send Configure.

        policy_config: {policy name | "all": level string | {enforcementLevel?, ...properties}}.
        Returns the effective per-policy config that was sent.
        """
        info = self.info()
        policies = {m.name: (m.enforcement_level, m.config_schema, list(m.required_config))
                    for m in info.policies.values()}
        try:
            effective = reconcile(policies, info.initial_config, policy_config, origin=f"pack {info.name}",
                                  validators=self._validators)
        except ValueError as exc:
            raise PolicyConfigError(self.pack_name, "Configure", str(exc)) from exc
        self.configure_effective(effective)
        return effective

    def configure_effective(self, effective: Mapping[str, PolicyConfigEntry]) -> None:
        """Send an already reconciled config as is (used to restore one after isolating a failing policy)."""
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in effective.items():
            request.policyConfig[name].CopyFrom(self._config_message(name, entry))
        self._call("Configure", self.stub.Configure, request)

    def _config_message(self, name: str, entry: PolicyConfigEntry) -> analyzer_pb2.PolicyConfig:
        try:
            key = (name, entry.enforcement_level, json.dumps(entry.properties, sort_keys=True))
        except (TypeError, ValueError) as exc:
            raise PolicyConfigError(self.pack_name, "Configure",
                                    f"policy {name!r}: config is not JSON-like: {exc}") from exc
        message = self._config_messages.get(key)
        if message is None:
            message = analyzer_pb2.PolicyConfig(enforcementLevel=ENFORCEMENT_VALUES[entry.enforcement_level])
            message.properties.update(entry.properties)
            if len(self._config_messages) > 4096:  # bounded: a long fixture run must not grow without end
                self._config_messages.clear()
            self._config_messages[key] = message
        return message

    def configure_stack(
        self, *, stack: str, project: str, organization: str = "", dry_run: bool = True,
        config: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None,
    ) -> None:
        """ConfigureStack: pulumi_policy keeps the stack tags from it (`args.stack_tags`)."""
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=project, organization=organization, dry_run=dry_run,
            config=dict(config or {}), tags=dict(tags or {}),
        )
        self._call("ConfigureStack", self.stub.ConfigureStack, request)

    def analyze(self, resource: PlannedResource) -> AnalyzeOutcome:
        request = self._analyze_request(resource, skip_internal_keys=True)
        resp = self._call(f"Analyze({resource.urn})", self.stub.Analyze, request)
        return AnalyzeOutcome(
            [self._finding(d, default_urn=resource.urn) for d in resp.diagnostics],
            [NotApplicable(n.policy_name, n.reason, resource.urn) for n in resp.not_applicable],
        )

    def analyze_stack(
        self,
        resources: Sequence[PlannedResource],
        *,
        dependencies: Mapping[str, Sequence[str]] | None = None,
        property_dependencies: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> AnalyzeOutcome:
        """AnalyzeStack over all resources. `dependencies` (urn -> urns) and `property_dependencies`
        (urn -> property -> urns) are sent when the caller knows them; PlannedResource does not carry them."""
        request = analyzer_pb2.AnalyzeStackRequest()
        for r in resources:
            item = request.resources.add(
                urn=r.urn, type=r.type, name=r.name, parent=r.parent or "",
                properties=to_struct(r.inputs, skip_internal_keys=True), options=self._options(r),
                dependencies=list((dependencies or {}).get(r.urn, ())),
            )
            for prop, urns in (property_dependencies or {}).get(r.urn, {}).items():
                if urns:  # the engine skips properties without dependencies
                    item.propertyDependencies[prop].urns.extend(urns)
            provider = self._provider_message(r.provider)
            if provider is not None:
                item.provider.CopyFrom(provider)
        resp = self._call("AnalyzeStack", self.stub.AnalyzeStack, request)
        return AnalyzeOutcome(
            [self._finding(d, default_urn=None) for d in resp.diagnostics],
            [NotApplicable(n.policy_name, n.reason, None) for n in resp.not_applicable],
        )

    def remediate(self, resource: PlannedResource) -> list[Remediation]:
        """Remediations the pack proposes (never applied here). Each carries before/after and a redacted diff.

        Remediations chain as in the engine: the second policy sees the first one's output.
        A remediation that could not run (unknown at preview) has `after == before` and the reason as diff.
        """
        request = self._analyze_request(resource, skip_internal_keys=False)
        resp = self._call(f"Remediate({resource.urn})", self.stub.Remediate, request)
        results: list[Remediation] = []
        before: dict[str, Any] = dict(resource.inputs)
        for rem in resp.remediations:
            if rem.diagnostic and not rem.HasField("properties"):
                results.append(Remediation(rem.policyName, rem.policyPackName or self.pack_name, resource.urn,
                                           before, before, f"# not remediated: {rem.diagnostic}\n"))
                continue
            after = from_struct(rem.properties)
            results.append(Remediation(rem.policyName, rem.policyPackName or self.pack_name, resource.urn,
                                       before, after, properties_diff(before, after, resource.urn)))
            before = after
        return results

    def _finding(self, d: analyzer_pb2.AnalyzeDiagnostic, *, default_urn: str | None) -> PolicyFinding:
        meta = self.info().policies.get(d.policyName)
        severity = SEVERITY_NAMES.get(d.severity) or (meta.severity if meta else None)
        return PolicyFinding(
            policy=d.policyName,
            pack=d.policyPackName or self.pack_name,
            enforcement=ENFORCEMENT_NAMES.get(d.enforcementLevel, "advisory"),
            message=d.message,
            resource_urn=d.urn or default_urn,
            severity=severity,
        )


def properties_diff(before: Mapping[str, Any], after: Mapping[str, Any], urn: str) -> str:
    """Unified diff of two property maps as sorted JSON; secrets show as [secret], never their value."""
    def lines(props: Mapping[str, Any]) -> list[str]:
        return json.dumps(redact(dict(props)), indent=2, sort_keys=True, default=str).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(before), lines(after), fromfile=f"{urn} (planned)",
                                        tofile=f"{urn} (remediated)"))
