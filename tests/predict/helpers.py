"""Planned resources shaped like the components register them (docs/CONTRACTS.md)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from preflight.engine.base import PlannedResource

KSVC_TYPE = "kubernetes:serving.knative.dev/v1:Service"
FN_TYPE = "aws:lambda/function:Function"

KSVC_YAML = """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
  namespace: ai-workloads
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
{extra_annotations}spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/minScale: "{min_scale}"   # keep one warm
        autoscaling.knative.dev/maxScale: "{max_scale}"
        autoscaling.knative.dev/target: "65"
    spec:
      containers:
        - image: apexlogic/multimodal-model:v1.3.0
          resources:
            requests:
              memory: "3Gi"
              cpu: "1500m"
"""

FN_YAML = """apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: {name}
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
{extra_annotations}spec:
  runtime: python3.12
  handler: app.handler
  code:
    path: functions/x
  memoryMib: {memory}
  timeoutSeconds: 60
  architecture: {arch}
  reservedConcurrency: {reserved}
  trigger: queue
"""


def _indent(annotations: dict[str, str], spaces: int) -> str:
    return "".join(f"{' ' * spaces}{k}: \"{v}\"\n" for k, v in annotations.items())


def knative(project: Path, name: str = "inference", *, min_scale: int = 1, max_scale: int = 15,
            annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None,
            environment: str = "prod", memory_request: Any = "3Gi") -> PlannedResource:
    annotations = annotations or {}
    rel = f"services/{name}.yaml"
    (project / "services").mkdir(exist_ok=True)
    (project / rel).write_text(KSVC_YAML.format(name=name, extra_annotations=_indent(annotations, 4),
                                                min_scale=min_scale, max_scale=max_scale))
    props = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "ai-workloads",
                     "labels": {"cost-center": "AI-Product-X", "project-id": "project-nova",
                                "data-classification": "confidential", "environment": environment,
                                **(labels or {})},
                     "annotations": {"finops.apexlogic.com/cost-center": "AI-Product-X", **annotations,
                                     "serverless-guardrails.dev/source": f"{rel}:1"}},
        "spec": {"template": {
            "metadata": {"annotations": {"autoscaling.knative.dev/minScale": str(min_scale),
                                         "autoscaling.knative.dev/maxScale": str(max_scale),
                                         "autoscaling.knative.dev/target": "65"}},
            "spec": {"containers": [{"image": "apexlogic/multimodal-model:v1.3.0",
                                     "resources": {"requests": {"memory": memory_request, "cpu": "1500m"}}}]}}},
    }
    urn = f"urn:pulumi:{environment}::serverless-guardrails::{KSVC_TYPE}::{name}"
    return PlannedResource(urn=urn, type=KSVC_TYPE, name=name, custom=True, parent=None, provider=None,
                           inputs=props, source_file=rel, source_line=1)


def lambda_fn(project: Path, name: str = "embeddings", *, memory: Any = 1024, arch: str = "arm64",
              reserved: int = 10, annotations: dict[str, str] | None = None, cost_center: str | None = "AI-Product-X",
              extra_children: list[PlannedResource] | None = None) -> list[PlannedResource]:
    annotations = annotations or {}
    rel = f"services/{name}.yaml"
    (project / "services").mkdir(exist_ok=True)
    (project / rel).write_text(FN_YAML.format(name=name, extra_annotations=_indent(annotations, 4),
                                              memory=memory if isinstance(memory, int) else 1024, arch=arch,
                                              reserved=reserved))
    parent = f"urn:pulumi:prod::serverless-guardrails::serverless-guardrails:aws:ServerlessFunction::{name}"
    tags = {"project-id": "project-nova", "data-classification": "internal",
            "serverless-guardrails.dev/source": f"{rel}:1"}
    if cost_center:
        tags["cost-center"] = cost_center
    # The component carries its declaration as input, as components/serverless_function.py registers it.
    component = PlannedResource(
        urn=parent, type="serverless-guardrails:aws:ServerlessFunction", name=name, custom=False, parent=None,
        provider=None,
        inputs={"declaration": {"source": f"{rel}:1", "document": yaml.safe_load((project / rel).read_text())}},
        source_file=rel, source_line=1)
    fn = PlannedResource(
        urn=f"{parent}$aws:lambda/function:Function::{name}", type=FN_TYPE, name=name, custom=True, parent=parent,
        provider=None, inputs={"name": name, "memorySize": memory, "timeout": 60, "architectures": [arch],
                               "reservedConcurrentExecutions": reserved, "tags": tags, "role": "<unknown>"},
        source_file=rel, source_line=1)
    return [component, fn, *(extra_children or [])]


def with_inputs(res: PlannedResource, **changes: Any) -> PlannedResource:
    inputs = copy.deepcopy(res.inputs)
    inputs.update(changes)
    return PlannedResource(res.urn, res.type, res.name, res.custom, res.parent, res.provider, inputs,
                           res.source_file, res.source_line)
