"""Enforcement by severity/environment, per-control overrides, and the PULUMI_STACK fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from guardrails_pack.config import (
    PolicyConfigError,
    default_enforcement,
    fallback_settings,
    policy_config_for_stack,
    settings_from_policy_config,
)
from guardrails_pack.discovery import discover_controls
from guardrails_pack.pack import pack_arguments

from stackconf import StackConfigError, StackSettings

REPO = Path(__file__).resolve().parents[2]


def test_default_enforcement_matrix() -> None:
    assert default_enforcement("critical", "prod") == "mandatory"
    assert default_enforcement("high", "prod") == "mandatory"
    assert default_enforcement("medium", "prod") == "advisory"
    for env in ("local", "dev", "staging"):
        assert default_enforcement("critical", env) == "advisory"


def test_policy_config_prod_unconfigured_uses_environment_defaults() -> None:
    config = policy_config_for_stack(StackSettings(environment="prod"))
    assert config["pod-no-privileged"]["enforcementLevel"] == "mandatory"
    assert config["pod-liveness-probe"]["enforcementLevel"] == "advisory"
    assert config["pod-liveness-probe"]["settings"]["environment"] == "prod"
    assert set(config) == {c.name for c in discover_controls()}


def test_configured_severity_map_and_per_control_override_win() -> None:
    settings = StackSettings.model_validate({
        "environment": "dev",
        "policy": {"enforcement": {"critical": "mandatory", "high": "advisory", "medium": "advisory",
                                   "low": "disabled"},
                   "controls": {"pod.liveness-probe": "mandatory", "img-digest-pinned": "disabled"}},
    })
    config = policy_config_for_stack(settings)
    assert config["pod-no-privileged"]["enforcementLevel"] == "mandatory"  # configured map, even in dev
    assert config["pod-liveness-probe"]["enforcementLevel"] == "mandatory"  # per-control override beats "low: disabled"
    assert config["img-digest-pinned"]["enforcementLevel"] == "disabled"  # override by policy name
    assert config["pod-qos-memory-equal"]["enforcementLevel"] == "disabled"


def test_remediate_without_remediation_becomes_mandatory() -> None:
    settings = StackSettings.model_validate(
        {"environment": "dev", "policy": {"controls": {"pod.liveness-probe": "remediate"}}})
    assert policy_config_for_stack(settings)["pod-liveness-probe"]["enforcementLevel"] == "mandatory"


def test_unknown_control_override_is_an_error() -> None:
    settings = StackSettings.model_validate(
        {"environment": "dev", "policy": {"controls": {"pod.no-privilegd": "disabled"}}}
    )
    with pytest.raises(PolicyConfigError, match="pod.no-privilegd"):
        policy_config_for_stack(settings)


def test_settings_round_trip_through_json_floats() -> None:
    dump = StackSettings(environment="prod").model_dump(mode="json")
    dump["limits"]["max_scale"] = 40.0  # what protobuf Struct hands back
    assert settings_from_policy_config(dump).limits.max_scale == 40


def test_invalid_settings_name_the_field() -> None:
    with pytest.raises(PolicyConfigError, match="environment"):
        settings_from_policy_config({"environment": "production"})


def test_fallback_reads_the_stack_named_by_pulumi_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "acme/serverless-guardrails/prod")
    monkeypatch.setenv("GUARDRAILS_PROJECT_DIR", str(REPO))
    settings = fallback_settings()
    assert settings is not None and settings.environment == "prod"
    initial = pack_arguments()["initial_config"]
    assert initial["pod-no-privileged"]["settings"]["environment"] == "prod"
    assert initial["pod-no-privileged"]["enforcementLevel"].value == "mandatory"


def test_fallback_missing_stack_file_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "no-such-stack")
    monkeypatch.setenv("GUARDRAILS_PROJECT_DIR", str(REPO))
    with pytest.raises(StackConfigError, match="Pulumi.no-such-stack.yaml"):
        fallback_settings()


def test_no_pulumi_stack_means_no_initial_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    assert pack_arguments()["initial_config"] is None
