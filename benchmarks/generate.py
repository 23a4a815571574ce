"""Generate N synthetic declarations (half Knative Services, half Lambda functions) into a throw-away project."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

KNATIVE = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc-{i:04d}
  annotations:
    finops.apexlogic.com/cost-center: "AI-Team-{team}"
    finops.apexlogic.com/project-id: "project-{team}"
    security.apexlogic.com/data-classification: "{klass}"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "{min_scale}"
        autoscaling.knative.dev/max-scale: "{max_scale}"
        autoscaling.knative.dev/target: "{target}"
    spec:
      containerConcurrency: {cc}
      timeoutSeconds: 120
      containers:
        - image: ghcr.io/apexlogic/model-{i:04d}:1.{i}.0
          resources:
            requests: {{cpu: "{cpu}m", memory: "{mem}Mi"}}
            limits: {{cpu: "{cpu2}m", memory: "{mem}Mi"}}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: {escalate}
"""
LAMBDA = """\
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: fn-{i:04d}
  annotations:
    finops.apexlogic.com/cost-center: "AI-Team-{team}"
    finops.apexlogic.com/project-id: "project-{team}"
    security.apexlogic.com/data-classification: "{klass}"
spec:
  runtime: python3.12
  handler: app.handler
  code: {{path: functions/embeddings_batch}}
  memoryMib: {mem}
  timeoutSeconds: {timeout}
  architecture: {arch}
  reservedConcurrency: {rc}
  logRetentionDays: 30
  trigger: {trigger}
"""
CLASSES = ["public", "internal", "confidential", "restricted"]
TRIGGERS = ["http", "queue", "event", "timer"]


def generate(root: Path, count: int, *, lambda_share: float = 0.5) -> Path:
    """A project at `root` with the repo's program and stacks and `count` generated declarations."""
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "stacks", root / "stacks", dirs_exist_ok=True)
    shutil.copytree(REPO / "functions", root / "functions", dirs_exist_ok=True)
    services = root / "services"
    shutil.rmtree(services, ignore_errors=True)
    services.mkdir()
    lambdas = int(count * lambda_share)
    for i in range(count):
        params = {"i": i, "team": chr(ord("A") + i % 6), "klass": CLASSES[i % 4]}
        if i < lambdas:
            text = LAMBDA.format(**params, mem=128 * (1 + i % 16), timeout=10 + i % 50,
                                 arch=("arm64", "x86_64")[i % 2], rc=1 + i % 20, trigger=TRIGGERS[i % 4])
            (services / f"fn-{i:04d}.yaml").write_text(text)
        else:
            text = KNATIVE.format(**params, min_scale=i % 3, max_scale=3 + i % 10, target=50 + i % 100,
                                  cc=10 * (1 + i % 8), cpu=250 * (1 + i % 4), cpu2=500 * (1 + i % 4),
                                  mem=256 * (1 + i % 8), escalate=("false", "true")[i % 7 == 0])
            (services / f"svc-{i:04d}.yaml").write_text(text)
    return root
