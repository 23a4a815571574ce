"""The last deployed plan per stack (`.preflight-cache/baseline/<stack>.pickle`), the 'previous state' that change
risk and anomaly checks compare against. Written after a successful `preflight up`."""

from __future__ import annotations

import pickle
from pathlib import Path

from preflight.engine.base import PlannedResource


def _path(project_dir: Path, stack: str) -> Path:
    return Path(project_dir) / ".preflight-cache" / "baseline" / f"{stack}.pickle"


def load(project_dir: Path, stack: str) -> list[PlannedResource] | None:
    path = _path(project_dir, stack)
    if not path.exists():
        return None
    return pickle.loads(path.read_bytes())


def save(project_dir: Path, stack: str, resources: list[PlannedResource]) -> None:
    path = _path(project_dir, stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(resources))
