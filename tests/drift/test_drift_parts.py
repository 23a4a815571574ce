"""The parts of drift that need no cluster: field ownership from managedFields, field changes, the refresh
document's shape, loop evidence, and adopt patches (applied with the real `git apply`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from preflight.adopt import AdoptError, FieldEdit, adopt_patch
from preflight.drift import DriftInputError, FieldDrift, ResourceDrift, field_changes, mark_loops, parse_refresh
from preflight.managed_fields import owners

LIVE = {
    "metadata": {
        "name": "svc",
        "managedFields": [
            {"manager": "pulumi-kubernetes-1a2b", "operation": "Apply", "time": "2026-12-01T10:00:00Z",
             "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {}},
                                                    "f:metadata": {"f:annotations": {"f:a/min": {}}}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-01T11:00:00Z",
             "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:a/max": {}}}}},
                          "f:metadata": {"f:finalizers": {'v:"keep"': {}}}}},
            {"manager": "hpa-controller", "operation": "Update", "time": "2026-12-01T12:00:00Z",
             "fieldsType": "FieldsV1", "subresource": "status",
             "fieldsV1": {"f:spec": {"f:ports": {'k:{"port":8080,"protocol":"TCP"}': {"f:name": {}}}}}},
        ],
        "finalizers": ["keep"],
    },
    "spec": {"ports": [{"port": 8080, "protocol": "TCP", "name": "http"}],
             "template": {"metadata": {"annotations": {"a/min": "1", "a/max": "500"}},
                          "spec": {"containers": [{"name": "app", "image": "x"}]}}},
}


@pytest.mark.parametrize(("path", "manager"), [
    (("spec", "template", "metadata", "annotations", "a/max"), "kubectl-edit"),
    (("spec", "template", "metadata", "annotations", "a/min"), "pulumi-kubernetes-1a2b"),
    # an atomic list is owned whole: every path below it belongs to its owner
    (("spec", "template", "spec", "containers", 0, "image"), "pulumi-kubernetes-1a2b"),
    (("metadata", "finalizers", 0), "kubectl-edit"),  # v: set member
    (("spec", "ports", 0, "name"), "hpa-controller"),  # k: associative list item
])
def test_owner_of_a_field(path: tuple, manager: str) -> None:
    assert [o.manager for o in owners(LIVE, path)] == [manager]


def test_a_field_nobody_owns_has_no_owner() -> None:
    assert owners(LIVE, ("spec", "template", "metadata", "annotations", "a/other")) == []
    assert owners(LIVE, ("spec", "ports", 0, "protocol")) == []


def test_field_changes_skip_what_the_server_rewrites() -> None:
    old = {"metadata": {"resourceVersion": "1", "generation": 1, "labels": {"a": "1", "b": "2"}},
           "spec": {"x": [1, 2], "y": {"z": 1}}, "status": {"ready": True}}
    new = {"metadata": {"resourceVersion": "9", "generation": 2, "labels": {"a": "1", "c": "3"}},
           "spec": {"x": [1, 3], "y": {"z": 1}}, "status": {"ready": False}}
    assert sorted(field_changes(old, new), key=str) == sorted([
        (("metadata", "labels", "b"), "2", None), (("metadata", "labels", "c"), None, "3"),
        (("spec", "x", 1), 2, 3)], key=str)


@pytest.mark.parametrize(("doc", "where"), [
    ([], "expected an object with a `steps` list"),
    ({"steps": ["x"]}, "steps[0]"),
    ({"steps": [{"op": "update", "urn": "u", "oldState": {"urn": "u"}}]}, "steps[0].oldState.type"),
])
def test_a_document_that_is_not_a_refresh_preview_names_the_field(doc: object, where: str) -> None:
    with pytest.raises(DriftInputError, match=re.escape(where)):
        parse_refresh(doc)


def _drift(applied: str, manager: str) -> ResourceDrift:
    from preflight.managed_fields import FieldOwner

    item = FieldDrift(("spec", "x"), "5", "50", "services/a.yaml", 3, ("spec", "x"),
                      FieldOwner(manager, "Update", "2026-12-01T12:00:00Z"))
    return ResourceDrift("urn:a", "t", "a", "update", "services/a.yaml", 1, "pulumi-kubernetes-1", applied, [item])


def test_a_loop_needs_a_reapply_between_two_drifts() -> None:
    ledger: dict = {}
    assert mark_loops([_drift("2026-12-01T10:00:00Z", "bot")], ledger) == []
    # the same drift seen again without Pulumi re-applying in between: still the same drift, not a loop
    assert mark_loops([_drift("2026-12-01T10:00:00Z", "bot")], ledger) == []
    [loop] = mark_loops([_drift("2026-12-01T11:00:00Z", "bot")], ledger)
    assert loop["other_managers"] == ["bot"] and loop["pulumi_manager"] == "pulumi-kubernetes-1"
    assert loop["times"] == 2 and loop["file"] == "services/a.yaml" and loop["line"] == 3


DECLARATION = """\
# first doc: kept as written
apiVersion: v1
kind: Thing
metadata:
  name: other
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc   # the service name
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: '5'   # agreed with SRE
    spec:
      containers:
      - name: app
        image: ghcr.io/apexlogic/app:v1
"""


def test_adopt_patch_edits_only_the_drifted_lines_and_applies_with_git(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "svc.yaml").write_text(DECLARATION)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    edits = [FieldEdit("services/svc.yaml", 7, ("spec", "template", "metadata", "annotations",
                                                 "autoscaling.knative.dev/max-scale"), "50"),
             FieldEdit("services/svc.yaml", 7, ("spec", "template", "spec", "containers", 0, "image"),
                       "ghcr.io/apexlogic/app:v2"),
             FieldEdit("services/svc.yaml", 7, ("spec", "template", "spec", "containerConcurrency"), 10)]
    patch = adopt_patch(tmp_path, edits)
    (tmp_path / "p.diff").write_text(patch)
    subprocess.run(["git", "apply", "p.diff"], cwd=tmp_path, check=True)
    after = (tmp_path / "services" / "svc.yaml").read_text()
    # ruamel keeps a trailing comment at its column: the padding before it may shrink when the value grows.
    changed = [re.sub(r"\s+", " ", line) for line in patch.splitlines()
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # (a new key goes first among its siblings, so the hunks' order is not the edits' order)
    assert sorted(changed) == sorted(["- autoscaling.knative.dev/max-scale: '5' # agreed with SRE",
                                      "+ autoscaling.knative.dev/max-scale: '50' # agreed with SRE",
                                      "- image: ghcr.io/apexlogic/app:v1", "+ image: ghcr.io/apexlogic/app:v2",
                                      "+ containerConcurrency: 10"])
    docs = list(yaml.safe_load_all(after))
    assert docs[0]["metadata"]["name"] == "other" and docs[1]["spec"]["template"]["spec"]["containerConcurrency"] == 10


def test_adopt_removes_a_field_removed_live_and_keeps_strings_strings(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text("metadata:\n  labels:\n    a: x\n    b: y\nspec: {}\n")
    patch = adopt_patch(tmp_path, [FieldEdit("svc.yaml", 1, ("metadata", "labels", "b"), None),
                                   FieldEdit("svc.yaml", 1, ("metadata", "labels", "a"), "true")])
    assert "-    b: y" in patch and '+    a: "true"' in patch  # "true" unquoted would turn into a boolean


def test_adopt_names_the_file_and_field_it_cannot_reach(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text("spec:\n  containers: []\n")
    with pytest.raises(AdoptError, match=r"svc.yaml:1: spec.containers.3.image"):
        adopt_patch(tmp_path, [FieldEdit("svc.yaml", 1, ("spec", "containers", 3, "image"), "x")])


def test_drift_and_audit_show_costs_in_the_stack_currency() -> None:
    """The JSON's figures stay USD; the console shows them at the stated rate (ECB 2024-12-24, 0.962001 EUR)."""
    from rich.console import Console

    from preflight import audit_cli, drift_cli

    eur = {"code": "EUR", "per_usd": 0.962001, "date": "2024-12-24", "source": "ECB"}
    drift = {"stack": "dev", "resources_checked": 1, "drifted": True, "resources": [], "currency": eur,
             "cost": {"svc": {"deployed": {"p50": 44.47, "p90": 50.0}, "live": {"p50": 88.94, "p90": 100.0},
                              "delta": {"p50": 44.47, "p90": 50.0}}}}
    console = Console(record=True, width=200, color_system=None)
    drift_cli.render(drift, console)
    shown = console.export_text()
    # $44.47 x 0.962001 = 42.78 EUR; $88.94 -> 85.56 EUR; $50.00 -> 48.10 EUR; $100.00 -> 96.20 EUR
    assert "cost (EUR per month, deployed → live):" in shown
    assert "svc: P50 42.78 → 85.56 (+42.78), P90 48.10 → 96.20 (+48.10)" in shown
    audit = {"stack": "dev", "source": "live state", "resources": 1, "deployed": True, "violations": [],
             "gate": {"decision": "pass", "reasons": []}, "currency": eur,
             "predictions": {"svc": {"cost_usd_month": {"p10": 10.0, "p50": 44.47, "p90": 150.0}}}}
    console = Console(record=True, width=200, color_system=None)
    audit_cli.render(audit, console)
    # the report's rounding: cents below 100, whole units above ($150 x 0.962001 = 144.30 -> 144 EUR)
    assert "cost svc: P10 9.62 EUR, P50 42.78 EUR, P90 144 EUR per month" in console.export_text()
