"""The pack as CrossGuard runs it: real pulumi-policy servicer, real protobuf requests (no gRPC socket).

Checks the wrapper contract: violations carry severity and the configured enforcement, unknown inputs and
control crashes become violations naming the control at the policy's level, other types are ignored.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2
from guardrails_core.settings import StackSettings, settings_to_config
from guardrails_core.values import UNKNOWN, to_wire
from guardrails_pack import PACK_NAME
from guardrails_pack.config import policy_config_for_stack
from guardrails_pack.engine_config import keep_configure_stack_config
from guardrails_pack.pack import pack_arguments
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

KSVC = "kubernetes:serving.knative.dev/v1:Service"


def ksvc(container: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "svc", "namespace": "ai-workloads"},
            "spec": {"template": {"spec": {"containers": [container]}}}}


@pytest.fixture(scope="module")
def servicer() -> _PolicyAnalyzerServicer:
    keep_configure_stack_config()  # as the pack's __main__ does
    args = pack_arguments()
    return _PolicyAnalyzerServicer(args["name"], "0.1.0", args["policies"], EnforcementLevel.ADVISORY,
                                   args["initial_config"])


def configure(servicer: _PolicyAnalyzerServicer, settings: StackSettings) -> None:
    request = proto.ConfigureAnalyzerRequest()
    for name, entry in policy_config_for_stack(settings).items():
        config = request.policyConfig[name]
        config.enforcementLevel = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY,
                                   "remediate": proto.REMEDIATE, "disabled": proto.DISABLED}[entry["enforcementLevel"]]
    servicer.Configure(request, None)
    configure_stack(servicer, settings_to_config(settings))


def configure_stack(servicer: _PolicyAnalyzerServicer, config: dict[str, str]) -> None:
    """The stack config, as the engine sends it in ConfigureStack: the pack's only source of settings."""
    servicer.ConfigureStack(proto.AnalyzerStackConfigureRequest(stack="prod", project="p", config=config), None)


def analyze(servicer: _PolicyAnalyzerServicer, resource_type: str, props: dict[str, Any]) -> list[Any]:
    struct = struct_pb2.Struct()
    struct.update(to_wire(props))
    urn = f"urn:pulumi:prod::p::{resource_type}::svc"
    request = proto.AnalyzeRequest(type=resource_type, properties=struct, urn=urn, name="svc")
    return list(servicer.Analyze(request, None).diagnostics)


def by_policy(diagnostics: list[Any], name: str) -> list[Any]:
    return [d for d in diagnostics if d.policyName == name]


def test_pack_metadata(servicer: _PolicyAnalyzerServicer) -> None:
    info = servicer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    policies = {p.name: p for p in info.policies}
    privileged = policies["pod-no-privileged"]
    assert privileged.severity == proto.POLICY_SEVERITY_CRITICAL
    assert "CKV_K8S_16" in privileged.tags
    assert privileged.remediation_steps and privileged.url.startswith("https://")
    assert "project_dir" in privileged.configSchema.properties
    assert "settings" not in privileged.configSchema.properties  # settings come from the stack config only


def test_prod_privileged_is_mandatory_with_severity(servicer: _PolicyAnalyzerServicer) -> None:
    configure(servicer, StackSettings(environment="prod"))
    diags = analyze(servicer, KSVC, ksvc({"name": "app", "image": "x/y:1", "securityContext": {"privileged": True}}))
    found = by_policy(diags, "pod-no-privileged")
    assert len(found) == 1
    assert found[0].enforcementLevel == proto.MANDATORY
    assert found[0].severity == proto.POLICY_SEVERITY_CRITICAL
    assert "[pod.no-privileged]" in found[0].message and "containers[0]" in found[0].message


def test_dev_same_violation_is_advisory(servicer: _PolicyAnalyzerServicer) -> None:
    configure(servicer, StackSettings(environment="dev"))
    diags = analyze(servicer, KSVC, ksvc({"name": "app", "image": "x/y:1", "securityContext": {"privileged": True}}))
    assert by_policy(diags, "pod-no-privileged")[0].enforcementLevel == proto.ADVISORY


def test_unknown_input_is_reported_at_policy_level_not_dropped(servicer: _PolicyAnalyzerServicer) -> None:
    configure(servicer, StackSettings(environment="prod"))
    diags = analyze(servicer, KSVC, ksvc({"name": "app", "image": "x/y:1", "securityContext": {"privileged": UNKNOWN}}))
    found = by_policy(diags, "pod-no-privileged")
    assert len(found) == 1
    assert found[0].enforcementLevel == proto.MANDATORY  # pulumi-policy alone would downgrade to advisory
    assert "cannot be evaluated during preview" in found[0].message


def test_malformed_input_fails_closed_for_every_ksvc_control(servicer: _PolicyAnalyzerServicer) -> None:
    configure(servicer, StackSettings(environment="prod"))
    props = {"metadata": {"name": "svc", "namespace": "ai-workloads"}, "spec": {"template": {"spec": "oops"}}}
    diags = analyze(servicer, KSVC, props)
    messages = {d.policyName: d.message for d in diags}
    for name in ("pod-no-privileged", "pod-run-as-non-root", "img-digest-pinned", "kn-timeout-seconds"):
        assert name in messages, f"{name} passed a malformed ksvc silently"
        assert "failed closed" in messages[name]


def test_missing_settings_fails_closed(servicer: _PolicyAnalyzerServicer) -> None:
    servicer.Configure(proto.ConfigureAnalyzerRequest(), None)
    configure_stack(servicer, {"aws:region": "eu-west-1"})  # a stack config without guardrails:*
    diags = analyze(servicer, KSVC, ksvc({"name": "app", "image": "x/y:1"}))
    found = by_policy(diags, "pod-no-privileged")
    assert found and "guardrails:environment" in found[0].message and "failed closed" in found[0].message


def test_typo_in_stack_config_fails_closed_naming_the_key(servicer: _PolicyAnalyzerServicer) -> None:
    configure_stack(servicer, {"guardrails:environment": "prod", "guardrails:limitz": "{}"})
    diags = analyze(servicer, KSVC, ksvc({"name": "app", "image": "x/y:1"}))
    found = by_policy(diags, "pod-no-privileged")
    assert found and "limitz" in found[0].message


def test_other_resource_types_are_not_judged(servicer: _PolicyAnalyzerServicer) -> None:
    configure(servicer, StackSettings(environment="prod"))
    diags = analyze(servicer, "kubernetes:core/v1:ConfigMap", {"metadata": {"name": "c"}, "data": {"a": "b"}})
    assert not [d for d in diags if d.policyName.startswith(("pod-no-privileged", "kn-", "img-"))]


def test_remediate_adds_labels_over_the_wire(servicer: _PolicyAnalyzerServicer) -> None:
    settings = StackSettings(environment="dev", policy={"controls": {"kn.recommended-labels": "remediate"}})
    configure(servicer, settings)
    struct = struct_pb2.Struct()
    struct.update(ksvc({"name": "app", "image": "x/y:1"}))
    response = servicer.Remediate(proto.AnalyzeRequest(type=KSVC, properties=struct, urn="urn:x", name="svc"), None)
    fixes = [r for r in response.remediations if r.policyName == "kn-recommended-labels"]
    assert len(fixes) == 1
    labels = fixes[0].properties["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"
    assert labels["app.kubernetes.io/name"] == "svc"
