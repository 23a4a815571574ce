"""What a planned resource ships (images, zips, model weights) and the evidence its declaration names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails_core.safe_input import UnsafeInputError, resolve_inside
from guardrails_core.settings import StackSettings
from guardrails_core.source import DECLARATION_INPUT, SOURCE_KEY
from guardrails_core.types import FUNCTION_COMPONENT, KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_core.values import UNKNOWN, reveal

# A Knative Service carries its annotations itself. A Lambda function's supply-chain annotations live only in its
# declaration, which its `ServerlessFunction` component registers as its inputs (overlays applied): the
# component is the resource judged, so nothing is re-read from disk and a stack overlay counts.
SUPPORTED_TYPES = (KNATIVE_SERVICE, FUNCTION_COMPONENT)
SOURCE_TAG = SOURCE_KEY
VISIBILITY_LABEL = "networking.knative.dev/visibility"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"  # Pulumi's wire signature for archives
_SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"

_DIGEST_RE = re.compile(r"^sha256:([a-fA-F0-9]{64})$")


@dataclass(frozen=True)
class ImageRef:
    raw: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None  # "sha256:<hex>" when pinned


def parse_image_ref(ref: str) -> ImageRef:
    """Split `[registry/]repo[:tag][@sha256:hex]` the way Docker does (no registry part ⇒ docker.io)."""
    name, _, digest = ref.partition("@")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", name
    tag = None
    last_colon = path.rfind(":")
    if last_colon > path.rfind("/"):
        path, tag = path[:last_colon], path[last_colon + 1 :]
    return ImageRef(raw=ref, registry=registry, repository=path, tag=tag, digest=digest or None)


def normalise_digest(value: str) -> str | None:
    """`sha256:<hex>` in lower case, or None when `value` is not a sha256 digest."""
    match = _DIGEST_RE.match(value.strip())
    return f"sha256:{match.group(1).lower()}" if match else None


@dataclass
class Artifact:
    """One thing to verify. `location` is an image ref, a repo-relative path, or a URI."""

    service: str
    kind: str  # image | zip | model
    location: str
    digest: str | None = None  # sha256:<hex> when known
    bundle: str | None = None  # repo-relative bundle path from the declaration
    bundle_key: str | None = None  # the annotation that named it (for messages)
    local_path: Path | None = None  # the artifact's bytes on disk, when it is a local file
    problem: str | None = None  # why the digest cannot be established (unknown, not pinned, ...)


@dataclass
class ServiceContext:
    service: str
    urn: str
    resource_type: str
    annotations: dict[str, str] = field(default_factory=dict)
    classification: str = "confidential"
    classification_source: str = "default (none declared; treated as confidential)"
    pci: bool = False
    exposure: str = "public"
    exposure_reason: str = ""
    source: str | None = None  # "services/x.yaml:12"


# Under CrossGuard, props are read-only Mapping/Sequence proxies (not dict/list) that raise on unknowns, so
# shape tests use the abstract types; treating a proxy as "absent" would silently pass a resource.
def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _map_at(obj: Any, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if _is_map(obj) else None
    return value if _is_map(value) else {}


def _str_map(value: Any) -> dict[str, str]:
    value = reveal(value)
    if not _is_map(value):
        return {}
    return {str(k): str(reveal(v)) for k, v in value.items() if isinstance(reveal(v), str | int | float | bool)}


def function_declaration(props: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(declaration document, `file:line`) from a `ServerlessFunction` component's inputs; ({}, None) without."""
    declaration = _map_at(props, DECLARATION_INPUT)
    source = declaration.get("source")
    return _map_at(declaration, "document"), source if isinstance(source, str) else None


def function_props(document: Mapping[str, Any]) -> dict[str, Any]:
    """The artifact-bearing inputs the component gives `aws:lambda/function:Function`, from its declaration:
    `code.image` -> packageType Image + imageUri, `code.path` -> a Zip of that folder."""
    code = _map_at(_map_at(document, "spec"), "code")
    if code.get("image") is not None:
        return {"packageType": "Image", "imageUri": code.get("image")}
    return {"packageType": "Zip", "code": {"path": code["path"]} if isinstance(code.get("path"), str) else None}


def service_context(resource: dict[str, Any], settings: StackSettings, project_dir: Path) -> ServiceContext:
    domain = settings.annotation_domain
    props = resource.get("props") or {}
    rtype = resource.get("type", "")
    if rtype == KNATIVE_SERVICE:
        metadata = _map_at(props, "metadata")
        name = metadata.get("name")
        service = name if isinstance(name, str) else resource.get("name", "?")
        annotations = _str_map(metadata.get("annotations"))
        labels = _str_map(metadata.get("labels"))
        source = annotations.get(SOURCE_TAG) or resource.get("source")
    else:  # FUNCTION_COMPONENT
        document, source = function_declaration(props)
        metadata = _map_at(document, "metadata")
        name = metadata.get("name")
        service = name if isinstance(name, str) else resource.get("name", "?")
        annotations = _str_map(metadata.get("annotations"))
        labels = _str_map(metadata.get("labels"))
        source = source or resource.get("source")
    ctx = ServiceContext(service=service, urn=resource.get("urn", ""), resource_type=rtype, annotations=annotations)
    ctx.source = source
    declared = annotations.get(f"security.{domain}/data-classification") or labels.get("data-classification")
    if declared:
        ctx.classification = declared.strip().lower()
        ctx.classification_source = "declared"
    pci = annotations.get(f"security.{domain}/pci-scope") or labels.get("pci-scope") or "false"
    ctx.pci = pci.strip().lower() == "true"
    if rtype == KNATIVE_SERVICE:
        if labels.get(VISIBILITY_LABEL) == "cluster-local":
            ctx.exposure, ctx.exposure_reason = "cluster-local", f"label {VISIBILITY_LABEL}=cluster-local"
        else:
            ctx.exposure, ctx.exposure_reason = "public", f"no {VISIBILITY_LABEL}=cluster-local label (Knative default)"
    else:
        # A function may be fronted by a URL or API later; without proof it is private we assume reachable.
        ctx.exposure, ctx.exposure_reason = "public", "Lambda function (assumed reachable)"
    return ctx


def _annotation(ctx: ServiceContext, domain: str, key: str) -> tuple[str, str | None]:
    full = f"security.{domain}/{key}"
    return full, ctx.annotations.get(full)


def _image_artifact(ctx: ServiceContext, image: Any, bundle_key: str, bundle: str | None) -> Artifact:
    if image is UNKNOWN or not isinstance(image, str) or not image:
        return Artifact(ctx.service, "image", "<unknown>", bundle=bundle, bundle_key=bundle_key,
                        problem="image reference is unknown at preview, so its digest cannot be checked")
    ref = parse_image_ref(image)
    digest = normalise_digest(ref.digest) if ref.digest else None
    problem = None if digest else "image is not pinned by digest (@sha256:...), so no signature can be bound to it"
    return Artifact(ctx.service, "image", image, digest=digest, bundle=bundle, bundle_key=bundle_key, problem=problem)


def _archive_path(code: Any) -> str | None:
    code = reveal(code)
    if isinstance(code, str):
        return code
    if _is_map(code):
        if code.get(_SPECIAL_SIG_KEY) == _ARCHIVE_SIG or "path" in code:
            path = code.get("path")
            return path if isinstance(path, str) else None
    path = getattr(code, "path", None)  # pulumi.FileArchive when the engine hands SDK objects through
    return path if isinstance(path, str) else None


def resource_artifacts(ctx: ServiceContext, props: dict[str, Any], domain: str, project_dir: Path) -> list[Artifact]:
    artifacts: list[Artifact] = []
    if ctx.resource_type == KNATIVE_SERVICE:
        pod = _map_at(_map_at(_map_at(props, "spec"), "template"), "spec")
        containers = pod.get("containers") if _is_list(pod.get("containers")) else []
        for index, container in enumerate(containers):
            container = container if _is_map(container) else {}
            cname = container.get("name") if isinstance(container.get("name"), str) else None
            key, bundle = _annotation(ctx, domain, f"signature-bundle.{cname}") if cname else ("", None)
            if bundle is None and index == 0:
                key, bundle = _annotation(ctx, domain, "signature-bundle")
            if not key:
                key = f"security.{domain}/signature-bundle.<container-name>"
            artifacts.append(_image_artifact(ctx, container.get("image"), key, bundle))
    elif ctx.resource_type in (LAMBDA_FUNCTION, FUNCTION_COMPONENT):
        if ctx.resource_type == FUNCTION_COMPONENT:
            props = function_props(function_declaration(props)[0])
        key, bundle = _annotation(ctx, domain, "signature-bundle")
        if reveal(props.get("packageType")) == "Image":
            artifacts.append(_image_artifact(ctx, props.get("imageUri"), key, bundle))
        else:
            location = _archive_path(props.get("code"))
            if location is None:
                artifacts.append(Artifact(ctx.service, "zip", "<unknown>", bundle=bundle, bundle_key=key,
                                          problem="function code archive path is unknown at preview"))
            else:
                local = Path(location) if Path(location).is_absolute() else Path(project_dir) / location
                problem = None
                if local.is_dir():
                    problem = (f"code archive {location} is a directory; sign the built zip and point the "
                               "function at it")
                elif not local.is_file():
                    problem = f"code archive {location} does not exist"
                artifacts.append(Artifact(ctx.service, "zip", location, bundle=bundle, bundle_key=key,
                                          local_path=local if problem is None else None, problem=problem))
    artifacts.extend(_model_artifacts(ctx, domain, project_dir))
    return artifacts


def _model_artifacts(ctx: ServiceContext, domain: str, project_dir: Path) -> list[Artifact]:
    _, location = _annotation(ctx, domain, "model-weights")
    digest_key, declared_digest = _annotation(ctx, domain, "model-weights-digest")
    bundle_key, bundle = _annotation(ctx, domain, "model-weights-bundle")
    if location is None and declared_digest is None and bundle is None:
        return []
    artifact = Artifact(ctx.service, "model", location or "<model weights>", bundle=bundle, bundle_key=bundle_key)
    if declared_digest is not None:
        artifact.digest = normalise_digest(declared_digest)
        if artifact.digest is None:
            artifact.problem = f"{digest_key} {declared_digest!r} is not a digest; allowed: sha256:<64 hex>"
            return [artifact]
    if location is not None and "://" not in location:
        try:
            artifact.local_path = resolve_inside(project_dir, location)
        except UnsafeInputError as exc:
            if (project_dir / location).exists() or artifact.digest is None:
                # a symlink out of the repository, a FIFO...: never hashed into the report
                artifact.problem = f"model weights {location} refused: {exc}" + (
                    f" and no {digest_key} is declared" if artifact.digest is None else "")
    elif artifact.digest is None:
        artifact.problem = f"model weights {location or '(none)'} are remote; declare {digest_key}: sha256:<hex>"
    return [artifact]
