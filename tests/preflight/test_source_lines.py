"""Findings point at the line of the field they are about, in the file that set it; declarations are read once.

End to end through `preflight preview` (program, real CrossGuard pack, predictions) on throw-away projects.
"""

from __future__ import annotations

from pathlib import Path

from tests.preflight.helpers import full_project, preflight, report

PRIVILEGED = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: scorer
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
    finops.apexlogic.com/project-id: "project-nova"
    security.apexlogic.com/data-classification: "internal"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/maxScale: "10"
    spec:
      containers:
        - name: app
          image: ghcr.io/apexlogic/scorer:1.0
          resources:
            requests: {cpu: 500m, memory: 512Mi}
          securityContext:
            privileged: true
"""

PROD_OVERLAY = """\
# prod: a merge patch on the declaration of the same name
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: scorer
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/maxScale: "500"
"""


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def _violations(doc: dict, policy: str) -> list[dict]:
    return [v for v in doc["violations"] if v["policy"] == policy]


def test_privileged_violation_points_at_the_privileged_line(tmp_path: Path) -> None:
    project = full_project(tmp_path, {"scorer.yaml": PRIVILEGED})
    done = preflight(project, "preview", "--stack", "dev", "--engine", "offline", "--quiet")
    assert done.returncode in (0, 1), done.stderr
    found = _violations(report(project, "dev"), "pod-no-privileged")
    assert len(found) == 1
    assert found[0]["file"] == "services/scorer.yaml"
    assert found[0]["line"] == _line_of(PRIVILEGED, "privileged: true")
    assert found[0]["field"] == "spec.template.spec.containers[0].securityContext.privileged"


def test_overlay_set_field_points_into_the_overlay(tmp_path: Path) -> None:
    project = full_project(tmp_path, {"scorer.yaml": PRIVILEGED, "overlays/prod/scorer.yaml": PROD_OVERLAY})
    done = preflight(project, "preview", "--stack", "prod", "--engine", "offline", "--quiet")
    assert done.returncode in (0, 1), done.stderr
    doc = report(project, "prod")
    found = _violations(doc, "fin-maxscale-cap-per-env")
    assert found, sorted({v["policy"] for v in doc["violations"]})
    assert found[0]["file"] == "services/overlays/prod/scorer.yaml"
    assert found[0]["line"] == _line_of(PROD_OVERLAY, "maxScale")
    # A field the overlay does not touch still points into the declaration.
    privileged = _violations(doc, "pod-no-privileged")
    assert privileged[0]["file"] == "services/scorer.yaml"


FUNCTION = """\
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: embedder
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
    finops.apexlogic.com/project-id: "project-nova"
    finops.apexlogic.com/owner: "ml-platform"
    finops.apexlogic.com/expected-requests-per-month: "2000000"
    finops.apexlogic.com/expected-p50-latency-ms: "180"
    security.apexlogic.com/data-classification: "internal"
spec:
  runtime: python3.12
  handler: app.handler
  code: {path: functions/embeddings_batch}
  memoryMib: 1024
  timeoutSeconds: 60
  architecture: arm64
  logRetentionDays: 30
"""

FUNCTION_OVERLAY = """\
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: embedder
  annotations:
    finops.apexlogic.com/expected-requests-per-month: "999999"
"""


def test_prod_overlay_on_a_lambda_changes_its_prediction(tmp_path: Path) -> None:
    project = full_project(tmp_path, {"embedder.yaml": FUNCTION, "overlays/prod/embedder.yaml": FUNCTION_OVERLAY})
    done = preflight(project, "preview", "--stack", "prod", "--engine", "offline", "--quiet")
    assert done.returncode in (0, 1), done.stderr
    requests = report(project, "prod")["predictions"]["embedder"]["workload"]["requests_per_month"]
    assert requests["p50"] == 999999, requests  # the overlay's value, not the 2000000 in the base file
