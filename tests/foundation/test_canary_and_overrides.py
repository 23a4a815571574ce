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


@pytest.mark.parametrize(("extra", "needle"), [
    ('    rollout.apexlogic.com/step: "150"\n',
     r"rollout\.apexlogic\.com/step: must be 1\.\.100 \(percentage points per promotion\), found '150'"),
    ('    rollout.apexlogic.com/kpi.quality: "up > 1"\n',
     r"rollout\.apexlogic\.com/kpi\.quality: must be \"<PromQL using \$revision> <op> <number>\""),
    ('    rollout.apexlogic.com/kpi.Quality: "x{revision_name=\'$revision\'} > 1"\n',
     r"KPI names are lower-case letters, digits and '-'"),
    ('    rollout.apexlogic.com/stepp: "10"\n',
     r"unknown annotation; allowed under rollout\.apexlogic\.com/: canary-percent, kpi\.<name>, stable-revision, step"),
])
def test_rollout_step_and_kpi_annotations_are_validated(tmp_path, extra: str, needle: str):
    text = CANARY.replace("    rollout.apexlogic.com/stable-revision: ranker-00007\n",
                          "    rollout.apexlogic.com/stable-revision: ranker-00007\n" + extra)
    project = make_project(tmp_path, {"ranker.yaml": text})
    with pytest.raises(DeclarationErrors, match=needle):
        load_declarations(project, "local", load_stack_settings(project, "local"))


def test_valid_step_and_kpi_load(tmp_path):
    text = CANARY.replace("    rollout.apexlogic.com/stable-revision: ranker-00007\n",
                          "    rollout.apexlogic.com/stable-revision: ranker-00007\n"
                          '    rollout.apexlogic.com/step: "25"\n'
                          "    rollout.apexlogic.com/kpi.p90-ms: 'histogram_quantile(0.9, sum by (le) (rate("
                          'revision_app_request_latencies_bucket{revision_name="$revision"}[5m]))) < 250\'\n')
    project = make_project(tmp_path, {"ranker.yaml": text})
    (decl,) = load_declarations(project, "local", load_stack_settings(project, "local"))
    assert decl.spec.annotations["rollout.apexlogic.com/step"] == "25"
