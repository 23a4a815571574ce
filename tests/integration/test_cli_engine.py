"""`pulumi preview|up|destroy` with the guardrails pack, through preflight.engine.pulumi_cli, on the real CLI.

Each test works on a temporary copy of the project (services/ replaced) and a temporary file backend.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from preflight.engine.base import EngineResult
from preflight.engine.pulumi_cli import (
    PulumiCliError,
    rendered_dir,
    run_pulumi_destroy,
    run_pulumi_preview,
    run_pulumi_up_with_changes,
)
from tests.conftest import shared_dir
from tests.integration.helpers import PACK_REL, knative_service, project_copy, require_cli

KSVC = "kubernetes:serving.knative.dev/v1:Service"
# What the bad declaration breaks, by CrossGuard policy name (control id with '.' → '-').
BAD_EXPECTED = {"img-registry-allowlist", "img-no-latest-tag", "kn-max-scale-set", "pod-no-privileged"}


@pytest.fixture(scope="module")
def cli() -> Path:
    return require_cli()


def _ksvc_urn(result: EngineResult, name: str) -> str:
    urns = [r.urn for r in result.resources if r.type == KSVC and r.urn.endswith(f"::{name}")]
    assert len(urns) == 1, f"expected one Knative Service {name!r}, got {[r.urn for r in result.resources]}"
    return urns[0]


def _policies_for(result: EngineResult, urn: str) -> dict[str, str]:
    return {f.policy: f.enforcement for f in result.findings if f.resource_urn == urn}


def test_preview_reports_violations_of_a_bad_service(cli: Path, tmp_path: Path) -> None:
    bad = knative_service("bad-svc", image="docker.io/random/thing:latest", max_scale="100", privileged=True)
    project = project_copy(tmp_path, {"bad-svc.yaml": bad})
    result = run_pulumi_preview(project, "local", [project / PACK_REL])

    urn = _ksvc_urn(result, "bad-svc")
    found = _policies_for(result, urn)
    assert BAD_EXPECTED <= found.keys(), f"missing {BAD_EXPECTED - found.keys()}; got {sorted(found)}"
    assert all(f.pack == "serverless-guardrails" for f in result.findings)  # PulumiPolicy pack name
    # pod.no-privileged is critical; the local stack makes critical mandatory (guardrails:policy.enforcement).
    assert found["pod-no-privileged"] == "mandatory"
    assert found["kn-max-scale-set"] == "advisory"
    messages = " ".join(f.message for f in result.findings if f.resource_urn == urn)
    assert "100" in messages and "docker.io/random/thing:latest" in messages


def test_preview_passes_a_good_service(cli: Path, tmp_path: Path) -> None:
    project = project_copy(tmp_path, {"good-svc.yaml": knative_service("good-svc")})
    result = run_pulumi_preview(project, "local", [project / PACK_REL])

    assert result.errors == []
    urn = _ksvc_urn(result, "good-svc")
    found = _policies_for(result, urn)
    assert not BAD_EXPECTED & found.keys(), found
    assert [f for f in result.findings if f.enforcement == "mandatory"] == []
    ksvc = next(r for r in result.resources if r.urn == urn)
    assert ksvc.source_file == "services/good-svc.yaml" and ksvc.source_line == 1
    assert ksvc.inputs["metadata"]["labels"]["environment"] == "local"


def test_stack_config_per_environment_is_honoured(cli: Path, tmp_path: Path) -> None:
    # max-scale 8: within the local cap (20), above the dev cap (5), per stacks/Pulumi.<stack>.yaml.
    project = project_copy(tmp_path, {"scaled.yaml": knative_service("scaled", max_scale="8")})
    local = run_pulumi_preview(project, "local", [project / PACK_REL])
    dev = run_pulumi_preview(project, "dev", [project / PACK_REL])

    assert "kn-max-scale-set" not in _policies_for(local, _ksvc_urn(local, "scaled"))
    dev_findings = [f for f in dev.findings if f.policy == "kn-max-scale-set"]
    assert dev_findings and "cap 5" in dev_findings[0].message
    labels = {s: next(r for r in res.resources if r.type == KSVC).inputs["metadata"]["labels"]["environment"]
              for s, res in (("local", local), ("dev", dev))}
    assert labels == {"local": "local", "dev": "dev"}


def test_up_renders_valid_manifests_then_noop_then_destroy(cli: Path, tmp_path: Path) -> None:
    project = project_copy(tmp_path, {"good-svc.yaml": knative_service("good-svc"),
                                      "other-svc.yaml": knative_service("other-svc", max_scale="3")})
    backend = tmp_path / "state"

    first, changes = run_pulumi_up_with_changes(project, "local", [project / PACK_REL], backend_dir=backend)
    assert first.errors == [], first.errors
    assert changes.get("create", 0) >= 2, changes
    manifests = sorted((rendered_dir(backend) / "local" / "1-manifest").glob("*.yaml"))
    assert [m.name for m in manifests] == [
        "serving.knative.dev_v1-service-ai-workloads-good-svc.yaml",
        "serving.knative.dev_v1-service-ai-workloads-other-svc.yaml",
    ]
    schema = json.loads((shared_dir() / "data" / "knative" / "crd" /
                         "services.serving.knative.dev.v1.openAPIV3Schema.json").read_text())
    for manifest in manifests:
        doc = yaml.safe_load(manifest.read_text())
        assert (doc["apiVersion"], doc["kind"]) == ("serving.knative.dev/v1", "Service")
        jsonschema.validate(doc, schema)
        assert doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pulumi"
    before = {m: m.stat().st_mtime_ns for m in manifests}

    second, changes = run_pulumi_up_with_changes(project, "local", [project / PACK_REL], backend_dir=backend)
    assert second.errors == []
    assert set(changes) == {"same"}, f"second up with no change must be a no-op, got {changes}"
    assert {m: m.stat().st_mtime_ns for m in manifests} == before

    destroyed = run_pulumi_destroy(project, "local", backend_dir=backend)
    assert destroyed.errors == []
    assert list((rendered_dir(backend) / "local" / "1-manifest").glob("*.yaml")) == []


def test_bad_input_is_named(tmp_path: Path) -> None:
    project = project_copy(tmp_path, {})
    with pytest.raises(PulumiCliError, match=r"Pulumi\.nope\.yaml: stack config file missing"):
        run_pulumi_preview(project, "nope", [])
    with pytest.raises(PulumiCliError, match="not a policy pack"):
        run_pulumi_preview(project, "local", [project / "services"])


def test_config_file_reaches_the_cli_engine(cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`preflight preview --config-file alt.yaml` on the CLI engine: `pulumi preview --config-file` gets it, so the
    pack judges with the value that is only in alt.yaml (maxScale 5 where the stack file has 20), and the CLI
    works on a copy (the user's file is not edited, e.g. no `encryptionsalt:` added)."""
    from guardrails_core.settings import CONFIG_FILE_ENV

    project = project_copy(tmp_path, {"scaled.yaml": knative_service("scaled", max_scale="8")})
    alt = tmp_path / "alt.yaml"  # outside the project, as the CLI allows
    text = (project / "stacks" / "Pulumi.local.yaml").read_text()
    assert "maxScale: 20" in text
    alt.write_text(text.replace("maxScale: 20", "maxScale: 5", 1))
    before = alt.read_bytes()

    plain = run_pulumi_preview(project, "local", [project / PACK_REL])
    monkeypatch.setenv(CONFIG_FILE_ENV, str(alt))  # what `preflight --config-file` sets (preflight/cli.py)
    chosen = run_pulumi_preview(project, "local", [project / PACK_REL])

    assert plain.errors == [] and chosen.errors == [], (plain.errors, chosen.errors)
    assert "kn-max-scale-set" not in _policies_for(plain, _ksvc_urn(plain, "scaled"))
    found = [f for f in chosen.findings if f.policy == "kn-max-scale-set"]
    assert found and "cap 5" in found[0].message, [f.message for f in chosen.findings]
    assert alt.read_bytes() == before
