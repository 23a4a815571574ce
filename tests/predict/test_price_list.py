"""scripts/lambda_prices_from_price_list.py: AWS Price List offer files -> the lambda-prices/v1 table, offline.

The offers below are written in the Price List's offer-file format (products with `attributes.group`,
`regionCode`, `usagetype`; `terms.OnDemand.<sku>.<term>.priceDimensions` with begin/end ranges and USD) and carry
a region that the shipped table does not price beyond tier 1, with its own rates, so the test can tell the
generated table from the shipped one. Expected costs are hand arithmetic with those rates.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path

import pytest
from guardrails_predict.pricing import LambdaConfig, LambdaUsage, lambda_monthly_cost, load_lambda_prices

from scripts.lambda_prices_from_price_list import PriceListError, build_table, main

REGION, PREFIX = "eu-south-2", "EUS2-"
RATES = {  # group -> [(begin, end, USD per unit)]
    "AWS-Lambda-Requests": [("0", "Inf", "0.0000002")],
    "AWS-Lambda-Requests-ARM": [("0", "Inf", "0.0000002")],
    "AWS-Lambda-Duration": [("0", "6000000000", "0.0000183334"), ("6000000000", "15000000000", "0.0000165"),
                            ("15000000000", "Inf", "0.0000146667")],
    "AWS-Lambda-Duration-ARM": [("0", "7500000000", "0.0000146667"), ("7500000000", "18750000000", "0.0000132"),
                                ("18750000000", "Inf", "0.0000117334")],
    "AWS-Lambda-Storage-Duration": [("0", "Inf", "0.000000034")],
    "AWS-Lambda-Storage-Duration-ARM": [("0", "Inf", "0.000000034")],
    "AWS-Lambda-Provisioned-Concurrency": [("0", "Inf", "0.0000045834")],
    "AWS-Lambda-Provisioned-Concurrency-ARM": [("0", "Inf", "0.0000036667")],
    "AWS-Lambda-Duration-Provisioned": [("0", "Inf", "0.0000106944")],
    "AWS-Lambda-Duration-Provisioned-ARM": [("0", "Inf", "0.0000085556")],
}


def offer(rates: dict[str, list[tuple[str, str, str]]] = RATES) -> dict:
    products, terms = {}, {}
    for index, (group, dims) in enumerate(rates.items()):
        sku = f"SKU{index:04d}"
        products[sku] = {"sku": sku, "productFamily": "Serverless", "attributes": {
            "servicecode": "AWSLambda", "regionCode": REGION, "group": group,
            "usagetype": PREFIX + group.replace("AWS-Lambda-", "Lambda-")}}
        terms[sku] = {f"{sku}.JRTCKXETXF": {"priceDimensions": {
            f"{sku}.JRTCKXETXF.{i}": {"unit": "Lambda-GB-Second", "beginRange": b, "endRange": e,
                                       "pricePerUnit": {"USD": usd}} for i, (b, e, usd) in enumerate(dims)}}}
    # the free tier appears as a zero-priced Global- row: not a rate
    products["FREE"] = {"sku": "FREE", "attributes": {"regionCode": REGION, "group": "AWS-Lambda-Duration",
                                                      "usagetype": "Global-Lambda-GB-Second"}}
    terms["FREE"] = {"FREE.T": {"priceDimensions": {"FREE.T.0": {"beginRange": "0", "endRange": "400000",
                                                                "pricePerUnit": {"USD": "0.0000000000"}}}}}
    return {"formatVersion": "v1.0", "offerCode": "AWSLambda", "version": "20261115000000",
            "publicationDate": "2026-11-15T00:00:00Z", "products": products, "terms": {"OnDemand": terms}}


def test_offer_to_table_prices_to_the_cent(tmp_path: Path) -> None:
    source = tmp_path / "eu-south-2.json"
    source.write_text(json.dumps(offer()))
    out = tmp_path / "aws-lambda.yaml"
    assert main([str(source), "-o", str(out)]) == 0
    table = load_lambda_prices(out)
    assert table.version == "2026-11-15" and "AWSLambda/20261115000000" in table.sources[0]
    arm = table.for_region(REGION, "arm64")
    assert [t.up_to_gb_s for t in arm.duration_tiers] == [D(7_500_000_000), D(18_750_000_000), None]
    assert arm.requests_per_million == D("0.2")
    # 3M requests x 250 ms x 2048 MB on arm64: 1.5M GB-s x 0.0000146667 + 3 x $0.20
    usage = LambdaUsage(requests_per_month=D(3_000_000), mean_duration_ms=D(250))
    cost = lambda_monthly_cost(usage, LambdaConfig(memory_mb=2048, architecture="arm64", region=REGION), table=table)
    expected = D(1_500_000) * D("0.0000146667") + 3 * D("0.20")
    assert cost.total_usd == expected.quantize(D("0.01"), rounding=ROUND_HALF_UP) == D("22.60")
    # provisioned concurrency 2 x 1 GB all month, x86: 2 x 730 x 3600 GB-s x 0.0000045834, plus what it serves
    pc = lambda_monthly_cost(LambdaUsage(D(0), D(100)), LambdaConfig(memory_mb=1024, region=REGION,
                                                                        provisioned_concurrency=2), table=table)
    assert pc.components["provisioned_concurrency"].quantize(D("0.01")) == \
        (D(2 * 730 * 3600) * D("0.0000045834")).quantize(D("0.01"))


def test_a_region_without_duration_rates_is_refused(tmp_path: Path) -> None:
    partial = {k: v for k, v in RATES.items() if k != "AWS-Lambda-Duration-ARM"}
    source = tmp_path / "partial.json"
    source.write_text(json.dumps(offer(partial)))
    with pytest.raises(PriceListError, match=r"region eu-south-2 arm64: no duration_tiers rate"):
        build_table([source])
    not_offer = tmp_path / "other.json"
    not_offer.write_text("{}")
    assert main([str(not_offer)]) == 2
