"""Policy exceptions declared on a resource: `security.<domain>/exception.<control-id>` = "ticket=...; expires=...".

Values may be UNKNOWN (preview-time), Secret, wire sentinels or pulumi-policy's own wrappers; nothing here
prints a secret. Bad shapes raise PropertyError naming the field, so the control fails closed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guardrails_core.values import is_unknown, reveal

from guardrails_pack.props import SettingsError, describe

EXCEPTION_TICKET = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")  # Jira-style, e.g. SEC-1234


def reference_date(option: Any = None) -> dt.date:
    """Today; or the control option `reference_date`, else `GUARDRAILS_TODAY` (ISO dates), so fixtures and
    replays of a report are deterministic."""
    if isinstance(option, str) and option.strip():
        try:
            return dt.date.fromisoformat(option.strip())
        except ValueError as exc:
            raise SettingsError(f"option reference_date must be an ISO date (YYYY-MM-DD), got {option!r}") from exc
    forced = os.environ.get("GUARDRAILS_TODAY")
    if forced:
        try:
            return dt.date.fromisoformat(forced)
        except ValueError as exc:
            raise SettingsError(f"GUARDRAILS_TODAY must be an ISO date (YYYY-MM-DD), got {forced!r}") from exc
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class PolicyException:
    key: str
    control_id: str
    ticket: str | None
    expires: dt.date | None
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def exception_key_prefix(domain: str) -> str:
    return f"security.{domain}/exception."


def parse_exception(key: str, raw: Any, domain: str, today: dt.date, max_days: int) -> PolicyException:
    """Parse `ticket=SEC-1; expires=2026-12-31[; reason=...]` and judge it against `today`."""
    control_id = key[len(exception_key_prefix(domain)):]
    problems: list[str] = []
    raw = reveal(raw)
    if is_unknown(raw) or not isinstance(raw, str):
        return PolicyException(key, control_id, None, None,
                               (f"`{key}` must be a string like \"ticket=SEC-123; expires=YYYY-MM-DD\", "
                                f"got {describe(raw)}",))
    fields: dict[str, str] = {}
    for part in re.split(r"[;,]", raw):
        if "=" in part:
            name, _, value = part.partition("=")
            fields[name.strip().lower()] = value.strip()
    ticket = fields.get("ticket")
    if not ticket:
        problems.append(f"`{key}` names no ticket (expected `ticket=ABC-123`)")
    elif not EXCEPTION_TICKET.match(ticket):
        problems.append(f"`{key}` ticket {ticket!r} is not a tracker id like ABC-123")
    expires: dt.date | None = None
    expires_raw = fields.get("expires")
    if not expires_raw:
        problems.append(f"`{key}` has no expiry (expected `expires=YYYY-MM-DD`)")
    else:
        try:
            expires = dt.date.fromisoformat(expires_raw)
        except ValueError:
            problems.append(f"`{key}` expiry {expires_raw!r} is not an ISO date YYYY-MM-DD")
    if expires is not None:
        if expires < today:
            problems.append(f"`{key}` expired on {expires.isoformat()}")
        elif (expires - today).days > max_days:
            problems.append(f"`{key}` expires {expires.isoformat()}, more than {max_days} days after "
                            f"{today.isoformat()}")
    return PolicyException(key, control_id, ticket, expires, tuple(problems))


def exceptions_of(meta: Mapping[str, Any], domain: str, today: dt.date, max_days: int) -> list[PolicyException]:
    prefix = exception_key_prefix(domain)
    return [parse_exception(k, v, domain, today, max_days) for k, v in meta.items()
            if isinstance(k, str) and k.startswith(prefix)]
