"""Protocol fidelity: the real protocol pack, driven over gRPC exactly as the engine drives it."""

from __future__ import annotations

import json

import pulumi_policy.version
import pytest
from crossguard_helpers import PROJECT, STACK, resource, urn
from guardrails_core.values import UNKNOWN, Secret

from preflight.crossguard.client import is_preview_unknown
from preflight.crossguard.errors import PolicyConfigError
from preflight.crossguard.run import PackSession

MANAGED = {"tags": {"managed-by": "pulumi"}}


def by_policy(findings, policy):
    return [f for f in findings if f.policy == policy]


def test_analyzer_info_lists_policies_with_type_level_and_severity(protocol_session: PackSession) -> None:
    info = protocol_session.info
    assert info is not None and info.name == "protocol-pack"
    assert info.version == "0.3.0"  # PulumiPolicy.yaml wins over the SDK's "0.0.1", as in the CLI
    meta = info.policies["no-public-visibility"]
    assert (meta.policy_type, meta.enforcement_level, meta.severity) == ("resource", "mandatory", "high")
    assert meta.config_schema["forbidden"]["default"] == "public"
    stack_meta = info.policies["stack-resource-count"]
    assert (stack_meta.policy_type, stack_meta.enforcement_level) == ("stack", "advisory")
    assert info.policies["require-managed-by"].enforcement_level == "remediate"


def test_plugin_info_is_the_pulumi_policy_sdk_version(protocol_session: PackSession) -> None:
    assert protocol_session.client is not None
    assert protocol_session.client.get_plugin_info() == pulumi_policy.version.VERSION


def test_resource_violation_carries_level_severity_pack_and_urn(protocol_session: PackSession) -> None:
    thing = resource("test:index:Thing", "web", {"visibility": "public", **MANAGED})
    ok = resource("test:index:Thing", "internal", {"visibility": "private", **MANAGED})
    run = protocol_session.run([thing, ok])
    assert run.errors == []
    [finding] = by_policy(run.findings, "no-public-visibility")
    assert finding.resource_urn == thing.urn
    assert (finding.enforcement, finding.severity, finding.pack) == ("mandatory", "high", "protocol-pack")
    assert "visibility is 'public'" in finding.message


def test_unknown_at_preview_becomes_cant_run_advisory_not_a_pass(protocol_session: PackSession) -> None:
    arn = resource("test:index:Arn", "fn-role", {"roleArn": UNKNOWN, **MANAGED})
    run = protocol_session.run([arn])
    [finding] = by_policy(run.findings, "role-arn-format")
    # pulumi_policy catches UnknownValueError and reports an advisory "can't run policy ... during preview".
    assert finding.enforcement == "advisory"
    assert is_preview_unknown(finding)
    assert "string value at .roleArn can't be known during preview" in finding.message
    assert finding.resource_urn == arn.urn


def test_known_value_is_evaluated_normally(protocol_session: PackSession) -> None:
    bad = resource("test:index:Arn", "fn-role", {"roleArn": "not-an-arn", **MANAGED})
    good = resource("test:index:Arn", "fn-role2", {"roleArn": "arn:aws:iam::123456789012:role/x", **MANAGED})
    run = protocol_session.run([bad, good])
    findings = by_policy(run.findings, "role-arn-format")
    assert [f.resource_urn for f in findings] == [bad.urn]
    assert not is_preview_unknown(findings[0]) and findings[0].enforcement == "advisory"


def test_secret_reaches_analyze_as_the_plain_value_like_the_python_sdk_does(protocol_session: PackSession) -> None:
    # The engine sends the secret wrapper; pulumi_policy's Analyze unwraps it (deserialize without proxy).
    secretive = resource("test:index:Secretive", "db", {"password": Secret("hunter2"), **MANAGED})
    run = protocol_session.run([secretive])
    [finding] = by_policy(run.findings, "secret-seen-as-plaintext")
    assert "password arrived as str, length 7" in finding.message
    assert "hunter2" not in finding.message


def test_remediation_returns_new_properties_and_a_diff_and_keeps_secrets(protocol_session: PackSession) -> None:
    db = resource("test:index:Secretive", "db", {"password": Secret("hunter2"), "tags": {"team": "a"}})
    run = protocol_session.run([db])
    assert run.errors == []
    [rem] = run.remediations
    assert rem.policy == "require-managed-by" and rem.resource_urn == db.urn and rem.pack == "protocol-pack"
    assert rem.after["tags"] == {"team": "a", "managed-by": "pulumi"}
    # Remediate keeps secretness (secrets-preserving proxy): the new properties carry the secret back.
    assert rem.after["password"] == Secret("hunter2")
    assert '+    "managed-by": "pulumi",' in rem.diff
    assert "hunter2" not in rem.diff and "[secret]" in rem.diff
    # The violation is still reported, downgraded from remediate to mandatory as pulumi_policy does.
    [finding] = by_policy(run.findings, "require-managed-by")
    assert finding.enforcement == "mandatory"


def test_no_remediate_call_when_no_policy_is_at_remediate(protocol_session: PackSession) -> None:
    thing = resource("test:index:Thing", "bare", {"visibility": "private"})
    run = protocol_session.run([thing], {"require-managed-by": "mandatory"})
    assert run.remediations == []
    [finding] = by_policy(run.findings, "require-managed-by")
    assert finding.enforcement == "mandatory"


def test_stack_policy_sees_every_resource_with_parents(protocol_session: PackSession) -> None:
    parent = resource("test:index:Thing", "parent", {**MANAGED})
    children = [resource("test:index:Thing", f"child{i}", {**MANAGED}, parent=parent.urn) for i in range(3)]
    run = protocol_session.run([parent, *children])
    [finding] = by_policy(run.findings, "stack-resource-count")
    assert finding.resource_urn is None and finding.severity == "medium"
    assert "4 resources > 3" in finding.message
    assert "child0<parent>, child1<parent>, child2<parent>, parent<>" in finding.message


def test_stack_policy_gets_dependencies_and_property_dependencies(protocol_session: PackSession) -> None:
    role = resource("test:index:Thing", "role", {**MANAGED})
    fn = resource("test:index:Thing", "fn", {**MANAGED})
    run = protocol_session.run([role, fn], {"stack-resource-count": {"maxResources": 1}},
                               dependencies={fn.urn: [role.urn]},
                               property_dependencies={fn.urn: {"role": [role.urn], "unused": []}})
    [finding] = by_policy(run.findings, "stack-resource-count")
    assert "fn<>[role]{role:role}, role<>" in finding.message


def test_stack_policy_under_its_limit_reports_nothing(protocol_session: PackSession) -> None:
    run = protocol_session.run([resource("test:index:Thing", "one", {**MANAGED})],
                               {"stack-resource-count": {"maxResources": 5}})
    assert by_policy(run.findings, "stack-resource-count") == []


def test_policy_config_reaches_get_config_with_schema_defaults(protocol_session: PackSession) -> None:
    echo = resource("test:index:Echo", "echo", {**MANAGED})
    run = protocol_session.run([echo], {"echo-config": {"settings": {"environment": "prod"}}})
    [finding] = by_policy(run.findings, "echo-config")
    seen = json.loads(finding.message.split("\n", 1)[1])
    # `level` was not given: the engine fills schema defaults before Configure (numbers travel as doubles).
    assert seen["config"] == {"settings": {"environment": "prod"}, "level": 1.0}


def test_config_changes_what_a_policy_checks(protocol_session: PackSession) -> None:
    thing = resource("test:index:Thing", "web", {"visibility": "internal", **MANAGED})
    assert by_policy(protocol_session.run([thing]).findings, "no-public-visibility") == []
    run = protocol_session.run([thing], {"no-public-visibility": {"forbidden": "internal"}})
    assert len(by_policy(run.findings, "no-public-visibility")) == 1


def test_disabled_policy_gives_no_finding(protocol_session: PackSession) -> None:
    thing = resource("test:index:Thing", "web", {"visibility": "public", **MANAGED})
    run = protocol_session.run([thing], {"no-public-visibility": {"enforcementLevel": "disabled"}})
    assert by_policy(run.findings, "no-public-visibility") == []
    # and a level set in config is the level reported
    run = protocol_session.run([thing], {"no-public-visibility": "advisory"})
    assert [f.enforcement for f in by_policy(run.findings, "no-public-visibility")] == ["advisory"]


def test_all_entry_sets_every_policy_level(protocol_session: PackSession) -> None:
    thing = resource("test:index:Thing", "web", {"visibility": "public"})
    run = protocol_session.run([thing], {"all": "disabled"})
    assert run.findings == [] and run.remediations == [] and run.errors == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"no-such-policy": "mandatory"}, "no policy named 'no-such-policy'"),
        ({"no-public-visibility": "blocking"}, "enforcementLevel 'blocking' is not one of"),
        ({"echo-config": {"level": -1}}, "echo-config: level: -1 is less than the minimum of 0"),
        ({"echo-config": 3}, "must be a level string or a mapping"),
    ],
)
def test_bad_policy_config_is_refused_naming_policy_and_rule(
    protocol_session: PackSession, config: dict, expected: str
) -> None:
    assert protocol_session.client is not None
    with pytest.raises(PolicyConfigError, match="protocol-pack") as err:
        protocol_session.client.configure(config)
    assert expected in str(err.value)
    run = protocol_session.run([resource("test:index:Thing", "web", {"visibility": "public"})], config)
    assert run.findings == [] and len(run.errors) == 1 and expected in run.errors[0]


def test_policy_that_raises_is_an_error_naming_pack_policy_and_resource(protocol_session: PackSession) -> None:
    boom = resource("test:index:Boom", "bad", {"visibility": "public", **MANAGED})
    fine = resource("test:index:Thing", "web", {"visibility": "public", **MANAGED})
    run = protocol_session.run([boom, fine])
    [error] = run.errors
    assert "'protocol-pack'" in error and "policy 'raises-on-boom'" in error
    assert f"Analyze({boom.urn})" in error and "policy bug: boom" in error
    # The other policies' findings on the same resource are recovered (each policy re-run alone),
    # the process survives, and the rest of the plan is analysed with the original config restored.
    assert sorted(f.resource_urn for f in by_policy(run.findings, "no-public-visibility")) == sorted(
        [boom.urn, fine.urn])
    assert [f.enforcement for f in by_policy(run.findings, "no-public-visibility")] == ["mandatory"] * 2
    assert len(by_policy(run.findings, "stack-resource-count")) == 0


def test_stack_settings_reach_the_pack_process(protocol_session: PackSession) -> None:
    parent_urn = urn("test:index:Thing", "root")
    provider_ref = urn("pulumi:providers:aws", "eu") + "::0f1e2d"
    provider = resource("pulumi:providers:aws", "eu", {"region": "eu-west-1"})
    echo = resource("test:index:Echo", "echo", {**MANAGED}, parent=parent_urn, provider=provider_ref)
    run = protocol_session.run([provider, echo])
    [finding] = by_policy(run.findings, "echo-config")
    seen = json.loads(finding.message.split("\n", 1)[1])
    assert (seen["stack"], seen["project"], seen["dry_run"]) == (STACK, PROJECT, True)
    assert seen["organization"] == "organization"  # pulumi.policy's default when PULUMI_ORGANIZATION is unset
    assert seen["pulumi_config"] == "hello"  # PULUMI_CONFIG
    assert seen["stack_tags"] == {"team": "platform"}  # ConfigureStack
    assert seen["options_parent"] == parent_urn
    assert seen["provider"] == [provider.urn, "pulumi:providers:aws", "eu", {"region": "eu-west-1"}]


def test_logs_are_collected_from_engine_log_and_stderr(protocol_session: PackSession) -> None:
    probe = resource("test:index:Log", "chatty", {**MANAGED})
    run = protocol_session.run([probe])
    assert run.errors == []
    messages = {(entry.source, entry.severity, entry.message) for entry in run.logs}
    assert ("engine", "warning", "engine-log chatty") in messages
    assert ("stderr", "warning", "log-probe saw chatty") in messages
