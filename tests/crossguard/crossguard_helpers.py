"""Helpers for the CrossGuard driver tests (a unique module name: tests/ folders have no __init__)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.engine.base import PlannedResource

PACKS = Path(__file__).parent / "packs"
PROTOCOL_PACK = PACKS / "protocol_pack"
STACK, PROJECT = "dev", "guardrails-test"


def urn(type_: str, name: str, parent_type: str | None = None) -> str:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"


def resource(type_: str, name: str, inputs: dict[str, Any], *, parent: str | None = None,
             provider: str | None = None) -> PlannedResource:
    return PlannedResource(urn=urn(type_, name), type=type_, name=name, custom=True, parent=parent,
                           provider=provider, inputs=inputs)


