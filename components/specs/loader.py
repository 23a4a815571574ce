"""Load every declaration in `services/` (and the stack's overlays), all errors of all files together.

If any declaration is invalid, `DeclarationErrors` is raised and the caller registers nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from guardrails_core.safe_input import UnsafeInputError, resolve_inside
from guardrails_core.settings import StackSettings, stack_file
from guardrails_core.source import DECLARATION_INPUT, format_source

from components.specs import function, knative
from components.specs.annotations import AnnotationKeys
from components.specs.errors import DeclarationError, DeclarationErrors, shown
from components.specs.overlays import merge_patch, overlay_key
from components.specs.yaml_source import SourceDocument, read_documents

OVERLAYS_DIR = "overlays"
SUPPORTED = f"{knative.API_VERSION} {knative.KIND}, {function.API_VERSION} {function.KIND}"


@dataclass(frozen=True)
class Declaration:
    kind: Literal["knative", "lambda"]
    name: str
    file: str  # relative to the project directory
    line: int
    spec: knative.KnativeServiceSpec | function.FunctionSpec
    overlays: tuple[str, ...] = ()
    document: dict = field(default_factory=dict)  # the YAML document with overlays applied
    # The parsed documents (declaration, overlay) for line look-ups; not part of the declaration's identity.
    origin: SourceDocument | None = field(default=None, compare=False, repr=False)
    overlay: SourceDocument | None = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        return format_source(self.file, self.line)

    def locate(self, path: Sequence[str | int]) -> tuple[str, int]:
        """File and line of a field path: the overlay's line when the overlay set that field, else the
        declaration's (the deepest existing node on the path; the document's start when nothing matches)."""
        if self.overlay is not None and path and _has_path(self.overlay.data, path):
            return self.overlay.file, self.overlay.line_of(path)
        if self.origin is None:
            return self.file, self.line
        return self.file, self.origin.line_of(path)

    def component_inputs(self) -> dict:
        """What the component registers as its own inputs: the declaration, for every later stage."""
        return {DECLARATION_INPUT: {"source": self.source, "document": self.document}}


def declaration_files(services_dir: Path) -> list[Path]:
    """Every `*.yaml`/`*.yml` entry under the folder except overlays; not filtered by file type on purpose, so a
    FIFO or a symlink out of the repository is reported (by `_read`) instead of silently skipped."""
    files = [p for p in services_dir.rglob("*") if p.suffix in (".yaml", ".yml") and not p.is_dir()]
    return sorted(p for p in files if OVERLAYS_DIR not in p.relative_to(services_dir).parts)


def services_folder(project_dir: Path, stack: str, settings: StackSettings) -> Path:
    """The declarations folder (`guardrails:servicesDir`), which must be a folder inside the project."""
    try:
        return resolve_inside(project_dir, settings.services_dir, kind="dir")
    except UnsafeInputError as exc:
        origin = stack_file(project_dir, stack).relative_to(project_dir).as_posix()
        raise DeclarationErrors([DeclarationError(
            origin, None, "guardrails:servicesDir",
            f"declarations folder {shown(settings.services_dir)} {exc}")]) from None


def load_declarations(project_dir: Path, stack: str, settings: StackSettings,
                      on_file: Callable[[], None] | None = None) -> list[Declaration]:
    """Every declaration of the stack, overlays applied, validated (all errors at once). `on_file` is called after
    each declaration file (progress)."""
    project_dir = Path(project_dir).resolve()
    services_dir = services_folder(project_dir, stack, settings)
    keys = AnnotationKeys(settings.annotation_domain)
    levels = settings.data_classification.levels
    errors: list[DeclarationError] = []

    overlays, overlay_errors = _read_overlays(project_dir, services_dir / OVERLAYS_DIR / stack)
    errors.extend(overlay_errors)
    used_overlays: set[tuple[str, str, str]] = set()
    declarations: list[Declaration] = []
    for path in declaration_files(services_dir):
        rel = path.relative_to(project_dir).as_posix()
        docs, file_errors = _read(project_dir, rel)
        errors.extend(file_errors)
        for doc in docs:
            decl, doc_errors = _parse(doc, keys, levels, project_dir, overlays, used_overlays)
            errors.extend(doc_errors)
            if decl is not None:
                declarations.append(decl)
        if on_file is not None:
            on_file()

    for key, doc in overlays.items():
        if key not in used_overlays:
            errors.append(DeclarationError(doc.file, doc.line, "metadata.name",
                                           f"overlay targets {key[1]} {key[2]!r}, which no declaration defines"))
    errors.extend(_duplicates(declarations))
    if errors:
        raise DeclarationErrors(errors)
    return declarations


def _read(project_dir: Path, rel: str) -> tuple[list[SourceDocument], list[DeclarationError]]:
    try:
        path = resolve_inside(project_dir, rel)
    except UnsafeInputError as exc:
        return [], [DeclarationError(rel, None, "", f"refused: the file {exc}")]
    return read_documents(path, rel)


def _read_overlays(project_dir: Path, folder: Path) -> tuple[dict, list[DeclarationError]]:
    overlays: dict[tuple[str, str, str], SourceDocument] = {}
    errors: list[DeclarationError] = []
    if not folder.is_dir():
        return overlays, errors
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and not p.is_dir()):
        docs, file_errors = _read(project_dir, path.relative_to(project_dir).as_posix())
        errors.extend(file_errors)
        for doc in docs:
            key = overlay_key(doc.data) if isinstance(doc.data, dict) else None
            if key is None:
                errors.append(DeclarationError(doc.file, doc.line, "metadata.name",
                                               "an overlay needs apiVersion, kind and metadata.name of its target"))
            elif key in overlays:
                first = overlays[key].file
                errors.append(DeclarationError(doc.file, doc.line, "metadata.name",
                                               f"second overlay for {key[1]} {key[2]!r} (first in {first})"))
            else:
                overlays[key] = doc
    return overlays, errors


def _parse(doc, keys, levels, project_dir, overlays, used_overlays):
    if not isinstance(doc.data, dict):
        found = type(doc.data).__name__
        return None, [DeclarationError(doc.file, doc.line, "", f"a declaration must be a mapping, found {found}; "
                                                               f"supported: {SUPPORTED}")]
    applied: tuple[str, ...] = ()
    origin, overlay = doc, None
    key = overlay_key(doc.data)
    if key is not None and key in overlays:
        used_overlays.add(key)
        overlay = overlays[key]
        doc = replace(doc, data=merge_patch(doc.data, overlay.data))
        applied = (overlay.file,)
    api, kind = doc.data.get("apiVersion"), doc.data.get("kind")
    if api == knative.API_VERSION and kind == knative.KIND:
        spec, errors = knative.parse_knative_service(doc, keys, levels)
        decl_kind = "knative"
    elif api == function.API_VERSION and kind == function.KIND:
        spec, errors = function.parse_function(doc, keys, levels, project_dir)
        decl_kind = "lambda"
    else:
        return None, [DeclarationError(doc.file, doc.line, "apiVersion",
                                       f"unsupported apiVersion/kind {api!r}/{kind!r}; supported: {SUPPORTED}")]
    if spec is None:
        return None, errors
    return Declaration(decl_kind, spec.name, doc.file, doc.line, spec, applied, doc.data, origin, overlay), errors


def _has_path(data: object, path: Sequence[str | int]) -> bool:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


def _duplicates(declarations: list[Declaration]) -> list[DeclarationError]:
    seen: dict[tuple[str, str], Declaration] = {}
    errors = []
    for decl in declarations:
        key = (decl.kind, decl.name)
        if key in seen:
            errors.append(DeclarationError(decl.file, decl.line, "metadata.name",
                                           f"{decl.name!r} is declared twice (also at {seen[key].source})"))
        else:
            seen[key] = decl
    return errors
