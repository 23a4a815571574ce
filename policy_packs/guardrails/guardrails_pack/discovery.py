"""Find every `controls/<area>/<control>/control.py` and load its `CONTROL`."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from guardrails_pack.control import Control, ResourceControl, StackControl

CONTROLS_DIR = Path(__file__).resolve().parent / "controls"


class ControlLoadError(RuntimeError):
    """A control folder that cannot be used (names the file and what is wrong)."""


@dataclass(frozen=True)
class ControlUnit:
    control: Control
    folder: Path

    @property
    def fixtures_dir(self) -> Path:
        return self.folder / "fixtures"

    @property
    def expected_file(self) -> Path:
        return self.folder / "expected.yaml"


def expected_folder_name(control_id: str) -> str:
    return control_id.replace(".", "_").replace("-", "_")


def _load_module(path: Path) -> object:
    relative = path.relative_to(CONTROLS_DIR).with_suffix("")
    module_name = "guardrails_pack.controls." + ".".join(relative.parts)
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ControlLoadError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise ControlLoadError(f"{path}: import failed: {type(exc).__name__}: {exc}") from exc
    return module


@lru_cache(maxsize=4)
def discover_units(controls_dir: Path = CONTROLS_DIR) -> tuple[ControlUnit, ...]:
    """All control units, sorted by id. Duplicate ids or misnamed folders are errors (fail closed)."""
    units: list[ControlUnit] = []
    seen: dict[str, Path] = {}
    for path in sorted(controls_dir.glob("*/*/control.py")):
        module = _load_module(path)
        control = getattr(module, "CONTROL", None)
        if not isinstance(control, ResourceControl | StackControl):
            raise ControlLoadError(f"{path}: must define CONTROL = ResourceControl(...) or StackControl(...)")
        if control.id in seen:
            raise ControlLoadError(f"{path}: control id {control.id!r} already defined in {seen[control.id]}")
        area = path.parent.parent.name
        if control.area != area:
            raise ControlLoadError(f"{path}: id {control.id!r} must start with its area folder '{area}.'")
        if path.parent.name != expected_folder_name(control.id):
            raise ControlLoadError(
                f"{path}: folder must be named {expected_folder_name(control.id)!r} for id {control.id!r}"
            )
        seen[control.id] = path
        units.append(ControlUnit(control=control, folder=path.parent))
    if not units:
        raise ControlLoadError(f"{controls_dir}: no controls found (expected <area>/<control>/control.py)")
    return tuple(sorted(units, key=lambda u: u.control.id))


def discover_controls() -> list[Control]:
    return [u.control for u in discover_units()]
