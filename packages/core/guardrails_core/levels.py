"""Severity and enforcement levels, in one order: least to most severe."""

from __future__ import annotations

from typing import Literal

Severity = Literal["low", "medium", "high", "critical"]
EnforcementLevel = Literal["advisory", "mandatory", "remediate", "disabled"]

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
SEVERITIES_MOST_SEVERE_FIRST: tuple[str, ...] = tuple(reversed(SEVERITIES))
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}  # higher = more severe
ENFORCEMENT_LEVELS: tuple[str, ...] = ("advisory", "mandatory", "remediate", "disabled")
