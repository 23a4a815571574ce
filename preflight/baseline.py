"""The previous state that change-risk and anomaly checks compare against: the stack's last deployed state, read
from the stack's own Pulumi backend (`pulumi stack export`), so a laptop and CI compare against the same thing.

No local copy is kept: the backend is the record. With no backend in use (offline engine, no `pulumi login`), a
throw-away backend (`--backend temp`) or a stack never deployed, the checks run as for a first deploy, and the
report says so (`previous_state`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.engine.base import PlannedResource


@dataclass
class PreviousState:
    """The stack's last deployed state, or why there is none."""

    resources: list[PlannedResource] | None  # None: nothing deployed yet (first deploy)
    source: str  # e.g. "pulumi stack export (file:///…, stack cluster)" or "first deploy (...)"
    details: dict[str, Any] = field(default_factory=dict)

    def as_report(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"source": self.source, "first_deploy": self.resources is None}
        if self.resources is not None:
            doc["resources"] = len(self.resources)
        return doc


def load(project_dir: Path, stack: str, backend: Any, errors: list[str]) -> PreviousState:
    """The previous state of `stack` (as the user names it) on `backend` (pulumi_cli.Backend or None). A backend
    that cannot be read is an error (it blocks the gate: the comparison would silently be against nothing)."""
    if backend is None:
        return PreviousState(None, "first deploy (no Pulumi backend in use: nothing deployed to compare with)")
    from preflight.engine.pulumi_cli import PulumiCliError, previous_state

    try:
        return previous_state(project_dir, stack, backend)
    except PulumiCliError as exc:
        errors.append(f"previous state: {exc}")
    except Exception as exc:  # noqa: BLE001 - the CLI's own failure (backend unreachable, bad credentials): fail closed
        errors.append(f"previous state: reading stack {stack} from {backend.display()} failed: "
                      f"{str(exc).strip()[-500:]}")
    return PreviousState(None, f"unknown (the backend {backend.display()} could not be read)")
