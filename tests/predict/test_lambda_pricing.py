"""Lambda prices computed by hand from the published formulas (cost-anchors.md §1), matched to the cent.

Every expected value below is the arithmetic written out with the table's rates, not a call to the engine.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from guardrails_predict.pricing import LambdaConfig, LambdaUsage, PricingError, lambda_monthly_cost

# us-east-1 rates (preflight/pricing/data/aws-lambda.yaml), restated here so the tests are hand arithmetic.
REQ = D("0.20") / D(1_000_000)
X_T1, X_T2, X_T3 = D("0.0000166667"), D("0.000015"), D("0.0000133334")
A_T1, A_T2, A_T3 = D("0.0000133334"), D("0.0000120001"), D("0.0000106667")
STORAGE = D("0.0000000309")
X_PC, X_PCD = D("0.0000041667"), D("0.0000097222")
A_PC = D("0.0000033334")
MONTH_S = D(730 * 3600)


def cents(value: D) -> D:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def cost(requests, ms, memory, **kw) -> D:
    usage_kw = {k: kw.pop(k) for k in ("cold_start_fraction", "init_duration_ms") if k in kw}
    free = kw.pop("free_tier", False)
    usage = LambdaUsage(D(requests), D(ms), **{k: D(v) for k, v in usage_kw.items()})
    return lambda_monthly_cost(usage, LambdaConfig(memory_mb=memory, **kw), free_tier=free).total_usd


CASES = [
    # id, engine inputs, hand arithmetic
    ("worked-example-x86", dict(requests=10_000_000, ms=120, memory=512),
     10_000_000 * REQ + D(10_000_000) * D("0.120") * D("0.5") * X_T1),  # $12.00 in the research note
    ("worked-example-arm", dict(requests=10_000_000, ms=120, memory=512, architecture="arm64"),
     10_000_000 * REQ + D(600_000) * A_T1),  # $10.00
    ("free-tier-x86", dict(requests=10_000_000, ms=120, memory=512, free_tier=True),
     (10_000_000 - 1_000_000) * REQ + (D(600_000) - 400_000) * X_T1),  # $5.13
    ("free-tier-arm", dict(requests=10_000_000, ms=120, memory=512, architecture="arm64", free_tier=True),
     9_000_000 * REQ + D(200_000) * A_T1),
    ("inside-free-tier", dict(requests=500_000, ms=100, memory=128, free_tier=True), D(0)),
    ("1GB-1s", dict(requests=1_000_000, ms=1000, memory=1024), 1_000_000 * REQ + D(1_000_000) * X_T1),
    ("round-up-to-1ms", dict(requests=100_000_000, ms="1.2", memory=128),
     100_000_000 * REQ + D(100_000_000) * D("0.002") * D("0.125") * X_T1),
    ("1769MB-one-vcpu", dict(requests=50_000_000, ms=250, memory=1769),
     50_000_000 * REQ + D(50_000_000) * D("0.25") * D(1769) / 1024 * X_T1),
    ("ephemeral-2048", dict(requests=10_000_000, ms=120, memory=512, ephemeral_storage_mb=2048),
     2 + D(600_000) * X_T1 + D("1.5") * D("0.12") * 10_000_000 * STORAGE),  # +$0.056 in the note
    ("ephemeral-10240-arm", dict(requests=1_000_000, ms=3000, memory=2048, architecture="arm64",
                                 ephemeral_storage_mb=10240),
     1_000_000 * REQ + D(1_000_000) * 3 * 2 * A_T1 + (D(10240) - 512) / 1024 * D(3_000_000) * STORAGE),
    ("pc-5x1GB-idle", dict(requests=0, ms=0, memory=1024, provisioned_concurrency=5),
     5 * 1 * MONTH_S * X_PC),  # $54.75 in the note
    ("pc-5x1GB-idle-arm", dict(requests=0, ms=0, memory=1024, provisioned_concurrency=5, architecture="arm64"),
     5 * 1 * MONTH_S * A_PC),  # $43.80
    ("pc-traffic-within-capacity", dict(requests=10_000_000, ms=200, memory=512, provisioned_concurrency=2),
     10_000_000 * REQ + 2 * D("0.5") * MONTH_S * X_PC + D(10_000_000) * D("0.2") * D("0.5") * X_PCD),
    ("pc-overflow-on-demand", dict(requests=100_000_000, ms=500, memory=128, provisioned_concurrency=1),
     100_000_000 * REQ + D("0.125") * MONTH_S * X_PC + D("0.125") * MONTH_S * X_PCD
     + (D(100_000_000) * D("0.5") * D("0.125") - D("0.125") * MONTH_S) * X_T1),
    # Observed PC utilisation u = 0.25: capacity 2 x 0.5 GB x 2,628,000 s = 2,628,000 GB-s, of which traffic used
    # 657,000; the load is 10M x 0.2 s x 0.5 GB = 1,000,000 GB-s, so 343,000 GB-s spill over to on-demand.
    # 2.00 + 2,628,000 x 0.0000041667 (10.9500876) + 657,000 x 0.0000097222 (6.3874854) + 343,000 x 0.0000166667
    # (5.7166781) = 25.0542511 -> $25.05; without an observation (u = 1) all 1,000,000 GB-s are served by PC:
    # 2.00 + 10.9500876 + 9.7222 = 22.6722876 -> $22.67 (case pc-traffic-within-capacity).
    ("pc-observed-utilisation-spills-over", dict(requests=10_000_000, ms=200, memory=512, provisioned_concurrency=2,
                                                 provisioned_utilisation=D("0.25")),
     10_000_000 * REQ + D(2_628_000) * X_PC + D(657_000) * X_PCD + D(343_000) * X_T1),
    # u = 0.5 covers the whole load (1,314,000 >= 1,000,000 GB-s): the same bill as u = 1, nothing spills over.
    ("pc-observed-utilisation-covers-the-load", dict(requests=10_000_000, ms=200, memory=512,
                                                     provisioned_concurrency=2, provisioned_utilisation=D("0.5")),
     10_000_000 * REQ + D(2_628_000) * X_PC + D(1_000_000) * X_PCD),
    # u = 0 (provisioned but never used): the PC charge still applies, every GB-s is on demand:
    # 2.00 + 10.9500876 + 1,000,000 x 0.0000166667 (16.6667) = 29.6167876 -> $29.62
    ("pc-observed-idle", dict(requests=10_000_000, ms=200, memory=512, provisioned_concurrency=2,
                              provisioned_utilisation=D(0)),
     10_000_000 * REQ + D(2_628_000) * X_PC + D(1_000_000) * X_T1),
    ("pc-partial-month-rounded-to-5min", dict(requests=0, ms=0, memory=2048, provisioned_concurrency=3,
                                              provisioned_hours=D("10.01")),
     3 * 2 * D(36300) * X_PC),  # 10.01 h = 36,036 s -> 36,300 s (next 5 minutes)
    ("pc-no-free-tier", dict(requests=1_000_000, ms=100, memory=128, provisioned_concurrency=1, free_tier=True),
     1_000_000 * REQ + D("0.125") * MONTH_S * X_PC + D(1_000_000) * D("0.1") * D("0.125") * X_PCD),
    ("x86-tier-2", dict(requests=1_000_000_000, ms=7000, memory=1024),
     1_000_000_000 * REQ + D(6_000_000_000) * X_T1 + D(1_000_000_000) * X_T2),
    ("x86-tier-3", dict(requests=2_000_000_000, ms=10000, memory=1024),
     2_000_000_000 * REQ + D(6e9) * X_T1 + D(9e9) * X_T2 + D(5e9) * X_T3),
    ("arm-tier-2", dict(requests=1_000_000_000, ms=8000, memory=1024, architecture="arm64"),
     1_000_000_000 * REQ + D("7.5e9") * A_T1 + D("0.5e9") * A_T2),
    ("arm-tier-3", dict(requests=2_000_000_000, ms=10000, memory=1024, architecture="arm64"),
     2_000_000_000 * REQ + D("7.5e9") * A_T1 + D("11.25e9") * A_T2 + D("1.25e9") * A_T3),
    ("eu-west-1-tier-1", dict(requests=10_000_000, ms=120, memory=512, region="eu-west-1"),
     2 + D(600_000) * D("0.0000166667")),
    # Regional request prices (the table's source list): 10M requests x $0.27/M = $2.70 in Cape Town, $0.28/M in
    # Hong Kong, $0.23/M in Milan, $0.25/M in Bahrain.
    ("af-south-1", dict(requests=10_000_000, ms=120, memory=512, region="af-south-1"),
     D("2.70") + D(600_000) * D("0.0000221")),  # $2.70 + $13.26 = $15.96
    ("ap-east-1-arm", dict(requests=10_000_000, ms=120, memory=512, region="ap-east-1", architecture="arm64"),
     D("2.80") + D(600_000) * D("0.0000183")),  # $2.80 + $10.98 = $13.78
    ("eu-south-1", dict(requests=10_000_000, ms=120, memory=512, region="eu-south-1"),
     D("2.30") + D(600_000) * D("0.0000195172")),  # $2.30 + $11.71 = $14.01
    ("me-south-1-arm", dict(requests=4_000_000, ms=300, memory=1024, region="me-south-1", architecture="arm64"),
     D("1.00") + D(1_200_000) * D("0.0000165334")),  # $1.00 + $19.84 = $20.84
    ("me-central-1", dict(requests=15_000_000, ms=50, memory=256, region="me-central-1"),
     3 + D(15_000_000) * D("0.05") * D("0.25") * D("0.0000206667")),
    ("init-billing", dict(requests=1_000_000, ms=100, memory=512, cold_start_fraction="0.01",
                          init_duration_ms=800),
     1_000_000 * REQ + D(1_000_000) * (D(100) + D("0.01") * 800) / 1000 * D("0.5") * X_T1),
    ("idle", dict(requests=0, ms=100, memory=512), D(0)),
    ("3008MB-fractional-ms", dict(requests=2_000_000, ms="850.2", memory=3008),
     2_000_000 * REQ + D(2_000_000) * D("0.851") * D(3008) / 1024 * X_T1),
]


@pytest.mark.parametrize(("inputs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lambda_cost_matches_hand_arithmetic(inputs: dict, expected: D) -> None:
    assert cost(**inputs) == cents(D(expected))


def test_observed_pc_utilisation_figures() -> None:
    observed = dict(provisioned_concurrency=2, provisioned_utilisation=D("0.25"))
    assert cost(10_000_000, 200, 512, **observed) == D("25.05")
    assert cost(10_000_000, 200, 512, provisioned_concurrency=2) == D("22.67")
    assert cost(10_000_000, 200, 512, provisioned_concurrency=2, provisioned_utilisation=D(0)) == D("29.62")
    with pytest.raises(PricingError, match="utilisation must be within 0..1"):
        cost(1, 1, 512, provisioned_concurrency=1, provisioned_utilisation=D("1.5"))


def test_research_note_figures() -> None:
    assert cost(10_000_000, 120, 512) == D("12.00")
    assert cost(10_000_000, 120, 512, free_tier=True) == D("5.13")
    assert cost(0, 0, 1024, provisioned_concurrency=5) == D("54.75")
    assert cost(0, 0, 1024, provisioned_concurrency=5, architecture="arm64") == D("43.80")


def test_components_are_reported() -> None:
    result = lambda_monthly_cost(LambdaUsage(D(10_000_000), D(120)), LambdaConfig(512, ephemeral_storage_mb=2048))
    assert set(result.components) == {"requests", "duration", "ephemeral_storage"}
    assert result.gb_seconds == D(600_000)
    assert result.price_table_version == "2026-12-01"


@pytest.mark.parametrize(("kwargs", "needle"), [
    (dict(region="mars-north-1"), "no Lambda prices for region 'mars-north-1'"),
    (dict(region="eu-west-1", provisioned_concurrency=1), "no provisioned concurrency price for region eu-west-1"),
    (dict(region="eu-west-1", ephemeral_storage_mb=1024), "no ephemeral storage price"),
    (dict(architecture="sparc"), "architecture 'sparc'"),
    (dict(ephemeral_storage_mb=100), "ephemeralStorage.size must be within 512..10240"),
])
def test_missing_or_invalid_prices_fail_closed(kwargs: dict, needle: str) -> None:
    with pytest.raises(PricingError, match=needle.replace(".", r"\.").replace("(", r"\(")):
        cost(1_000_000, 100, 512, **kwargs)


def test_unknown_tier_rate_fails_only_when_reached() -> None:
    assert cost(1_000_000, 100, 512, region="eu-west-1") > 0  # tier 1 known
    with pytest.raises(PricingError, match="duration tier above 6000000000 GB-s"):
        cost(1_000_000_000, 7000, 1024, region="eu-west-1")
