"""KnativeService: a `serving.knative.dev/v1` Service rendered from its declaration plus environment defaults."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pulumi
from guardrails_core.source import SOURCE_KEY
from guardrails_core.types import KNATIVE_COMPONENT
from pulumi_kubernetes.apiextensions import CustomResource

from components.labels import governance_pairs, label_value
from components.specs.knative import KnativeServiceSpec

TYPE_TOKEN = KNATIVE_COMPONENT


@dataclass
class KnativeServiceArgs:
    spec: KnativeServiceSpec
    environment: str
    default_namespace: str
    default_tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None  # "services/<file>.yaml:<line>", recorded as an annotation
    declaration: dict | None = None  # Declaration.component_inputs(): the component's own inputs


def render_manifest(args: KnativeServiceArgs) -> dict[str, Any]:
    """The manifest the cluster receives: the declaration untouched except for added labels/annotations/traffic."""
    spec = args.spec
    manifest = copy.deepcopy(spec.manifest)
    metadata = manifest.setdefault("metadata", {})
    metadata.setdefault("namespace", args.default_namespace)

    pairs = governance_pairs(
        environment=args.environment,
        cost_center=spec.cost_center,
        project_id=spec.project_id,
        owner=spec.owner,
        data_classification=spec.data_classification,
        default_tags=args.default_tags,
    )
    derived = {key: label_value(value) for key, value in pairs.items() if label_value(value)}
    derived["app.kubernetes.io/name"] = spec.name
    derived["app.kubernetes.io/managed-by"] = "pulumi"
    if spec.project_id:
        derived["app.kubernetes.io/part-of"] = label_value(spec.project_id)

    # The declaration's own labels win over derived ones: Git is the source of truth.
    metadata["labels"] = {**derived, **(metadata.get("labels") or {})}
    template = manifest.setdefault("spec", {}).setdefault("template", {})
    template_meta = template.setdefault("metadata", {})
    template_meta["labels"] = {**derived, **(template_meta.get("labels") or {})}
    if args.source:
        metadata["annotations"] = {**(metadata.get("annotations") or {}), SOURCE_KEY: args.source}

    if spec.canary is not None:
        manifest["spec"]["traffic"] = [
            {"revisionName": spec.canary.stable_revision, "percent": 100 - spec.canary.percent, "tag": "stable"},
            {"latestRevision": True, "percent": spec.canary.percent, "tag": "canary"},
        ]
    return manifest


class KnativeService(pulumi.ComponentResource):
    """One Knative Service; its child is the `kubernetes:serving.knative.dev/v1:Service` custom resource."""

    def __init__(self, name: str, args: KnativeServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, args.declaration, opts)
        manifest = render_manifest(args)
        self.manifest = manifest
        self.service = CustomResource(
            name,
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = manifest["metadata"]["namespace"]
        self.register_outputs({"name": manifest["metadata"]["name"], "namespace": self.namespace})
