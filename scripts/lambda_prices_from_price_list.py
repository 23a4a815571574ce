"""Regenerate the Lambda price table (lambda-prices/v1) from AWS Price List offer files, offline.

The AWS Price List publishes one offer file per region (`.../offers/v1.0/aws/AWSLambda/current/<region>/index.json`,
or `aws pricing get-products --service-code AWSLambda` pages saved as JSON). Download them wherever you may, then:

    .venv/bin/python scripts/lambda_prices_from_price_list.py offers/*.json \\
        -o packages/predict/guardrails_predict/pricing/data/aws-lambda.yaml

Each region's rates come from the price groups the Lambda bill uses (the groups Infracost also filters on):
requests `AWS-Lambda-Requests[-ARM]` (per request, stored per million), duration `AWS-Lambda-Duration[-ARM]`
(per GB-second, one tier per beginRange/endRange), ephemeral storage `AWS-Lambda-Storage-Duration[-ARM]`,
provisioned concurrency `AWS-Lambda-Provisioned-Concurrency[-ARM]` and its duration
`AWS-Lambda-Duration-Provisioned[-ARM]`. Free-tier rows (`Global-` usage types, a zero price) are not rates. A
region missing requests or tier-1 duration for an architecture is an error naming the file: the table never
guesses. The table's `version` is the newest offer's publication date and `sources` names every offer read.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

GROUPS = {
    "AWS-Lambda-Requests": "requests",
    "AWS-Lambda-Duration": "duration",
    "AWS-Lambda-Storage-Duration": "ephemeral_storage_per_gb_s",
    "AWS-Lambda-Provisioned-Concurrency": "provisioned_concurrency_per_gb_s",
    "AWS-Lambda-Duration-Provisioned": "provisioned_duration_per_gb_s",
}
# AWS's published free tier (https://aws.amazon.com/lambda/pricing/); the offer files carry it as zero-priced rows.
FREE_TIER = {"requests": 1_000_000, "gb_seconds": 400_000}


class PriceListError(ValueError):
    """An offer file that cannot be turned into rates (the message names the file and what is missing)."""


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _bound(raw: str) -> Decimal | None:
    return None if raw in ("Inf", "", None) else Decimal(raw)


def rates_from_offer(doc: dict[str, Any], where: str) -> dict[str, dict[str, dict[str, Any]]]:
    """region -> architecture -> the table's fields, from one offer document."""
    products, on_demand = doc.get("products"), (doc.get("terms") or {}).get("OnDemand")
    if not isinstance(products, dict) or not isinstance(on_demand, dict):
        raise PriceListError(f"{where}: not an AWS Price List offer (needs `products` and `terms.OnDemand`)")
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for sku, product in products.items():
        attributes = product.get("attributes") or {}
        group = str(attributes.get("group", ""))
        arch = "arm64" if group.endswith("-ARM") else "x86_64"
        item = GROUPS.get(group.removesuffix("-ARM"))
        region = attributes.get("regionCode")
        if item is None or not region or str(attributes.get("usagetype", "")).startswith("Global-"):
            continue
        dimensions = [d for term in (on_demand.get(sku) or {}).values()
                      for d in (term.get("priceDimensions") or {}).values()]
        prices = [(Decimal(d.get("beginRange", "0")), _bound(d.get("endRange", "Inf")),
                   Decimal(d["pricePerUnit"]["USD"])) for d in dimensions if "USD" in (d.get("pricePerUnit") or {})]
        prices = [p for p in prices if p[2] > 0]  # zero rows are the free tier, not a rate
        if not prices:
            continue
        entry = found.setdefault(region, {}).setdefault(arch, {})
        if item == "requests":
            entry["requests_per_million"] = _text(prices[0][2] * 1_000_000)
        elif item == "duration":
            entry["duration_tiers"] = [{"up_to_gb_s": None if end is None else int(end), "usd_per_gb_s": _text(rate)}
                                       for _, end, rate in sorted(prices, key=lambda p: p[0])]
        else:
            entry[item] = _text(prices[0][2])
    return found


def build_table(paths: list[Path]) -> dict[str, Any]:
    regions: dict[str, dict[str, dict[str, Any]]] = {}
    sources, versions = [], []
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PriceListError(f"{path}: cannot read the offer ({exc})") from None
        for region, arches in rates_from_offer(doc, str(path)).items():
            for arch, entry in arches.items():
                regions.setdefault(region, {}).setdefault(arch, {}).update(entry)
        version = str(doc.get("publicationDate") or doc.get("version") or "")
        versions.append(version)
        sources.append(f"AWS Price List offer {doc.get('offerCode', 'AWSLambda')}/{doc.get('version', '?')} "
                       f"({path.name}, published {version or '?'})")
    if not regions:
        raise PriceListError(f"{', '.join(map(str, paths))}: no Lambda rates found (offerCode AWSLambda expected)")
    for region, arches in sorted(regions.items()):
        for arch in ("x86_64", "arm64"):
            entry = arches.get(arch) or {}
            missing = [key for key in ("requests_per_million", "duration_tiers") if key not in entry]
            if missing:
                raise PriceListError(f"region {region} {arch}: no {' or '.join(missing)} rate in the offers read")
        arches["confidence"] = "H (AWS Price List offer)"
    return {
        "schema": "lambda-prices/v1",
        "version": max(versions)[:10] if any(versions) else "unknown",
        "currency": "USD",
        "sources": sources,
        "free_tier": FREE_TIER,
        "regions": {region: regions[region] for region in sorted(regions)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("offers", nargs="+", type=Path, help="AWS Price List offer files (JSON) for AWSLambda")
    parser.add_argument("-o", "--output", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)
    try:
        table = build_table(args.offers)
    except PriceListError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = ("# Generated by scripts/lambda_prices_from_price_list.py from AWS Price List offers (see sources).\n"
            + yaml.safe_dump(table, sort_keys=False, width=120))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {len(table['regions'])} regions, version {table['version']}", file=sys.stderr)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
