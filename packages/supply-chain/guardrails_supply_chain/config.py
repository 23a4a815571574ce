"""The `supply_chain` stack setting: who may sign, which trusted root, and what the vulnerability gate blocks.

Written in the stack file as `guardrails:supplyChain` (see docs/supply-chain.md). Keys may be snake_case or
camelCase; unknown keys are errors so a typo cannot silently switch a check off.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

SETTINGS_KEY = "guardrails:supplyChain"
SEVERITIES: tuple[str, ...] = ("unknown", "low", "medium", "high", "critical")
Severity = Literal["unknown", "low", "medium", "high", "critical"]
Exposure = Literal["public", "cluster-local"]
Rank = Literal["P1", "P2", "P3", "P4"]


class SupplyChainConfigError(ValueError):
    """The `supply_chain` setting is unusable; the message names the key and what is allowed."""


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class SignerRule(_Model):
    """One trusted signer: an exact identity (certificate SAN) or a regex over it, and the exact OIDC issuer."""

    identity: str | None = None
    identity_regex: str | None = None
    issuer: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_identity_form(self) -> SignerRule:
        if (self.identity is None) == (self.identity_regex is None):
            raise ValueError("give exactly one of `identity` (exact SAN) or `identityRegex` (full-match regex)")
        if self.identity_regex is not None:
            try:
                re.compile(self.identity_regex)
            except re.error as exc:
                raise ValueError(f"identityRegex {self.identity_regex!r} is not a valid regex: {exc}") from exc
        return self

    def describe(self) -> str:
        who = self.identity if self.identity is not None else f"/{self.identity_regex}/"
        return f"{who} via {self.issuer}"

    def cache_key(self) -> dict[str, Any]:
        return {"identity": self.identity, "identity_regex": self.identity_regex, "issuer": self.issuer}


class TrustSettings(_Model):
    """Trusted root and signers for one environment (or the defaults)."""

    # "production" / "staging" = the roots shipped inside the installed sigstore package; anything else is a
    # path relative to the repository (private Sigstore deployments).
    trusted_root: str | None = None
    signers: list[SignerRule] | None = None


class BlockRule(_Model):
    """A vulnerability is blocked when it matches every key given in one rule (keys left out match anything)."""

    min_severity: Severity | None = None
    min_rank: Rank | None = None
    fixable: bool | None = None
    network: bool | None = None
    exposure: Exposure | None = None
    classifications: list[str] | None = None


def _default_block_rules() -> list[BlockRule]:
    # The example policy: a fixable critical in a confidential (or restricted) public service.
    return [
        BlockRule(
            min_severity="critical", fixable=True, exposure="public", classifications=["confidential", "restricted"]
        )
    ]


class VulnerabilityGate(_Model):
    max_report_age_days: int = Field(30, ge=1)
    # Environments where a service without a vulnerability report is a violation.
    require_report_in: list[str] = ["prod"]
    block: list[BlockRule] = Field(default_factory=_default_block_rules)


class SupplyChainSettings(_Model):
    trusted_root: str = "production"
    signers: list[SignerRule] = []
    environments: dict[str, TrustSettings] = {}
    # Environments where an unsigned or unverifiable artifact is a mandatory (critical) violation; PCI-scoped
    # services are always held to this.
    require_signatures_in: list[str] = ["prod"]
    cache: bool = True
    vulnerability_gate: VulnerabilityGate = VulnerabilityGate()

    @field_validator("trusted_root")
    @classmethod
    def _root_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("trustedRoot must be 'production', 'staging' or a path relative to the repository")
        return value

    def for_environment(self, environment: str) -> tuple[str, list[SignerRule]]:
        """(trusted root, signers) for `environment`: its own entry where given, else the defaults."""
        env = self.environments.get(environment)
        root = env.trusted_root if env and env.trusted_root else self.trusted_root
        signers = env.signers if env and env.signers is not None else self.signers
        return root, list(signers)


def parse_supply_chain_settings(raw: Any, origin: str = SETTINGS_KEY) -> SupplyChainSettings:
    """Validate the free-form `supply_chain` dict; errors name each bad key and what is allowed."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SupplyChainConfigError(f"{origin}: expected a mapping, found {type(raw).__name__}")
    try:
        return SupplyChainSettings.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{origin}: invalid supply-chain settings"]
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            found = err.get("input")
            found_txt = "" if isinstance(found, dict | list) else f" (found {found!r})"
            lines.append(f"  {origin}.{path}: {err['msg']}{found_txt}")
        raise SupplyChainConfigError("\n".join(lines)) from exc


def settings_as_dict(settings: Any) -> dict[str, Any]:
    """Accept a StackSettings model or its `model_dump()` dict (what policies receive)."""
    if isinstance(settings, dict):
        return settings
    dump = getattr(settings, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=False)
    raise SupplyChainConfigError(f"stack settings: expected a mapping, found {type(settings).__name__}")
