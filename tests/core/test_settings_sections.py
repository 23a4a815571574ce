"""`guardrails:budgets`, `guardrails:risk` and `guardrails:supplyChain` are typed in the core's settings model: the
defaults the libraries relied on, camelCase or snake_case keys, and errors naming file:line, key path and what is
allowed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from guardrails_core.settings import (
    StackConfigError,
    StackSettings,
    as_stack_settings,
    config_key_lines,
    load_stack_settings,
    settings_from_config,
    settings_to_config,
)

STACK = """config:
  guardrails:environment: prod
  guardrails:budgets:
    quantile: p50
    stackMonthlyUsd: 100
    costCenters: {AI-Product-X: 40}
    lambdaInit: {coldStartFraction: 0.01, initDurationMs: 400}
    pricing:
      knative: {cpuPerVcpuHour: "0.05", scaleToZeroGracePeriodSeconds: 30}
  guardrails:risk:
    changeRiskThreshold: 0.5
  guardrails:supplyChain:
    signers:
      - {identity: release@acme.example, issuer: https://accounts.google.com}
    vulnerabilityGate:
      maxReportAgeDays: 7
"""


def _project(root: Path, stack: str = STACK) -> Path:
    (root / "Pulumi.yaml").write_text("name: demo\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks").mkdir()
    (root / "stacks" / "Pulumi.prod.yaml").write_text(stack)
    return root


def test_the_defaults_are_the_libraries_defaults() -> None:
    settings = StackSettings(environment="dev")
    budgets, risk, chain = settings.budgets, settings.risk, settings.supply_chain
    assert (budgets.quantile, budgets.anomaly_factor, budgets.declared_uncertainty, budgets.free_tier) == \
        ("p90", 2.0, 0.2, False)
    assert budgets.stack_monthly_usd is None and budgets.lambda_init is None and budgets.cost_centers == {}
    assert (risk.change_risk_threshold, risk.capacity_risk_threshold, risk.enforce_synthetic_change_risk) == \
        (None, None, False)
    assert (chain.trusted_root, chain.signers, chain.require_signatures_in, chain.cache) == \
        ("production", [], ["prod"], True)
    assert chain.vulnerability_gate.max_report_age_days == 30
    assert chain.vulnerability_gate.block[0].min_severity == "critical"


def test_a_stack_file_gives_typed_sections(tmp_path: Path) -> None:
    settings = load_stack_settings(_project(tmp_path), "prod")
    assert settings.budgets.quantile == "p50" and settings.budgets.cost_centers == {"AI-Product-X": 40.0}
    assert settings.budgets.lambda_init is not None and settings.budgets.lambda_init.init_duration_ms == 400
    assert settings.budgets.pricing.knative.cpu_per_vcpu_hour == Decimal("0.05")
    assert settings.risk.change_risk_threshold == 0.5
    assert settings.supply_chain.for_environment("prod")[1][0].describe() == \
        "release@acme.example via https://accounts.google.com"
    assert settings.supply_chain.vulnerability_gate.max_report_age_days == 7
    # what the engine hands programs and packs (objects as JSON strings) reads back to the same settings, and so
    # does a model_dump (what a library may be given instead of the model)
    assert settings_from_config(settings_to_config(settings), "engine") == settings
    assert as_stack_settings(settings.model_dump(mode="json", by_alias=False)) == settings


def test_camel_and_snake_case_keys_agree() -> None:
    camel = StackSettings.model_validate({"environment": "dev", "budgets": {"stackMonthlyUsd": 5},
                                          "supplyChain": {"requireSignaturesIn": ["dev"]}})
    snake = StackSettings.model_validate({"environment": "dev", "budgets": {"stack_monthly_usd": 5},
                                          "supply_chain": {"require_signatures_in": ["dev"]}})
    assert camel == snake


@pytest.mark.parametrize(("old", "new", "line", "needles"), [
    ("stackMonthlyUsd: 100", "stackMonthlyUsd: true", 5,
     ["guardrails:budgets.stackMonthlyUsd: Input should be a valid number (found True)"]),
    ("stackMonthlyUsd: 100", 'stackMonthlyUsd: "100"', 5, ["guardrails:budgets.stackMonthlyUsd", "valid number"]),
    ("quantile: p50", "quantile: p99", 4, ["guardrails:budgets.quantile: Input should be 'p10', 'p50' or 'p90'"]),
    ("quantile: p50", "quantlie: p50", 4, ["guardrails:budgets.quantlie: Extra inputs are not permitted",
                                           "allowed: quantile, stackMonthlyUsd, serviceMonthlyUsd, costCenters"]),
    ("initDurationMs: 400", "initDurationMs: 20000", 7,
     ["guardrails:budgets.lambdaInit.initDurationMs: Input should be less than or equal to 10000"]),
    ("scaleToZeroGracePeriodSeconds: 30", "scaleToZero: 30", 9,
     ["guardrails:budgets.pricing.knative.scaleToZero: Extra inputs", "allowed: cpuPerVcpuHour"]),
    ("changeRiskThreshold: 0.5", "changeRiskThreshold: 1.5", 11,
     ["guardrails:risk.changeRiskThreshold: Input should be less than or equal to 1 (found 1.5)"]),
    ("changeRiskThreshold: 0.5", "changeRiskTreshold: 0.5", 11,
     ["guardrails:risk.changeRiskTreshold: Extra inputs", "allowed: changeRiskThreshold, capacityRiskThreshold, "
                                                          "enforceSyntheticChangeRisk"]),
    ("- {identity: release@acme.example, issuer", "- {identity: release@acme.example, issuers", 14,
     ["guardrails:supplyChain.signers.0.issuer: Field required",
      "guardrails:supplyChain.signers.0.issuers: Extra inputs", "allowed: identity, identityRegex, issuer"]),
    ("maxReportAgeDays: 7", "maxReportAgeDays: weekly", 16,
     ["guardrails:supplyChain.vulnerabilityGate.maxReportAgeDays: Input should be a valid integer"]),
])
def test_bad_values_name_file_line_key_and_what_is_allowed(tmp_path: Path, old: str, new: str, line: int,
                                                           needles: list[str]) -> None:
    assert old in STACK
    project = _project(tmp_path, STACK.replace(old, new, 1))
    with pytest.raises(StackConfigError) as info:
        load_stack_settings(project, "prod")
    message = str(info.value)
    assert f"stacks/Pulumi.prod.yaml:{line}: {needles[0]}" in message, message
    for needle in needles:
        assert needle in message, (needle, message)


def test_key_lines_follow_the_yaml(tmp_path: Path) -> None:
    lines = config_key_lines(_project(tmp_path) / "stacks" / "Pulumi.prod.yaml")
    assert lines[("guardrails:budgets",)] == 3
    assert lines[("guardrails:budgets", "pricing", "knative", "cpuPerVcpuHour")] == 9
    assert lines[("guardrails:supplyChain", "signers", "0")] == 14
    assert config_key_lines(tmp_path / "missing.yaml") == {}


def test_errors_name_keys_as_the_stack_file_spells_them() -> None:
    # a model_dump() (snake_case) handed to a library is named in camelCase, as the docs and stack files write it
    with pytest.raises(StackConfigError, match=r"guardrails:supplyChain\.vulnerabilityGate\.maxReportAgeDays: "):
        as_stack_settings({"environment": "dev", "supply_chain": {"vulnerability_gate": {"max_report_age_days": "x"}}})
