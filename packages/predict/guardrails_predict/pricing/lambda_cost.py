"""AWS Lambda monthly cost from the published formulas (cost-anchors.md §1).

    billed duration per invocation = ceil(duration_ms)            (1 ms rounding since Dec 2020)
    GB-s       = requests x (billed_ms + cold_fraction x ceil(init_ms)) / 1000 x memory_MB / 1024
    duration $ = GB-s split over the volume tiers of the architecture
    requests $ = requests x $/1M / 1e6
    storage $  = (ephemeral_MB - 512) / 1024 x duration seconds x $/GB-s   (512 MB included; AWS bills the
                 extra GB x seconds - not Infracost's formula, which multiplies by memory as well)
    PC $       = concurrency x memory GB x (enabled seconds rounded up to 5 min) x PC rate, whatever the traffic,
                 and the GB-s served by provisioned instances (they take traffic first) at the PC-duration rate:
                 served = min(GB-s, u x PC capacity GB-s), the rest (the spill-over) on demand. u is the observed
                 ProvisionedConcurrencyUtilization (mean) when given; without it u = 1, i.e. traffic is assumed to
                 fill the provisioned capacity before any spills over (a flat load; bursty traffic idles the
                 instances off-peak and spills at peaks, which only an observed u shows)
    free tier  = 1M requests and 400,000 GB-s off on-demand usage, never with PC enabled

Rounding applies per invocation at AWS; here it is applied to the mean duration, which under-states by less
than 1 ms per invocation. Tiers apply to the account's monthly total per architecture; a per-function
estimate that starts at tier 1 can only over-state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from guardrails_predict.pricing.tables import LambdaArchPrices, LambdaPriceTable, PricingError, load_lambda_prices

MB_PER_GB = Decimal(1024)
INCLUDED_EPHEMERAL_MB = Decimal(512)
PC_BILLING_STEP_SECONDS = Decimal(300)
HOURS_PER_MONTH = Decimal(730)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LambdaUsage:
    requests_per_month: Decimal
    mean_duration_ms: Decimal
    cold_start_fraction: Decimal = Decimal(0)  # share of invocations paying INIT (billed since 2025-08-01)
    init_duration_ms: Decimal = Decimal(0)


@dataclass(frozen=True)
class LambdaConfig:
    memory_mb: int
    architecture: str = "x86_64"
    region: str = "us-east-1"
    ephemeral_storage_mb: int = 512
    provisioned_concurrency: int = 0
    provisioned_hours: Decimal = HOURS_PER_MONTH  # how long PC stays enabled in the month
    # Observed mean share of the provisioned instances in use (0..1); None = traffic fills them first (u = 1)
    provisioned_utilisation: Decimal | None = None


@dataclass(frozen=True)
class LambdaCost:
    total: Decimal
    components: dict[str, Decimal] = field(default_factory=dict)
    gb_seconds: Decimal = Decimal(0)
    price_table_version: str = ""

    @property
    def total_usd(self) -> Decimal:
        return self.total.quantize(CENT, rounding=ROUND_HALF_UP)


def _ceil(value: Decimal) -> Decimal:
    return value.to_integral_value(rounding=ROUND_CEILING)


def _need(rate: Decimal | None, item: str, cfg: LambdaConfig, table: LambdaPriceTable) -> Decimal:
    if rate is None:
        raise PricingError(
            f"{table.path}: no {item} price for region {cfg.region} ({cfg.architecture}); add it to the table "
            "from the AWS Price List before estimating this function"
        )
    return rate


def tiered_duration_cost(gb_seconds: Decimal, prices: LambdaArchPrices, cfg: LambdaConfig,
                         table: LambdaPriceTable) -> Decimal:
    """Split GB-s over the cumulative tier bounds; a tier with an unknown rate fails only if it is reached."""
    cost = Decimal(0)
    lower = Decimal(0)
    for tier in prices.duration_tiers:
        upper = tier.up_to_gb_s
        in_tier = gb_seconds - lower if upper is None else min(gb_seconds, upper) - lower
        if in_tier <= 0:
            break
        cost += in_tier * _need(tier.usd_per_gb_s, f"duration tier above {lower} GB-s", cfg, table)
        if upper is None:
            break
        lower = upper
    return cost


def _check(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise PricingError(f"Lambda cost input: {message}")


def _validate_usage(usage: LambdaUsage) -> None:
    _check([
        (usage.requests_per_month >= 0, "requests_per_month must be >= 0"),
        (usage.mean_duration_ms >= 0, "mean_duration_ms must be >= 0"),
        (0 <= usage.cold_start_fraction <= 1, "cold_start_fraction must be within 0..1"),
        (usage.init_duration_ms >= 0, "init_duration_ms must be >= 0"),
    ])


def _validate_config(cfg: LambdaConfig) -> None:
    _check([
        (128 <= cfg.memory_mb, "memorySize must be >= 128 MB"),
        (512 <= cfg.ephemeral_storage_mb <= 10240, "ephemeralStorage.size must be within 512..10240 MB"),
        (cfg.provisioned_concurrency >= 0, "provisioned concurrency must be >= 0"),
        (0 <= cfg.provisioned_hours <= 744, "provisioned hours must be within 0..744"),
        (cfg.provisioned_utilisation is None or 0 <= cfg.provisioned_utilisation <= 1,
         "provisioned-concurrency utilisation must be within 0..1"),
    ])


def lambda_monthly_cost(usage: LambdaUsage, cfg: LambdaConfig, *, free_tier: bool = False,
                        table: LambdaPriceTable | None = None) -> LambdaCost:
    return lambda_monthly_costs([usage], cfg, free_tier=free_tier, table=table)[0]


def lambda_monthly_costs(usages: Sequence[LambdaUsage], cfg: LambdaConfig, *, free_tier: bool = False,
                         table: LambdaPriceTable | None = None) -> list[LambdaCost]:
    """`lambda_monthly_cost` of several usages of one function configuration (e.g. its P10/P50/P90 workload):
    the configuration is validated and its prices looked up once (issue 17)."""
    table = table or load_lambda_prices()
    for usage in usages:
        _validate_usage(usage)
    _validate_config(cfg)
    prices = table.for_region(cfg.region, cfg.architecture)
    memory_gb = Decimal(cfg.memory_mb) / MB_PER_GB
    pc = cfg.provisioned_concurrency
    pc_capacity_gb_s = pc_rate = pc_duration_rate = Decimal(0)
    utilisation = Decimal(1) if cfg.provisioned_utilisation is None else cfg.provisioned_utilisation
    if pc > 0:
        enabled_seconds = _ceil(cfg.provisioned_hours * 3600 / PC_BILLING_STEP_SECONDS) * PC_BILLING_STEP_SECONDS
        pc_capacity_gb_s = Decimal(pc) * memory_gb * enabled_seconds
        pc_rate = _need(prices.provisioned_concurrency_per_gb_s, "provisioned concurrency", cfg, table)
        pc_duration_rate = _need(prices.provisioned_duration_per_gb_s, "provisioned duration", cfg, table)
    extra_storage_gb = (Decimal(cfg.ephemeral_storage_mb) - INCLUDED_EPHEMERAL_MB) / MB_PER_GB

    out = []
    for usage in usages:
        billed_ms_per_request = (_ceil(usage.mean_duration_ms)
                                 + usage.cold_start_fraction * _ceil(usage.init_duration_ms))
        duration_seconds = usage.requests_per_month * billed_ms_per_request / Decimal(1000)
        gb_seconds = duration_seconds * memory_gb

        components: dict[str, Decimal] = {}
        on_demand_gb_s = gb_seconds
        if pc > 0:
            served_by_pc = min(gb_seconds, utilisation * pc_capacity_gb_s)
            components["provisioned_concurrency"] = pc_capacity_gb_s * pc_rate
            components["provisioned_duration"] = served_by_pc * pc_duration_rate
            on_demand_gb_s = gb_seconds - served_by_pc

        billable_requests = usage.requests_per_month
        if free_tier and pc == 0:  # AWS: the free tier does not apply to functions with PC enabled
            billable_requests = max(Decimal(0), billable_requests - table.free_tier_requests)
            on_demand_gb_s = max(Decimal(0), on_demand_gb_s - table.free_tier_gb_seconds)

        components["requests"] = billable_requests * prices.requests_per_million / Decimal(1_000_000)
        components["duration"] = tiered_duration_cost(on_demand_gb_s, prices, cfg, table)

        if extra_storage_gb > 0:
            rate = _need(prices.ephemeral_storage_per_gb_s, "ephemeral storage", cfg, table)
            components["ephemeral_storage"] = extra_storage_gb * duration_seconds * rate

        out.append(LambdaCost(
            total=sum(components.values(), Decimal(0)),
            components=components,
            gb_seconds=gb_seconds,
            price_table_version=table.version,
        ))
    return out
