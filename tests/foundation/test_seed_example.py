"""The seed example loads unchanged and renders the expected Knative Service on the local stack."""

from __future__ import annotations

import hashlib

from tests.foundation.helpers import KSVC, REPO, by_type, run

SEED = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: multimodal-ai-inference
  namespace: ai-workloads
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
    finops.apexlogic.com/project-id: "project-nova"
    security.apexlogic.com/data-classification: "confidential"
    security.apexlogic.com/pci-scope: "false"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/minScale: "1"
        autoscaling.knative.dev/maxScale: "15"
        autoscaling.knative.dev/targetBurstCapacity: "250"
        autoscaling.knative.dev/target: "65"
      labels:
        app: multimodal-inference
    spec:
      containers:
        - image: apexlogic/multimodal-model:v1.3.0
          ports:
            - containerPort: 8080
          env:
            - name: MODEL_VERSION
              value: "v1.3.0"
            - name: ENVIRONMENT
              value: "production"
          resources:
            limits:
              memory: "6Gi"
              cpu: "3000m"
            requests:
              memory: "3Gi"
              cpu: "1500m"
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
"""


def test_seed_file_is_committed_unchanged():
    committed = (REPO / "services" / "multimodal-ai-inference.yaml").read_text()
    assert hashlib.sha256(committed.encode()).hexdigest() == hashlib.sha256(SEED.encode()).hexdigest()


def test_local_stack_resource_graph():
    resources = run(REPO, "local")
    types = sorted(r.type for r in resources)
    # local is Knative only: the Lambda declaration in services/ is validated but not registered.
    assert types == [KSVC, "pulumi:providers:kubernetes", "serverless-guardrails:knative:Service"]
    provider = by_type(resources, "pulumi:providers:kubernetes")[0]
    assert provider.name == "default_4_34_2"  # the engine's default provider for pulumi-kubernetes 4.34.2
    assert provider.inputs == {"renderYamlToDirectory": "rendered/local", "version": "4.34.2"}
    component = by_type(resources, "serverless-guardrails:knative:Service")[0]
    ksvc = by_type(resources, KSVC)[0]
    assert ksvc.name == "multimodal-ai-inference"
    assert ksvc.parent == component.urn
    assert ksvc.urn.endswith("serverless-guardrails:knative:Service$kubernetes:serving.knative.dev/v1:Service"
                             "::multimodal-ai-inference")
    assert (ksvc.source_file, ksvc.source_line) == ("services/multimodal-ai-inference.yaml", 1)
    assert (component.source_file, component.source_line) == ("services/multimodal-ai-inference.yaml", 1)


def test_seed_rendering_keeps_the_declaration_and_adds_governance_labels():
    ksvc = by_type(run(REPO, "local"), KSVC)[0].inputs
    assert ksvc["apiVersion"] == "serving.knative.dev/v1" and ksvc["kind"] == "Service"
    meta = ksvc["metadata"]
    assert meta["name"] == "multimodal-ai-inference" and meta["namespace"] == "ai-workloads"
    assert meta["labels"] == {
        "app.kubernetes.io/name": "multimodal-ai-inference",
        "app.kubernetes.io/part-of": "project-nova",
        "app.kubernetes.io/managed-by": "pulumi",
        "environment": "local",
        "cost-center": "AI-Product-X",
        "project-id": "project-nova",
        "data-classification": "confidential",
        "owner": "platform-team",
        "managed-by": "pulumi",
    }
    assert meta["annotations"]["finops.apexlogic.com/cost-center"] == "AI-Product-X"
    assert meta["annotations"]["serverless-guardrails.dev/source"] == "services/multimodal-ai-inference.yaml:1"
    template = ksvc["spec"]["template"]
    assert template["metadata"]["labels"]["app"] == "multimodal-inference"  # the user's own label survives
    assert template["metadata"]["labels"]["environment"] == "local"
    assert template["metadata"]["annotations"] == {
        "autoscaling.knative.dev/minScale": "1",
        "autoscaling.knative.dev/maxScale": "15",
        "autoscaling.knative.dev/targetBurstCapacity": "250",
        "autoscaling.knative.dev/target": "65",
    }
    container = template["spec"]["containers"][0]
    assert container["image"] == "apexlogic/multimodal-model:v1.3.0"
    assert container["resources"] == {"limits": {"memory": "6Gi", "cpu": "3000m"},
                                      "requests": {"memory": "3Gi", "cpu": "1500m"}}
    assert container["securityContext"] == {"runAsNonRoot": True, "allowPrivilegeEscalation": False}
    assert "traffic" not in ksvc["spec"]
