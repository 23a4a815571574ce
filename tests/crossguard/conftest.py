"""Shared fixtures: one real protocol-pack process per test module (started as the CLI would)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crossguard_helpers import PROJECT, PROTOCOL_PACK, STACK

from preflight.crossguard.run import PackSession


@pytest.fixture(scope="module")
def protocol_session() -> Iterator[PackSession]:
    with PackSession(PROTOCOL_PACK, stack=STACK, project=PROJECT, stack_config={"app:greeting": "hello"},
                     stack_tags={"team": "platform"}, call_timeout=20.0) as session:
        yield session
