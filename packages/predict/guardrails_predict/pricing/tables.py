"""Load and validate the versioned price tables (errors name the file, the field and what is allowed)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
LAMBDA_TABLE = DATA_DIR / "aws-lambda.yaml"
KUBERNETES_TABLE = DATA_DIR / "kubernetes-opencost.yaml"
ARCHITECTURES = ("x86_64", "arm64")


class PricingError(ValueError):
    """A price is missing or malformed; the message names the table file and the field."""


def _decimal(value: Any, where: str) -> Decimal:
    # Prices are quoted strings in the tables so no binary float ever touches money.
    if isinstance(value, bool) or value is None:
        raise PricingError(f"{where}: expected a decimal number as a quoted string, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise PricingError(f"{where}: expected a decimal number, got {value!r}") from exc
    if result < 0 or not result.is_finite():
        raise PricingError(f"{where}: must be a finite number >= 0, got {value!r}")
    return result


@dataclass(frozen=True)
class DurationTier:
    up_to_gb_s: Decimal | None  # cumulative upper bound; None = unbounded
    usd_per_gb_s: Decimal | None  # None = rate not known for this region (fail closed when reached)


@dataclass(frozen=True)
class LambdaArchPrices:
    requests_per_million: Decimal
    duration_tiers: tuple[DurationTier, ...]
    ephemeral_storage_per_gb_s: Decimal | None
    provisioned_concurrency_per_gb_s: Decimal | None
    provisioned_duration_per_gb_s: Decimal | None


@dataclass(frozen=True)
class LambdaPriceTable:
    path: str
    version: str
    sources: tuple[str, ...]
    free_tier_requests: Decimal
    free_tier_gb_seconds: Decimal
    regions: dict[str, dict[str, LambdaArchPrices]] = field(default_factory=dict)

    def for_region(self, region: str, architecture: str) -> LambdaArchPrices:
        if region not in self.regions:
            raise PricingError(
                f"{self.path}: no Lambda prices for region {region!r}; known regions: {sorted(self.regions)}"
            )
        if architecture not in ARCHITECTURES:
            raise PricingError(f"Lambda architecture {architecture!r} is not one of {list(ARCHITECTURES)}")
        return self.regions[region][architecture]


def _optional(raw: dict[str, Any], key: str, where: str) -> Decimal | None:
    return None if raw.get(key) is None else _decimal(raw[key], f"{where}.{key}")


def _arch_prices(raw: Any, where: str) -> LambdaArchPrices:
    if not isinstance(raw, dict):
        raise PricingError(f"{where}: expected a mapping of prices")
    tiers_raw = raw.get("duration_tiers")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise PricingError(f"{where}.duration_tiers: expected a non-empty list of {{up_to_gb_s, usd_per_gb_s}}")
    tiers: list[DurationTier] = []
    for i, tier in enumerate(tiers_raw):
        tw = f"{where}.duration_tiers[{i}]"
        if not isinstance(tier, dict) or "up_to_gb_s" not in tier or "usd_per_gb_s" not in tier:
            raise PricingError(f"{tw}: expected keys up_to_gb_s (number or null) and usd_per_gb_s")
        bound = None if tier["up_to_gb_s"] is None else _decimal(tier["up_to_gb_s"], f"{tw}.up_to_gb_s")
        rate = None if tier["usd_per_gb_s"] is None else _decimal(tier["usd_per_gb_s"], f"{tw}.usd_per_gb_s")
        tiers.append(DurationTier(bound, rate))
    if tiers[-1].up_to_gb_s is not None:
        raise PricingError(f"{where}.duration_tiers: the last tier must have up_to_gb_s: null (unbounded)")
    return LambdaArchPrices(
        requests_per_million=_decimal(raw.get("requests_per_million"), f"{where}.requests_per_million"),
        duration_tiers=tuple(tiers),
        ephemeral_storage_per_gb_s=_optional(raw, "ephemeral_storage_per_gb_s", where),
        provisioned_concurrency_per_gb_s=_optional(raw, "provisioned_concurrency_per_gb_s", where),
        provisioned_duration_per_gb_s=_optional(raw, "provisioned_duration_per_gb_s", where),
    )


def _read_yaml(path: Path, schema: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PricingError(f"{path}: cannot read price table ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise PricingError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise PricingError(f"{path}: field 'schema' must be {schema!r}")
    for key in ("version", "sources"):
        if not doc.get(key):
            raise PricingError(f"{path}: field {key!r} is required (price tables must say where and when)")
    return doc


@lru_cache(maxsize=8)
def load_lambda_prices(path: Path = LAMBDA_TABLE) -> LambdaPriceTable:
    doc = _read_yaml(path, "lambda-prices/v1")
    free = doc.get("free_tier") or {}
    regions: dict[str, dict[str, LambdaArchPrices]] = {}
    for region, raw in (doc.get("regions") or {}).items():
        if not isinstance(raw, dict):
            raise PricingError(f"{path}: regions.{region}: expected a mapping with x86_64 and arm64")
        regions[region] = {
            arch: _arch_prices(raw.get(arch), f"{path}: regions.{region}.{arch}") for arch in ARCHITECTURES
        }
    if not regions:
        raise PricingError(f"{path}: field 'regions' must list at least one region")
    return LambdaPriceTable(
        path=str(path),
        version=str(doc["version"]),
        sources=tuple(doc["sources"]),
        free_tier_requests=_decimal(free.get("requests"), f"{path}: free_tier.requests"),
        free_tier_gb_seconds=_decimal(free.get("gb_seconds"), f"{path}: free_tier.gb_seconds"),
        regions=regions,
    )


@dataclass(frozen=True)
class KubernetesPrices:
    path: str
    version: str
    hours_per_month: Decimal
    cpu_per_vcpu_hour: Decimal
    ram_per_gib_hour: Decimal
    container_concurrency_target_default: int
    requests_per_second_target_default: int
    target_utilization: Decimal
    stable_window_seconds: Decimal
    scale_down_delay_seconds: Decimal
    queue_proxy_cpu_vcpu: Decimal
    queue_proxy_memory_gib: Decimal

    # camelCase keys accepted in `guardrails:budgets.pricing.knative` -> field names
    OVERRIDES = {
        "cpuPerVcpuHour": "cpu_per_vcpu_hour",
        "ramPerGibHour": "ram_per_gib_hour",
        "queueProxyCpuVcpu": "queue_proxy_cpu_vcpu",
        "queueProxyMemoryGib": "queue_proxy_memory_gib",
        "targetUtilization": "target_utilization",
        "stableWindowSeconds": "stable_window_seconds",
        "scaleDownDelaySeconds": "scale_down_delay_seconds",
    }

    def with_overrides(self, overrides: dict[str, Any], where: str) -> KubernetesPrices:
        """Per-stack overrides (e.g. the cluster's real node prices) over the OpenCost defaults."""
        changes: dict[str, Decimal] = {}
        for key, value in overrides.items():
            if key not in self.OVERRIDES:
                raise PricingError(f"{where}.{key}: unknown key; allowed: {sorted(self.OVERRIDES)}")
            changes[self.OVERRIDES[key]] = _decimal(value, f"{where}.{key}")
        return replace(self, version=f"{self.version}+stack-overrides" if changes else self.version, **changes)


@lru_cache(maxsize=8)
def load_kubernetes_prices(path: Path = KUBERNETES_TABLE) -> KubernetesPrices:
    doc = _read_yaml(path, "kubernetes-prices/v1")
    prices = doc.get("prices") or {}
    kn = doc.get("knative_defaults") or {}
    where = f"{path}: "

    def integer(section: dict[str, Any], key: str, prefix: str) -> int:
        value = section.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise PricingError(f"{where}{prefix}.{key}: expected a positive integer, got {value!r}")
        return value

    return KubernetesPrices(
        path=str(path),
        version=str(doc["version"]),
        hours_per_month=_decimal(doc.get("hours_per_month"), f"{where}hours_per_month"),
        cpu_per_vcpu_hour=_decimal(prices.get("cpu_per_vcpu_hour"), f"{where}prices.cpu_per_vcpu_hour"),
        ram_per_gib_hour=_decimal(prices.get("ram_per_gib_hour"), f"{where}prices.ram_per_gib_hour"),
        container_concurrency_target_default=integer(kn, "container_concurrency_target_default", "knative_defaults"),
        requests_per_second_target_default=integer(kn, "requests_per_second_target_default", "knative_defaults"),
        target_utilization=_decimal(kn.get("target_utilization"), f"{where}knative_defaults.target_utilization"),
        stable_window_seconds=_decimal(
            kn.get("stable_window_seconds"), f"{where}knative_defaults.stable_window_seconds"
        ),
        scale_down_delay_seconds=_decimal(
            kn.get("scale_down_delay_seconds"), f"{where}knative_defaults.scale_down_delay_seconds"
        ),
        queue_proxy_cpu_vcpu=_decimal(kn.get("queue_proxy_cpu_vcpu"), f"{where}knative_defaults.queue_proxy_cpu_vcpu"),
        queue_proxy_memory_gib=_decimal(
            kn.get("queue_proxy_memory_gib"), f"{where}knative_defaults.queue_proxy_memory_gib"
        ),
    )
