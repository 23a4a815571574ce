"""The unit of the guardrails pack: one control = one folder with `control.py` defining `CONTROL`.

Controls are plain Python (no pulumi_policy import) so they can be unit-tested directly; `policies.py`
turns each one into a CrossGuard `ResourceValidationPolicy` / `StackValidationPolicy`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for type hints; avoids an import cycle with context.py
    from guardrails_pack.context import ResourceContext, StackContext

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
# CrossGuard policy names and our ids; the name is the id with "." replaced by "-".
_ID_RE = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9-]*$")
FRAMEWORKS: tuple[str, ...] = ("GDPR", "HIPAA", "PCI-DSS")

# Every policy accepts this option: the project whose files (evidence, usage histories, previous state) the
# controls may read. preflight sets it; a plain `pulumi preview --policy-pack` gets it from --policy-pack-config.
PROJECT_DIR_OPTION = "project_dir"
PROJECT_DIR_SCHEMA: Mapping[str, Any] = {
    "type": "string", "default": "",
    "description": "Project directory that declared evidence files are relative to (set by preflight)",
}


@dataclass(frozen=True)
class StackViolation:
    """A stack control's finding, optionally pinned to one resource (by URN)."""

    message: str
    urn: str | None = None


ResourceCheck = Callable[["ResourceContext"], Iterable[str]]
StackCheck = Callable[["StackContext"], Iterable["str | StackViolation"]]
Remediate = Callable[["ResourceContext"], "dict[str, Any] | None"]


@dataclass(frozen=True, kw_only=True)
class _ControlBase:
    id: str
    description: str
    severity: str
    remediation_steps: str
    url: str
    peer_ids: tuple[str, ...] = ()
    framework: str | None = None
    # Extra per-control options (JSON-schema properties, each with a default); the stack settings come from
    # the engine's stack config (engine_config), the project directory from the pack-wide option.
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The CrossGuard policy name (kebab-case): `pod.no-privileged` -> `pod-no-privileged`."""
        return self.id.replace(".", "-")

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    def _validate_common(self) -> None:
        where = f"control {self.id!r}"
        if not _ID_RE.match(self.id):
            raise ValueError(f"{where}: id must look like '<area>.<kebab-name>' (e.g. 'pod.no-privileged')")
        if self.severity not in SEVERITIES:
            raise ValueError(f"{where}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if not self.description.strip():
            raise ValueError(f"{where}: description is empty")
        if not self.remediation_steps.strip():
            raise ValueError(f"{where}: remediation_steps is empty")
        if not self.url.startswith("https://"):
            raise ValueError(f"{where}: url must be an https:// link to the anchor or Knative/AWS doc")
        if self.framework is not None and self.framework not in FRAMEWORKS:
            raise ValueError(f"{where}: framework {self.framework!r} is not one of {', '.join(FRAMEWORKS)}")
        if isinstance(self.peer_ids, str) or not all(isinstance(p, str) and p for p in self.peer_ids):
            raise ValueError(f"{where}: peer_ids must be a tuple of non-empty strings")
        for key, spec in self.config_schema.items():
            if key in ("enforcementLevel", PROJECT_DIR_OPTION):
                raise ValueError(f"{where}: config_schema may not redefine {key!r} (the pack sets it)")
            if "default" not in spec:
                raise ValueError(f"{where}: config_schema[{key!r}] needs a default (controls read it unset)")


@dataclass(frozen=True, kw_only=True)
class ResourceControl(_ControlBase):
    """Checks one resource at a time. `check` yields violation messages (empty = pass)."""

    resource_types: tuple[str, ...] = ()
    check: ResourceCheck = field(default=lambda ctx: ())
    remediate: Remediate | None = None

    def __post_init__(self) -> None:
        self._validate_common()
        if not self.resource_types:
            raise ValueError(f"control {self.id!r}: resource_types is empty")

    @property
    def kind(self) -> str:
        return "resource"


@dataclass(frozen=True, kw_only=True)
class StackControl(_ControlBase):
    """Checks the whole stack. `check` yields messages or `StackViolation(message, urn)`."""

    resource_types: tuple[str, ...] = ()  # the types it looks at (documentation / catalogue only)
    check: StackCheck = field(default=lambda ctx: ())

    def __post_init__(self) -> None:
        self._validate_common()

    @property
    def kind(self) -> str:
        return "stack"

    @property
    def remediate(self) -> None:
        return None  # CrossGuard cannot remediate stack policies


Control = ResourceControl | StackControl
