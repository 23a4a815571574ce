"""What a control sees (`ResourceContext` / `StackContext`) and the helpers controls share.

Props arrive exactly as pulumi-policy hands them to a policy: read-only `Mapping`/`Sequence` proxies that
raise `UnknownValueError` when a preview-time unknown is read. Helpers therefore test for
`Mapping`/`Sequence`, never `dict`/`list`, and never swallow that exception (the pack wrapper reports it).
Malformed input raises `ControlInputError` with the property path, which the wrapper turns into a violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails_core.settings import StackSettings
from guardrails_core.types import KNATIVE_SERVICE

from guardrails_pack.options import PROJECT_DIR_OPTION
from guardrails_pack.speed import shared

__all__ = [
    "KNATIVE_SERVICE",
    "ContainerRef",
    "ControlInputError",
    "ImageRef",
    "ResourceContext",
    "StackContext",
    "StackResource",
    "annotation",
    "get_in",
    "iter_containers",
    "parse_cpu_millis",
    "parse_image",
    "parse_memory_bytes",
    "pod_spec",
    "scale_annotation",
    "template_metadata",
]


class ControlInputError(ValueError):
    """The resource does not have the shape the control needs (names the property path)."""


class MissingOptionError(ValueError):
    """A policy option the control needs was not configured (names the option)."""


_MISSING_PROJECT_DIR = (
    f"policy option {PROJECT_DIR_OPTION!r} is not set: this control reads files of the project (declared "
    "evidence, usage history, previous state); preflight sets it, or pass it with --policy-pack-config "
    "(`preflight policy-config --stack <stack>` writes one)")


class UnsetProjectDir:
    """Stands for the project directory when the option is not set: harmless until a file must be read, then
    every use (`/`, `os.fspath`, `Path(...)`) raises MissingOptionError, so the control fails closed."""

    def __truediv__(self, other: object) -> Path:
        raise MissingOptionError(_MISSING_PROJECT_DIR)

    def __fspath__(self) -> str:
        raise MissingOptionError(_MISSING_PROJECT_DIR)

    def __repr__(self) -> str:
        return "<project_dir not set>"


def project_dir_option(config: Mapping[str, Any]) -> Path | UnsetProjectDir:
    """The pack-wide `project_dir` option (an UnsetProjectDir when missing: see there)."""
    value = config.get(PROJECT_DIR_OPTION)
    if not isinstance(value, str) or not value.strip():
        return UnsetProjectDir()
    return Path(value)


# ---------------------------------------------------------------- generic property access


# Types already known to be (or not to be) mappings / sequences: the same answer as the ABC checks, without them
# (~100 checks per resource per control walk; pulumi-policy's proxies are ABC subclasses).
_MAPPING_TYPES: set[type] = {dict}
_LIST_TYPES: set[type] = {list, tuple}


def is_mapping(value: Any) -> bool:
    kind = type(value)
    if kind in _MAPPING_TYPES:
        return True
    if isinstance(value, Mapping):
        _MAPPING_TYPES.add(kind)
        return True
    return False


def is_list(value: Any) -> bool:
    kind = type(value)
    if kind in _LIST_TYPES:
        return True
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        _LIST_TYPES.add(kind)
        return True
    return False


def get_in(obj: Any, path: str, default: Any = None) -> Any:
    """`get_in(props, "spec.template.spec")`; a missing key gives `default`, a wrong type raises."""
    current = obj
    for depth, key in enumerate(path.split(".")):
        if current is None:
            return default
        if not is_mapping(current):
            where = ".".join(path.split(".")[:depth]) or "<root>"
            raise ControlInputError(f"{where} must be a mapping (found {type(current).__name__})")
        # One look-up per step: `key in proxy` is a look-up too, and reading an unknown raises from either.
        try:
            current = current[key]
        except KeyError:
            return default
    return default if current is None else current


def mapping_at(obj: Any, path: str) -> Mapping[str, Any]:
    """Like `get_in` but the value must be a mapping when present; missing gives `{}`."""
    value = get_in(obj, path, {})
    if not is_mapping(value):
        raise ControlInputError(f"{path} must be a mapping (found {type(value).__name__})")
    return value


def list_at(obj: Any, path: str) -> Sequence[Any]:
    value = get_in(obj, path, [])
    if not is_list(value):
        raise ControlInputError(f"{path} must be a list (found {type(value).__name__})")
    return value


# ---------------------------------------------------------------- Knative pod template


def pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """`spec.template.spec` of a Knative Service: the pod spec every `pod.*` control inspects."""
    spec = get_in(props, "spec.template.spec")
    if spec is None:
        raise ControlInputError("spec.template.spec is missing (a Knative Service needs a revision template)")
    if not is_mapping(spec):
        raise ControlInputError(f"spec.template.spec must be a mapping (found {type(spec).__name__})")
    return spec


def template_metadata(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """`spec.template.metadata` (labels/annotations of every Revision); `{}` when absent."""
    return mapping_at(props, "spec.template.metadata")


@dataclass(frozen=True)
class ContainerRef:
    path: str  # e.g. "spec.template.spec.containers[0]"
    name: str  # container name, or "#0" when unnamed (Knative names a single container itself)
    container: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"container '{self.name}' ({self.path})"

    def get(self, path: str, default: Any = None) -> Any:
        try:
            return get_in(self.container, path, default)
        except ControlInputError as exc:
            raise ControlInputError(f"{self.path}.{exc}") from exc


def iter_containers(spec: Mapping[str, Any], include_init: bool = True) -> Iterator[ContainerRef]:
    """Every container (and init container) of a pod spec; a pod spec with no containers is an error."""
    base = "spec.template.spec"
    try:
        containers = list_at(spec, "containers")
        init_containers = list_at(spec, "initContainers") if include_init else []
    except ControlInputError as exc:
        raise ControlInputError(f"{base}.{exc}") from exc
    if len(containers) == 0:
        raise ControlInputError(f"{base}.containers is missing or empty (a revision needs at least one container)")
    groups: list[tuple[str, Sequence[Any]]] = [("containers", containers)]
    if include_init:
        groups.append(("initContainers", init_containers))
    for key, items in groups:
        for index in range(len(items)):
            item = items[index]
            path = f"{base}.{key}[{index}]"
            if not is_mapping(item):
                raise ControlInputError(f"{path} must be a mapping (found {type(item).__name__})")
            name = item["name"] if "name" in item and item["name"] else f"#{index}"
            yield ContainerRef(path=path, name=str(name), container=item)


def pod_security_context(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        return mapping_at(spec, "securityContext")
    except ControlInputError as exc:
        raise ControlInputError(f"spec.template.spec.{exc}") from exc


def container_security_context(ref: ContainerRef) -> Mapping[str, Any]:
    try:
        return mapping_at(ref.container, "securityContext")
    except ControlInputError as exc:
        raise ControlInputError(f"{ref.path}.{exc}") from exc


def pod_volumes(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, volume) for every `spec.template.spec.volumes[i]`."""
    try:
        volumes = list_at(spec, "volumes")
    except ControlInputError as exc:
        raise ControlInputError(f"spec.template.spec.{exc}") from exc
    for index in range(len(volumes)):
        path = f"spec.template.spec.volumes[{index}]"
        if not is_mapping(volumes[index]):
            raise ControlInputError(f"{path} must be a mapping (found {type(volumes[index]).__name__})")
        yield path, volumes[index]


def container_list(ref: ContainerRef, key: str) -> Sequence[Any]:
    """A list field of a container (`env`, `ports`, `volumeMounts`, ...), `[]` when absent."""
    try:
        return list_at(ref.container, key)
    except ControlInputError as exc:
        raise ControlInputError(f"{ref.path}.{exc}") from exc


def effective_security_value(spec: Mapping[str, Any], ref: ContainerRef, key: str) -> Any:
    """Container-level securityContext wins over pod-level (Kubernetes semantics)."""
    container_sc = container_security_context(ref)
    if key in container_sc and container_sc[key] is not None:
        return container_sc[key]
    pod_sc = pod_security_context(spec)
    return pod_sc[key] if key in pod_sc else None


# ---------------------------------------------------------------- annotations, labels, scale


def annotation(props: Mapping[str, Any], key: str) -> str | None:
    """An annotation from the ksvc metadata, else from the revision template metadata."""
    for where in ("metadata.annotations", "spec.template.metadata.annotations"):
        values = mapping_at(props, where)
        if key in values and values[key] is not None:
            return str(values[key])
    return None


def label(props: Mapping[str, Any], key: str) -> str | None:
    for where in ("metadata.labels", "spec.template.metadata.labels"):
        values = mapping_at(props, where)
        if key in values and values[key] is not None:
            return str(values[key])
    return None


# Knative accepts both spellings; `min-scale`/`max-scale` are current, `minScale`/`maxScale` legacy.
SCALE_KEYS: dict[str, tuple[str, str]] = {
    "min": ("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/minScale"),
    "max": ("autoscaling.knative.dev/max-scale", "autoscaling.knative.dev/maxScale"),
}


@dataclass(frozen=True)
class ScaleValue:
    value: int | None  # None when unset
    key: str | None  # which spelling carried it
    conflict: str | None  # set when both spellings are present with different values


def scale_annotation(props: Mapping[str, Any], which: str) -> ScaleValue:
    """min/max scale from the revision template annotations, honouring both spellings."""
    annotations = mapping_at(props, "spec.template.metadata.annotations")
    found: dict[str, str] = {}
    for key in SCALE_KEYS[which]:
        if key in annotations and annotations[key] is not None:
            found[key] = str(annotations[key]).strip()
    if not found:
        return ScaleValue(None, None, None)
    conflict = None
    if len(set(found.values())) > 1:
        conflict = " vs ".join(f"{k}={v!r}" for k, v in found.items())
    key, raw = next(iter(found.items()))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ControlInputError(
            f"spec.template.metadata.annotations[{key}] must be an integer (found {raw!r})"
        ) from exc
    return ScaleValue(value, key, conflict)


# ---------------------------------------------------------------- quantities


_CPU_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m?)$")
_MEM_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m)?$")
_MEM_FACTORS: dict[str, float] = {
    "": 1, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def parse_cpu_millis(quantity: Any, where: str = "cpu") -> float:
    """"3000m" -> 3000.0, "1.5" -> 1500.0, 2 -> 2000.0."""
    if isinstance(quantity, bool):
        raise ControlInputError(f"{where} must be a CPU quantity like '500m' or '2' (found {quantity!r})")
    if isinstance(quantity, int | float):
        return float(quantity) * 1000
    match = _CPU_RE.match(str(quantity).strip())
    if not match:
        raise ControlInputError(f"{where} must be a CPU quantity like '500m' or '2' (found {quantity!r})")
    number = float(match.group(1))
    return number if match.group(2) == "m" else number * 1000


def parse_memory_bytes(quantity: Any, where: str = "memory") -> float:
    """"6Gi" -> 6442450944, "512M" -> 512e6, 1024 -> 1024."""
    if isinstance(quantity, bool):
        raise ControlInputError(f"{where} must be a memory quantity like '512Mi' or '2Gi' (found {quantity!r})")
    if isinstance(quantity, int | float):
        return float(quantity)
    match = _MEM_RE.match(str(quantity).strip())
    if not match:
        raise ControlInputError(f"{where} must be a memory quantity like '512Mi' or '2Gi' (found {quantity!r})")
    return float(match.group(1)) * _MEM_FACTORS[match.group(2) or ""]


# ---------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageRef:
    original: str
    registry: str  # "docker.io" for Docker Hub short names
    repository: str  # "library/nginx", "apexlogic/x"
    tag: str | None
    digest: str | None  # "sha256:..."

    @property
    def full_name(self) -> str:
        return f"{self.registry}/{self.repository}"


_PLACEHOLDER_RE = re.compile(r"[{}<>\s]")


def parse_image(reference: Any, where: str = "image") -> ImageRef:
    """Parse an OCI reference the way the container runtime resolves it (Docker Hub for short names)."""
    if not isinstance(reference, str) or not reference.strip():
        raise ControlInputError(f"{where} must be a non-empty image reference (found {reference!r})")
    ref = reference.strip()
    if "://" in ref:
        raise ControlInputError(
            f"{where} {ref!r} is a build-tool reference (e.g. ko://), not a registry image; "
            "resolve it to registry/repository@sha256:... before deploying"
        )
    if _PLACEHOLDER_RE.search(ref):
        raise ControlInputError(f"{where} {ref!r} contains a template placeholder; fill it in before deploying")
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not re.match(r"^sha256:[0-9a-f]{64}$", digest):
            raise ControlInputError(f"{where} digest {digest!r} must be sha256: followed by 64 hex characters")
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    parts = ref.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, repo_parts = first, parts[1:]
    else:
        registry, repo_parts = "docker.io", parts
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
    if registry == "docker.io" and len(repo_parts) == 1:
        repo_parts = ["library", *repo_parts]
    repository = "/".join(repo_parts)
    if not repository or not re.match(r"^[a-z0-9]+([._/-][a-z0-9]+)*$", repository.replace("__", "_")):
        raise ControlInputError(f"{where} {reference!r} has an invalid repository name {repository!r}")
    return ImageRef(original=reference, registry=registry, repository=repository, tag=tag, digest=digest)


def registry_allowed(image: ImageRef, allowed: Sequence[str]) -> bool:
    """An allow-list entry is a registry (`ghcr.io`) or a registry/repo prefix (`docker.io/apexlogic`)."""
    name = image.full_name
    for entry in allowed:
        normalized = entry.strip().rstrip("/")
        if normalized.startswith(("index.docker.io/", "registry-1.docker.io/")):
            normalized = "docker.io/" + normalized.split("/", 1)[1]
        if name == normalized or name.startswith(normalized + "/"):
            return True
    return False


# ---------------------------------------------------------------- contexts


@dataclass(frozen=True)
class ResourceContext:
    """Everything a resource control may look at."""

    resource_type: str
    props: Mapping[str, Any]
    name: str
    urn: str
    settings: StackSettings
    config: Mapping[str, Any] = field(default_factory=dict)  # per-control options (config_schema)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # config_schema defaults

    @property
    def environment(self) -> str:
        return self.settings.environment

    @property
    def annotation_domain(self) -> str:
        return self.settings.annotation_domain

    def option(self, key: str) -> Any:
        if key in self.config:
            return self.config[key]
        if key in self.defaults:
            return self.defaults[key]
        raise KeyError(f"option {key!r} is not in the control's config_schema")

    @property
    def project_dir(self) -> Path | UnsetProjectDir:
        return project_dir_option(self.config)

    def domain_key(self, prefix: str, name: str) -> str:
        """`domain_key("security", "data-classification")` -> `security.apexlogic.com/data-classification`."""
        return f"{prefix}.{self.annotation_domain}/{name}"

    def domain_annotation(self, prefix: str, name: str) -> str | None:
        return annotation(self.props, self.domain_key(prefix, name))

    def data_classification(self) -> str | None:
        """From `security.D/data-classification`, else the `data-classification` label the component adds."""
        value = self.domain_annotation("security", "data-classification")
        if value is None:
            value = label(self.props, "data-classification")
        return value.strip().lower() if value is not None else None

    # Knative shortcuts. Within one Analyze request every control gets the same props object, so the pod spec and
    # the container list are found once per request (speed.shared); an error is not kept, and raises again.
    def pod_spec(self) -> Mapping[str, Any]:
        return shared("pod_spec", self.props, lambda: pod_spec(self.props))

    def template_metadata(self) -> Mapping[str, Any]:
        return template_metadata(self.props)

    def containers(self, include_init: bool = True) -> Iterator[ContainerRef]:
        spec = self.pod_spec()
        try:
            found = shared(("containers", include_init), self.props,
                           lambda: tuple(iter_containers(spec, include_init)))
        except Exception:  # noqa: BLE001 - a malformed container: iterate as before, raising where it always did
            return iter_containers(spec, include_init)
        return iter(found)


@dataclass(frozen=True)
class StackResource:
    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    # The parent's URN: the predictions find a function's component (its declaration) and siblings through it
    parent: str | None = None


@dataclass(frozen=True)
class StackContext:
    resources: Sequence[StackResource]
    settings: StackSettings
    config: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def environment(self) -> str:
        return self.settings.environment

    def of_type(self, resource_type: str) -> list[StackResource]:
        return [r for r in self.resources if r.type == resource_type]

    def option(self, key: str) -> Any:
        if key in self.config:
            return self.config[key]
        if key in self.defaults:
            return self.defaults[key]
        raise KeyError(f"option {key!r} is not in the control's config_schema")

    @property
    def project_dir(self) -> Path | UnsetProjectDir:
        return project_dir_option(self.config)
