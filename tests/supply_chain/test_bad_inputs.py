"""Bad evidence and bad settings: each gives a clear error or violation, never a crash, never a pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from guardrails_supply_chain import (
    POLICY_SIGNED,
    POLICY_VULN_GATE,
    SupplyChainConfigError,
    evaluate_resource,
)
from sc_helpers import A_TXT_SHA256, BEACON, GHA_ISSUER, REPO, knative, settings

from preflight.verify_cli import main as cli_main

DATA = REPO / "tests" / "supply_chain" / "data"
SIGNERS = [{"identity": BEACON, "issuer": GHA_ISSUER}]
IMAGE = f"ghcr.io/apexlogic/app@sha256:{A_TXT_SHA256}"


def _signed_eval(tmp_path: Path, bundle_rel: str | None, image: str = IMAGE, environment: str = "prod"):
    annotations = {"security.apexlogic.com/signature-bundle": bundle_rel} if bundle_rel else {}
    resource = knative("svc", annotations, image)
    evaluation = evaluate_resource(resource, settings(environment, signers=SIGNERS), tmp_path)
    record = next(r for r in evaluation.records if r["kind"] == "image")
    return record, evaluation.messages(POLICY_SIGNED), evaluation


def test_good_bundle_passes(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "sigstore" / "a.txt.sigstore.json", tmp_path / "b.json")
    record, messages, _ = _signed_eval(tmp_path, "b.json")
    assert record["verified"] is True and messages == []


def test_missing_bundle_file(tmp_path: Path) -> None:
    record, messages, _ = _signed_eval(tmp_path, "evidence/nope.sigstore.json")
    assert record["verified"] is False
    assert "evidence/nope.sigstore.json not found" in record["reason"]
    assert len(messages) == 1 and "security.apexlogic.com/signature-bundle" in messages[0]


@pytest.mark.parametrize("content", ["{not json", "[]", '{"mediaType": "nope"}', ""])
def test_malformed_bundle(tmp_path: Path, content: str) -> None:
    (tmp_path / "b.json").write_text(content)
    record, messages, _ = _signed_eval(tmp_path, "b.json")
    assert record["verified"] is False
    assert "not a valid Sigstore bundle" in record["reason"]
    assert len(messages) == 1


def test_bundle_for_another_artifact_message_signature(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "sigstore" / "a.txt.sigstore.json", tmp_path / "b.json")
    record, messages, _ = _signed_eval(tmp_path, "b.json", image="ghcr.io/apexlogic/app@sha256:" + "1" * 64)
    assert record["verified"] is False and "digest mismatch" in record["reason"]
    assert len(messages) == 1


def test_bundle_for_another_artifact_dsse(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "sigstore" / "a.txt.dsse.sigstore.json", tmp_path / "b.json")
    record, _, _ = _signed_eval(tmp_path, "b.json", image="ghcr.io/apexlogic/app@sha256:" + "1" * 64)
    assert record["verified"] is False and "bundle for another artifact" in record["reason"]


def test_bundle_path_outside_repo_is_rejected(tmp_path: Path) -> None:
    record, _, _ = _signed_eval(tmp_path, "../outside.json")
    assert record["verified"] is False and "outside the repository" in record["reason"]
    record, _, _ = _signed_eval(tmp_path, "/etc/passwd")
    assert record["verified"] is False and "relative to the repository root" in record["reason"]


def test_unsigned_is_advisory_in_dev_mandatory_in_prod_and_pci(tmp_path: Path) -> None:
    _, _, dev = _signed_eval(tmp_path, None, environment="dev")
    _, _, prod = _signed_eval(tmp_path, None, environment="prod")
    assert [f.severity for f in dev.findings if f.policy_id == POLICY_SIGNED] == ["medium"]
    assert [f.severity for f in prod.findings if f.policy_id == POLICY_SIGNED] == ["critical"]
    pci = knative("svc", {"security.apexlogic.com/pci-scope": "true"}, IMAGE)
    found = evaluate_resource(pci, settings("dev", signers=SIGNERS), tmp_path).findings
    assert [f.severity for f in found if f.policy_id == POLICY_SIGNED] == ["critical"]


def test_no_signers_configured_fails_closed(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "sigstore" / "a.txt.sigstore.json", tmp_path / "b.json")
    resource = knative("svc", {"security.apexlogic.com/signature-bundle": "b.json"}, IMAGE)
    evaluation = evaluate_resource(resource, settings("prod"), tmp_path)
    assert evaluation.records[0]["verified"] is False
    assert "no trusted signers are configured" in evaluation.records[0]["reason"]


def test_staging_root_per_environment_rejects_production_bundle(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "sigstore" / "a.txt.sigstore.json", tmp_path / "b.json")
    resource = knative("svc", {"security.apexlogic.com/signature-bundle": "b.json"}, IMAGE)
    conf = settings("staging", signers=SIGNERS, environments={"staging": {"trusted_root": "staging"}})
    record = evaluate_resource(resource, conf, tmp_path).records[0]
    assert record["verified"] is False and "'staging'" in record["reason"]


def test_missing_trusted_root_file(tmp_path: Path) -> None:
    shutil.copyfile(DATA / "sigstore" / "a.txt.sigstore.json", tmp_path / "b.json")
    resource = knative("svc", {"security.apexlogic.com/signature-bundle": "b.json"}, IMAGE)
    conf = settings("prod", signers=SIGNERS, trusted_root="roots/private.json")
    record = evaluate_resource(resource, conf, tmp_path).records[0]
    assert record["verified"] is False and "roots/private.json" in record["reason"]


def test_malformed_report_json(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"SchemaVersion": 2, "CreatedAt": ')
    resource = knative("svc", {"security.apexlogic.com/vulnerability-report": "r.json"}, IMAGE)
    messages = evaluate_resource(resource, settings("dev"), tmp_path).messages(POLICY_VULN_GATE)
    assert len(messages) == 1 and "r.json: not valid JSON" in messages[0]


def test_report_without_timestamp(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps({"SchemaVersion": 2, "Results": []}))
    resource = knative("svc", {"security.apexlogic.com/vulnerability-report": "r.json"}, IMAGE)
    messages = evaluate_resource(resource, settings("dev"), tmp_path).messages(POLICY_VULN_GATE)
    assert len(messages) == 1 and "CreatedAt: missing" in messages[0]


def test_missing_report_file(tmp_path: Path) -> None:
    resource = knative("svc", {"security.apexlogic.com/vulnerability-report": "scans/none.json"}, IMAGE)
    messages = evaluate_resource(resource, settings("dev"), tmp_path).messages(POLICY_VULN_GATE)
    assert len(messages) == 1 and "scans/none.json not found" in messages[0]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"signers": [{"identity": "a", "identityRegex": "b", "issuer": "x"}]}, "exactly one of"),
        ({"signers": [{"identity": "a"}]}, "signers.0.issuer"),
        ({"signers": [{"identityRegex": "(", "issuer": "x"}]}, "not a valid regex"),
        ({"trustedRoot": " "}, "trustedRoot must be"),
        ({"vulnerabilityGate": {"block": [{"minSeverity": "severe"}]}}, "minSeverity"),
        ({"signerz": []}, "signerz"),
        ("prod", "valid dictionary"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, raw: object, fragment: str) -> None:
    # Settings handed over as a dict (not the core's typed model) are validated again: fail closed, key named.
    resource = knative("svc", {}, IMAGE)
    with pytest.raises(SupplyChainConfigError) as info:
        evaluate_resource(resource, {"environment": "prod", "supply_chain": raw}, tmp_path)
    assert fragment in str(info.value) and "guardrails:supplyChain" in str(info.value)


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = str(DATA / "sigstore" / "a.txt.sigstore.json")
    artifact = str(DATA / "sigstore" / "a.txt")
    base = ["--identity", BEACON, "--issuer", GHA_ISSUER]
    assert cli_main(["verify", artifact, "--bundle", str(tmp_path / "none.json"), *base]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli_main(["verify", "not-a-file-or-digest", "--bundle", bundle, *base]) == 2
    assert cli_main(["verify", artifact, "--bundle", bundle, *base, "--trusted-root", str(tmp_path / "x")]) == 2
    (tmp_path / "bad-root.json").write_text("{}")
    bad_root = str(tmp_path / "bad-root.json")
    assert cli_main(["verify", artifact, "--bundle", bundle, *base, "--trusted-root", bad_root]) == 2
    assert "not a valid Sigstore trusted_root.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["verify", artifact, "--bundle", bundle])  # no identity / issuer
    assert exit_info.value.code == 2
    # Malformed bundle is evidence that does not verify: exit 1 with the reason
    (tmp_path / "bad.json").write_text("{oops")
    assert cli_main(["verify", artifact, "--bundle", str(tmp_path / "bad.json"), *base]) == 1
    assert "not a valid Sigstore bundle" in capsys.readouterr().out
    # Regex identity form
    assert cli_main(["verify", artifact, "--bundle", bundle, "--identity-regexp",
                     r"https://github\.com/sigstore-conformance/.*", "--issuer", GHA_ISSUER]) == 0
