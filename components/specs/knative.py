"""Knative `serving.knative.dev/v1` Service declarations, as users already write them.

The manifest is validated against the real CRD schema (made strict: a field the API server would silently prune is
an error here), plus what the CRD cannot express: image references, annotation values, traffic percentages.
The manifest itself passes through untouched; the component only adds labels, annotations and traffic.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from components.specs import kubernetes as k8s
from components.specs.annotations import AnnotationKeys, autoscaling_value, check_annotations
from components.specs.errors import DeclarationError, format_path, is_sensitive, shown
from components.specs.images import image_problem
from components.specs.yaml_source import SourceDocument

if TYPE_CHECKING:
    import jsonschema

API_VERSION = "serving.knative.dev/v1"
KIND = "Service"
_METADATA_FIELDS = {"name", "namespace", "labels", "annotations"}


class Canary(BaseModel):
    model_config = ConfigDict(frozen=True)
    percent: int  # traffic to the latest revision
    stable_revision: str


class KnativeServiceSpec(BaseModel):
    """What the component needs from a validated Knative declaration."""

    model_config = ConfigDict(frozen=True)
    name: str
    namespace: str | None
    manifest: dict[str, Any]
    annotations: dict[str, str]  # metadata.annotations of the Service
    template_annotations: dict[str, str]
    cost_center: str | None
    project_id: str | None
    owner: str | None
    data_classification: str | None
    pci_scope: bool
    compliance_scope: list[str]
    canary: Canary | None
    min_scale: int | None
    max_scale: int | None


@cache
def crd_schema(strict: bool = True) -> dict[str, Any]:
    """The Knative Service v1 OpenAPI schema; `strict` forbids fields the API server would prune."""
    text = resources.files("components.specs").joinpath("schemas/knative-service-v1.openapi.json").read_text()
    schema = json.loads(text)
    if not strict:
        return schema
    # The CRD keeps unknown fields of the template's ObjectMeta; a typo there (`annotationz`) would silently drop
    # every autoscaling annotation, so strict mode treats it like any other object.
    template_meta = schema["properties"]["spec"]["properties"]["template"]["properties"]["metadata"]
    template_meta.pop("x-kubernetes-preserve-unknown-fields", None)
    return _forbid_unknown(schema)


def _forbid_unknown(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _forbid_unknown(v) for k, v in node.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in out
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_forbid_unknown(v) for v in node]
    return node


@cache
def _validator(strict: bool = True) -> jsonschema.protocols.Validator:
    # Imported here: the program's processes get the declarations already validated and never need it (~0.3 s).
    import jsonschema

    schema = crd_schema(strict)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def schema_errors(manifest: dict[str, Any], strict: bool = True) -> list[tuple[list[str | int], str]]:
    """(path, message) for every CRD schema violation of a manifest (metadata is checked separately)."""
    out = []
    for err in sorted(_validator(strict).iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and err.validator_value is False:
            allowed = ", ".join(sorted(err.schema.get("properties", {})))
            extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
            for key in extra:
                out.append(([*path, key], f"unknown field {shown(key)} (a typo? allowed here: {allowed})"))
            continue
        if is_sensitive(path):  # jsonschema's message quotes the value
            out.append((path, f"must satisfy {err.validator}: {shown(err.validator_value)} (value not shown)"))
        else:  # jsonschema's own words when short; a huge instance is summarised, not printed
            out.append((path, err.message if len(err.message) < 200 else
                        f"must satisfy {err.validator}: {shown(err.validator_value)}, found {shown(err.instance)}"))
    return out


def parse_knative_service(doc: SourceDocument, keys: AnnotationKeys, levels: list[str]) -> tuple[
    KnativeServiceSpec | None, list[DeclarationError]
]:
    manifest = doc.data
    errors: list[DeclarationError] = []

    def err(path: list[str | int], message: str) -> None:
        errors.append(DeclarationError(doc.file, doc.line_of(path), format_path(path), message))

    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        err(["metadata"], "required: a mapping with at least `name`")
        return None, errors
    _check_metadata(metadata, err)
    for path, message in schema_errors({k: v for k, v in manifest.items() if k != "metadata"}):
        err(path, message)

    # Type errors were reported by the schema above; the semantic checks below look only at well-typed parts.
    template_annotations = _mapping(_get(manifest, "spec", "template", "metadata", "annotations"))
    for key, problem in check_annotations(template_annotations, keys, levels):
        err(["spec", "template", "metadata", "annotations", key], problem)
    for key, problem in check_annotations(_mapping(metadata.get("annotations")), keys, levels):
        err(["metadata", "annotations", key], problem)

    template_meta = _mapping(_get(manifest, "spec", "template", "metadata"))
    for field, check in (("labels", k8s.labels_problems), ("annotations", k8s.annotations_problems)):
        for path, problem in check(_mapping(template_meta.get(field))):
            err(["spec", "template", "metadata", field, *path], problem)
    template_spec = _get(manifest, "spec", "template", "spec")
    if isinstance(template_spec, dict):
        for path, problem in k8s.template_spec_problems(template_spec):
            err(["spec", "template", "spec", *path], problem)
    elif template_spec is None:
        err(["spec", "template", "spec", "containers"], "at least one container is required")
    containers = _get(manifest, "spec", "template", "spec", "containers")
    if isinstance(containers, list):
        for i, container in enumerate(containers):
            if isinstance(container, dict) and (problem := image_problem(container.get("image"))):
                err(["spec", "template", "spec", "containers", i, "image"], problem)

    traffic = _get(manifest, "spec", "traffic")
    if isinstance(traffic, list):
        for path, problem in k8s.traffic_problems(traffic):
            err(["spec", "traffic", *path], problem)

    if errors:
        return None, errors
    return _build_spec(manifest, keys, err), errors


def _check_metadata(metadata: dict[str, Any], err: Any) -> None:
    for key in metadata:
        if key not in _METADATA_FIELDS:
            err(["metadata", key], f"not allowed in a declaration; allowed: {', '.join(sorted(_METADATA_FIELDS))}")
    name = metadata.get("name")
    if not isinstance(name, str) or not k8s.DNS1035_LABEL.fullmatch(name):
        err(["metadata", "name"],
            f"must be a DNS-1035 label (lowercase letters, digits, '-', ≤63), found {shown(name)}")
    namespace = metadata.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not k8s.DNS1123_LABEL.fullmatch(namespace)):
        err(["metadata", "namespace"], f"must be a DNS-1123 label, found {shown(namespace)}")
    for field, check in (("labels", k8s.labels_problems), ("annotations", k8s.annotations_problems)):
        value = metadata.get(field)
        if value is not None and not isinstance(value, dict):
            err(["metadata", field], f"must be a mapping of strings, found {type(value).__name__}")
        elif isinstance(value, dict):
            for path, problem in check(value):
                err(["metadata", field, *path], problem)


def _build_spec(manifest: dict[str, Any], keys: AnnotationKeys, err: Any) -> KnativeServiceSpec | None:
    metadata = manifest["metadata"]
    annotations = dict(metadata.get("annotations") or {})
    template_annotations = dict((_get(manifest, "spec", "template", "metadata") or {}).get("annotations") or {})
    scope = [p.strip() for p in annotations.get(keys.security_key("compliance-scope"), "").split(",") if p.strip()]
    pci = annotations.get(keys.security_key("pci-scope")) == "true"
    if pci and "pci" not in scope:
        scope.append("pci")

    canary = None
    percent = annotations.get(keys.rollout_key("canary-percent"))
    stable = annotations.get(keys.rollout_key("stable-revision"))
    if percent is not None or stable is not None:
        if percent is None or stable is None:
            missing = "canary-percent" if percent is None else "stable-revision"
            err(["metadata", "annotations"], f"a canary needs both {keys.rollout}canary-percent and "
                f"{keys.rollout}stable-revision; {missing} is missing")
            return None
        if _get(manifest, "spec", "traffic"):
            err(["spec", "traffic"], "declare traffic with spec.traffic or with the canary annotations, not both")
            return None
        if not 0 <= int(percent) <= 100:
            err(["metadata", "annotations", keys.rollout_key("canary-percent")],
                f"must be 0..100, found {shown(percent)}")
            return None
        canary = Canary(percent=int(percent), stable_revision=stable)

    def scale(name: str) -> int | None:
        value = autoscaling_value(template_annotations, name)
        return int(value) if value is not None else None

    min_scale, max_scale = scale("min-scale"), scale("max-scale")
    if min_scale is not None and max_scale and min_scale > max_scale:
        err(["spec", "template", "metadata", "annotations"], f"min-scale {min_scale} is above max-scale {max_scale}")
        return None
    return KnativeServiceSpec(
        name=metadata["name"],
        namespace=metadata.get("namespace"),
        manifest=copy.deepcopy(manifest),
        annotations=annotations,
        template_annotations=template_annotations,
        cost_center=annotations.get(keys.finops_key("cost-center")),
        project_id=annotations.get(keys.finops_key("project-id")),
        owner=annotations.get(keys.finops_key("owner")),
        data_classification=annotations.get(keys.data_classification()),
        pci_scope=pci,
        compliance_scope=scope,
        canary=canary,
        min_scale=min_scale,
        max_scale=max_scale,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
