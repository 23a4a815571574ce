"""Every case in shared/data/sigstore/cases.json, through `preflight verify` (subprocess) and the policy path,
plus wrong identity, wrong issuer and a tampered artifact for each good case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from guardrails_supply_chain import POLICY_SIGNED, evaluate_resource
from sc_helpers import REPO, case_project, knative, load_cases, settings, shared_dir

from preflight.verify_cli import main as cli_main

SHARED = shared_dir()
CASES = load_cases(SHARED) if (SHARED / "data" / "sigstore" / "cases.json").is_file() else []
GOOD = [c for c in CASES if c["expected_result"] == "pass"]
SIGSTORE = SHARED / "data" / "sigstore"


def test_cases_present() -> None:
    assert len(CASES) == 14, f"expected the 14 indexed cases under {SIGSTORE} (set GUARDRAILS_SHARED_DIR)"
    assert len(GOOD) == 10


def run_verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "preflight.verify_cli", "verify", *args],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )


def cli_args(case: dict[str, Any], identity: str | None = None, issuer: str | None = None,
             artifact: str | None = None) -> list[str]:
    return [
        artifact or str(SIGSTORE / case["artifact"]),
        "--bundle", str(SIGSTORE / case["bundle"]),
        "--identity", identity or case["expected_identity"],
        "--issuer", issuer or case["expected_issuer"],
        "--trusted-root", str(SIGSTORE / case["trusted_root"]),
        "--json",
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_cli_gives_expected_result(case: dict[str, Any]) -> None:
    proc = run_verify(*cli_args(case))
    out = json.loads(proc.stdout)
    if case["expected_result"] == "pass":
        assert proc.returncode == 0, out
        assert out["verified"] is True
        assert out["signer"] == case["expected_identity"]
        assert out["issuer"] == case["expected_issuer"]
        assert out["digest"] == f"sha256:{case['artifact_sha256']}"
    else:
        assert proc.returncode == 1, out
        assert out["verified"] is False
        assert out["reason"], "a failure must say why"


# The variants below go through the same argparse entry point in-process (a subprocess per variant would
# add ~1 s each; the subprocess path itself is covered by test_cli_gives_expected_result).
def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = cli_main(["verify", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c["id"])
def test_cli_digest_only_input(case: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_main(cli_args(case, artifact=f"sha256:{case['artifact_sha256']}"), capsys)
    assert code == 0, out
    code, out = run_main(cli_args(case, artifact=f"ghcr.io/acme/app@sha256:{case['artifact_sha256']}"), capsys)
    assert code == 0, out


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c["id"])
def test_cli_wrong_identity_fails(case: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_main(cli_args(case, identity="attacker@example.com"), capsys)
    assert code == 1
    assert out["verified"] is False and "not a trusted signer" in out["reason"]


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c["id"])
def test_cli_wrong_issuer_fails(case: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_main(cli_args(case, issuer="https://accounts.google.com"), capsys)
    assert code == 1
    assert out["verified"] is False and "accounts.google.com" in out["reason"]


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c["id"])
def test_cli_tampered_artifact_fails(case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tampered = tmp_path / "artifact"
    tampered.write_bytes((SIGSTORE / case["artifact"]).read_bytes() + b"x")
    code, out = run_main(cli_args(case, artifact=str(tampered)), capsys)
    assert code == 1
    assert out["verified"] is False


def _policy_eval(tmp_path: Path, case: dict[str, Any], identity: str | None = None, issuer: str | None = None,
                 tamper: bool = False) -> dict[str, Any]:
    paths = case_project(tmp_path, SHARED, case)
    if tamper:
        with open(tmp_path / paths["artifact"], "ab") as handle:
            handle.write(b"\n")
    resource = knative(
        "svc",
        {
            "security.apexlogic.com/model-weights": paths["artifact"],
            "security.apexlogic.com/model-weights-bundle": paths["bundle"],
        },
        image="ghcr.io/apexlogic/app@sha256:" + "0" * 64,
    )
    conf = settings(
        "prod",
        trusted_root=paths["root"],
        signers=[{"identity": identity or case["expected_identity"], "issuer": issuer or case["expected_issuer"]}],
    )
    evaluation = evaluate_resource(resource, conf, tmp_path)
    model = [r for r in evaluation.records if r["kind"] == "model"]
    assert len(model) == 1
    messages = [m for m in evaluation.messages(POLICY_SIGNED) if "model " in m]
    return {"record": model[0], "messages": messages, "findings": evaluation.findings}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_policy_path_gives_expected_result(tmp_path: Path, case: dict[str, Any]) -> None:
    result = _policy_eval(tmp_path, case)
    record = result["record"]
    assert record["digest"] == f"sha256:{case['artifact_sha256']}"
    if case["expected_result"] == "pass":
        assert record["verified"] is True, record["reason"]
        assert record["signer"] == case["expected_identity"]
        assert result["messages"] == []
    else:
        assert record["verified"] is False
        assert len(result["messages"]) == 1
        # prod makes it mandatory: the finding is critical
        sev = [f.severity for f in result["findings"] if f.policy_id == POLICY_SIGNED and "model " in f.message]
        assert sev == ["critical"]


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c["id"])
def test_policy_path_wrong_identity_wrong_issuer_tampered(tmp_path: Path, case: dict[str, Any]) -> None:
    wrong_id = _policy_eval(tmp_path / "id", case, identity="attacker@example.com")
    wrong_iss = _policy_eval(tmp_path / "iss", case, issuer="https://accounts.google.com")
    tampered = _policy_eval(tmp_path / "tamper", case, tamper=True)
    for outcome in (wrong_id, wrong_iss, tampered):
        assert outcome["record"]["verified"] is False
        assert len(outcome["messages"]) == 1
    assert "not a trusted signer" in wrong_id["record"]["reason"]
    assert "accounts.google.com" in wrong_iss["record"]["reason"]
