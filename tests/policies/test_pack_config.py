"""Enforcement by severity/environment, per-control overrides, and settings only from the engine's stack config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from guardrails_core.settings import StackConfigError, StackSettings, settings_to_config
from guardrails_pack import engine_config
from guardrails_pack.config import PolicyConfigError, default_enforcement, policy_config_for_stack
from guardrails_pack.discovery import discover_controls
from guardrails_pack.pack import pack_arguments

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_engine_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(engine_config, "_received", engine_config._Received())
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    yield


def test_default_enforcement_matrix() -> None:
    assert default_enforcement("critical", "prod") == "mandatory"
    assert default_enforcement("high", "prod") == "mandatory"
    assert default_enforcement("medium", "prod") == "advisory"
    for env in ("local", "dev", "staging"):
        assert default_enforcement("critical", env) == "advisory"


def test_policy_config_prod_unconfigured_uses_environment_defaults() -> None:
    config = policy_config_for_stack(StackSettings(environment="prod"))
    assert config["pod-no-privileged"]["enforcementLevel"] == "mandatory"
    assert config["pod-probes"]["enforcementLevel"] == "advisory"
    assert "settings" not in config["pod-probes"]  # settings travel as stack config, once, not per policy
    assert "project_dir" not in config["pod-probes"]
    with_dir = policy_config_for_stack(StackSettings(environment="prod"), project_dir=Path("/p"))
    assert with_dir["pod-probes"]["project_dir"] == "/p"
    assert set(config) == {c.name for c in discover_controls()}


def test_configured_severity_map_and_per_control_override_win() -> None:
    settings = StackSettings.model_validate({
        "environment": "dev",
        "policy": {"enforcement": {"critical": "mandatory", "high": "advisory", "medium": "advisory",
                                   "low": "disabled"},
                   "controls": {"pod.probes": "mandatory", "img-digest-pinned": "disabled"}},
    })
    config = policy_config_for_stack(settings)
    assert config["pod-no-privileged"]["enforcementLevel"] == "mandatory"  # configured map, even in dev
    assert config["pod-probes"]["enforcementLevel"] == "mandatory"  # per-control override beats "low: disabled"
    assert config["img-digest-pinned"]["enforcementLevel"] == "disabled"  # override by policy name
    assert config["pod-qos-memory-equal"]["enforcementLevel"] == "disabled"


def test_remediate_without_remediation_becomes_mandatory() -> None:
    settings = StackSettings.model_validate({"environment": "dev", "policy": {"controls": {"pod.probes": "remediate"}}})
    assert policy_config_for_stack(settings)["pod-probes"]["enforcementLevel"] == "mandatory"


def test_unknown_control_override_is_an_error() -> None:
    settings = StackSettings.model_validate(
        {"environment": "dev", "policy": {"controls": {"pod.no-privilegd": "disabled"}}}
    )
    with pytest.raises(PolicyConfigError, match="pod.no-privilegd"):
        policy_config_for_stack(settings)


def test_settings_round_trip_through_stack_config_strings() -> None:
    settings = StackSettings.model_validate({"environment": "prod", "limits": {"max_scale": 40},
                                             "policy": {"controls": {"pod.probes": "mandatory"}}})
    config = settings_to_config(settings)
    assert all(isinstance(v, str) for v in config.values())
    engine_config.receive(config, "test")
    assert engine_config.stack_settings() == settings


def test_settings_come_from_pulumi_config_as_the_engine_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"guardrails:environment": "prod",
                                                    "guardrails:limits": json.dumps({"maxScale": 10}),
                                                    "aws:region": "eu-west-1"}))
    initial = pack_arguments()["initial_config"]
    assert initial["pod-no-privileged"]["enforcementLevel"].value == "mandatory"
    settings = engine_config.stack_settings()
    assert settings.environment == "prod" and settings.limits.max_scale == 10


def test_configure_stack_config_replaces_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"guardrails:environment": "prod"}))
    assert engine_config.receive_from_environment()
    engine_config.receive({"guardrails:environment": "dev"}, "ConfigureStack")
    assert engine_config.stack_settings().environment == "dev"


def test_invalid_settings_name_the_key() -> None:
    engine_config.receive({"guardrails:environment": "production"}, "stack config of dev (ConfigureStack)")
    with pytest.raises(StackConfigError, match="guardrails:environment"):
        engine_config.stack_settings()


def test_misspelt_settings_key_is_an_error() -> None:
    engine_config.receive({"guardrails:environment": "dev", "guardrails:limitz": "{}"}, "ConfigureStack")
    with pytest.raises(StackConfigError, match="limitz"):
        engine_config.stack_settings()


def test_no_stack_config_fails_closed_naming_the_key() -> None:
    with pytest.raises(StackConfigError, match="guardrails:environment"):
        engine_config.stack_settings()
    engine_config.receive({"aws:region": "eu-west-1"}, "ConfigureStack")  # config, but none of ours
    with pytest.raises(StackConfigError, match="guardrails:environment"):
        engine_config.stack_settings()


def test_no_pulumi_config_means_no_initial_config() -> None:
    assert pack_arguments()["initial_config"] is None


def test_the_pack_never_reads_stack_files() -> None:
    pack = REPO / "policy_packs" / "guardrails"
    offenders = [p for p in pack.rglob("*.py") if "Pulumi." in p.read_text() and "stacks/" in p.read_text()]
    assert offenders == []
