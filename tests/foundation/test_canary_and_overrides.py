"""Knative canary traffic from the declaration, and per-environment overlays."""

from __future__ import annotations

import pytest
from guardrails_core.settings import load_stack_settings

from components.specs import DeclarationErrors, load_declarations
from tests.foundation.helpers import KSVC, REPO, by_type, make_project, run

CANARY = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ranker
  annotations:
    rollout.apexlogic.com/canary-percent: "10"
    rollout.apexlogic.com/stable-revision: ranker-00007
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/apexlogic/ranker:2.0.0
"""


def test_canary_annotations_become_traffic_split(tmp_path):
    ksvc = by_type(run(make_project(tmp_path, {"ranker.yaml": CANARY}), "local"), KSVC)[0].inputs
    assert ksvc["spec"]["traffic"] == [
        {"revisionName": "ranker-00007", "percent": 90, "tag": "stable"},
        {"latestRevision": True, "percent": 10, "tag": "canary"},
    ]
    assert ksvc["metadata"]["namespace"] == "ai-workloads"  # the stack's default namespace


def test_canary_needs_both_annotations(tmp_path):
    text = CANARY.replace("    rollout.apexlogic.com/stable-revision: ranker-00007\n", "")
    project = make_project(tmp_path, {"ranker.yaml": text})
    with pytest.raises(DeclarationErrors, match=r"services/ranker.yaml:5: metadata.annotations: a canary needs both"):
        load_declarations(project, "local", load_stack_settings(project, "local"))


def test_prod_overlay_raises_max_scale_without_copying_the_file():
    prod = by_type(run(REPO, "prod"), KSVC)[0].inputs
    dev = by_type(run(REPO, "dev"), KSVC)[0].inputs
    assert prod["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"] == "30"
    assert dev["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"] == "15"
    assert prod["metadata"]["labels"]["environment"] == "prod"
    assert dev["metadata"]["namespace"] == "ai-workloads"  # declared namespace wins over the stack default


def test_stack_settings_per_environment():
    limits = {s: load_stack_settings(REPO, s).limits.max_scale for s in ("local", "dev", "staging", "prod")}
    assert limits == {"local": 20, "dev": 5, "staging": 10, "prod": 40}
    assert load_stack_settings(REPO, "local").platforms == ["knative"]
    assert load_stack_settings(REPO, "prod").policy.enforcement["high"] == "mandatory"


def test_overlay_for_an_unknown_service_is_an_error(tmp_path):
    project = make_project(tmp_path, {
        "ranker.yaml": CANARY,
        "overlays/local/ghost.yaml": "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: ghost}\n",
    })
    with pytest.raises(DeclarationErrors, match=r"overlays/local/ghost.yaml:1: metadata.name: overlay targets "
                                                r"Service 'ghost', which no declaration defines"):
        load_declarations(project, "local", load_stack_settings(project, "local"))
