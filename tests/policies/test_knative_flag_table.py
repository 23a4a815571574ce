"""The feature-flag table of `kn.flag-gated-fields` against Knative Serving's source and the repo's CRD schema.

Regenerating needs `knative.dev/serving@<version>` in the Go module cache (`.ci/run` downloads it at install time);
without it that test skips unless GUARDRAILS_REQUIRE_KNATIVE_SOURCE=1 (then it fails).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLE_PATH = REPO / "policy_packs/guardrails/guardrails_pack/controls/kn/kn_flag_gated_fields/knative_flags.json"
TABLE: dict[str, Any] = json.loads(TABLE_PATH.read_text())
SCHEMA: dict[str, Any] = json.loads((REPO / "components/specs/schemas/knative-service-v1.openapi.json").read_text())


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_knative_flag_table", REPO / "scripts/gen_knative_flag_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_knative_flag_table"] = module
    spec.loader.exec_module(module)
    return module


def _module_source(version: str) -> Path | None:
    if shutil.which("go") is None:
        return None
    cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    path = Path(cache) / f"knative.dev/serving@{version}"
    return path if (path / "pkg/apis/config/features.go").exists() else None


def _props(*path: str) -> dict[str, Any]:
    node = SCHEMA
    for key in path:
        node = node["items"] if key == "[]" else node["properties"][key]
    return node["properties"]


POD_SPEC = ("spec", "template", "spec")
CONTAINER = (*POD_SPEC, "containers", "[]")


def test_table_is_what_the_generator_makes_from_knative_source() -> None:
    version = TABLE["source"]["version"]
    source = _module_source(version)
    if source is None:
        if os.environ.get("GUARDRAILS_REQUIRE_KNATIVE_SOURCE") == "1":
            pytest.fail(f"knative.dev/serving@{version} is not in the Go module cache (go mod download it)")
        pytest.skip(f"knative.dev/serving@{version} not in the Go module cache")
    gen = _generator()
    assert gen.upstream_schema(source) == SCHEMA, "the repo's CRD schema is not this Knative version's"
    rebuilt = gen.render(gen.build_table(source, version, TABLE["source"]["go_sum"]))
    assert rebuilt == TABLE_PATH.read_text(), "knative_flags.json is stale: run scripts/gen_knative_flag_table.py"


def test_generator_refuses_source_of_another_shape(tmp_path: Path) -> None:
    gen = _generator()
    for rel in (gen.FEATURES_GO, gen.FIELDMASK_GO, gen.VALIDATION_GO):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("package config\n\nfunc defaultFeaturesConfig() *Features {\n}\n")
    with pytest.raises(gen.SourceShapeError):
        gen.build_table(tmp_path, "v0.0.0", "")


def test_json_names_follow_kubernetes() -> None:
    gen = _generator()
    assert [gen.json_name(f) for f in ("HostIPC", "DNSPolicy", "CSI", "EmptyDir", "RunAsNonRoot")] == [
        "hostIPC", "dnsPolicy", "csi", "emptyDir", "runAsNonRoot"]


@pytest.mark.parametrize("gate", [g for g in TABLE["gates"] if g["field"]], ids=lambda g: f"{g['kind']}.{g['field']}")
def test_every_gated_field_exists_in_the_crd_schema(gate: dict[str, Any]) -> None:
    where = {
        "podSpec": POD_SPEC,
        "volumeSource": (*POD_SPEC, "volumes", "[]"),
        "volumeMount": (*CONTAINER, "volumeMounts", "[]"),
        "envValueFrom": (*CONTAINER, "env", "[]", "valueFrom"),
    }[gate["kind"]]
    assert gate["field"] in _props(*where)
    assert gate["flag"] in TABLE["flags"]


FLAG_NOTE = "This is accessible behind a feature flag - "


def _schema_flags(node: Any, path: str = "") -> dict[str, str]:
    """Every field of the CRD schema whose description says which feature flag it is behind."""
    found: dict[str, str] = {}
    if not isinstance(node, dict):
        return found
    description = node.get("description", "")
    if FLAG_NOTE in description:
        found[path] = description.split(FLAG_NOTE, 1)[1].split()[0]
    for key, child in (node.get("properties") or {}).items():
        found.update(_schema_flags(child, f"{path}.{key}" if path else key))
    if "items" in node:
        found.update(_schema_flags(node["items"], f"{path}[]"))
    return found


def test_table_gates_exactly_the_fields_the_crd_schema_marks_as_flagged() -> None:
    """An independent reading: Knative's schema generator writes the flag into each gated field's description."""
    base = "spec.template.spec"
    prefix = {"podSpec": base, "volumeSource": f"{base}.volumes[]",
              "volumeMount": f"{base}.containers[].volumeMounts[]",
              "envValueFrom": f"{base}.containers[].env[].valueFrom"}
    ours = {f"{prefix[g['kind']]}.{g['field']}": g["flag"] for g in TABLE["gates"] if g["kind"] in prefix}
    ours[f"{base}.securityContext"] = TABLE["pod_security_context"]["flag"]
    ours[f"{base}.containers[].securityContext.capabilities.add"] = TABLE["add_capabilities"]["flag"]
    # The schema repeats the container fields under initContainers; our check walks init containers as containers.
    # A list's items repeat the list's own note.
    flagged = _schema_flags(SCHEMA)
    schema = {k: v for k, v in flagged.items() if ".initContainers[]." not in k
              and not (k.endswith("[]") and flagged.get(k[:-2]) == v)}
    assert schema == ours


def test_the_flags_knative_really_has() -> None:
    """The facts the old hand-written table got wrong (issue 16)."""
    gates = {(g["kind"], g["field"]): g for g in TABLE["gates"]}
    assert gates[("volumeSource", "hostPath")]["flag"] == "kubernetes.podspec-volumes-hostpath"
    assert gates[("volumeSource", "emptyDir")]["flag"] == "kubernetes.podspec-volumes-emptydir"
    assert TABLE["flags"]["kubernetes.podspec-volumes-emptydir"]["default"] == "enabled"
    assert "kubernetes.podspec-hostpath" not in TABLE["flags"] and "kubernetes.podspec-emptydir" not in TABLE["flags"]
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        assert gates[("podSpec", field)]["flag"] == f"kubernetes.podspec-{field.lower()}"
    assert "runAsNonRoot" in TABLE["pod_security_context"]["fields"]
    assert TABLE["add_capabilities"]["allowed_when"] == ["enabled"]
