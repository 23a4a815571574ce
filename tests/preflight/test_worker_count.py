"""Program shards and pack processes are sized to the cores this process may use, capped, overridable."""

from __future__ import annotations

import os

import pytest

from preflight.engine import offline


def test_defaults_to_the_available_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(offline.WORKERS_ENV, raising=False)
    assert offline.worker_count() == min(offline.MAX_WORKERS, len(os.sched_getaffinity(0)))


def test_environment_and_argument_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(offline.WORKERS_ENV, "3")
    assert offline.worker_count() == 3
    assert offline.worker_count(1) == 1  # an explicit argument wins
    monkeypatch.setenv(offline.WORKERS_ENV, "64")
    assert offline.worker_count() == offline.MAX_WORKERS


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(offline.WORKERS_ENV, raw)
    with pytest.raises(ValueError, match=offline.WORKERS_ENV):
        offline.worker_count()
