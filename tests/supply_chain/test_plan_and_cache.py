"""evaluate_plan over PlannedResource records (Knative + Lambda), the on-disk cache, and the regex policy."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from guardrails_core.types import FUNCTION_COMPONENT
from guardrails_supply_chain import evaluate_plan
from guardrails_supply_chain.cache import CACHE_DIR, CACHE_FILE
from guardrails_supply_chain.identity import IdentityRegex
from guardrails_supply_chain.trust import load_trusted_root
from sc_helpers import A_TXT_SHA256, BEACON, GHA_ISSUER, KSVC, REPO, knative, settings
from sigstore.errors import VerificationError
from sigstore.models import Bundle

from preflight.engine.base import PlannedResource

DATA = REPO / "tests" / "supply_chain" / "data"
SIGNERS = [{"identity": BEACON, "issuer": GHA_ISSUER}]
NOW = datetime(2021, 8, 30, tzinfo=UTC)
LAMBDA = "aws:lambda/function:Function"

# What the ServerlessFunction component registers as its inputs: the declaration with overlays applied. The
# supply chain judges the component from it; no declaration file exists on disk in these tests (nothing re-read).
FUNCTION_DECLARATION = {
    "source": "services/fns.yaml:7",
    "document": {
        "apiVersion": "serverless-guardrails.dev/v1alpha1", "kind": "Function",
        "metadata": {"name": "scorer", "annotations": {
            "security.apexlogic.com/signature-bundle": "evidence/fn.sigstore.json",
            "security.apexlogic.com/vulnerability-report": "evidence/report.json",
            "security.apexlogic.com/data-classification": "restricted"}},
        "spec": {"runtime": "python3.12", "handler": "app.handler", "code": {"path": "evidence/fn.zip"}},
    },
}


def _project(tmp_path: Path) -> Path:
    (tmp_path / "evidence").mkdir()
    (tmp_path / "services").mkdir()
    shutil.copyfile(DATA / "sigstore" / "a.txt", tmp_path / "evidence" / "fn.zip")
    shutil.copyfile(DATA / "sigstore" / "a.txt.sigstore.json", tmp_path / "evidence" / "fn.sigstore.json")
    shutil.copyfile(DATA / "trivy" / "debian-buster.json", tmp_path / "evidence" / "report.json")
    return tmp_path


def _plan() -> list[PlannedResource]:
    ksvc = knative("web", {}, f"ghcr.io/apexlogic/web@sha256:{A_TXT_SHA256}")
    return [
        PlannedResource(urn=ksvc["urn"], type=KSVC, name="web", custom=True, parent=None, provider=None,
                        inputs=ksvc["props"], source_file="services/web.yaml", source_line=1),
        PlannedResource(
            urn=f"urn:pulumi:test::proj::{FUNCTION_COMPONENT}::scorer", type=FUNCTION_COMPONENT, name="scorer",
            custom=False, parent=None, provider=None, inputs={"declaration": FUNCTION_DECLARATION},
            source_file="services/fns.yaml", source_line=7,
        ),
        # The function itself carries no supply-chain annotations (tags only): not judged a second time.
        PlannedResource(
            urn=f"urn:pulumi:test::proj::{LAMBDA}::scorer", type=LAMBDA, name="scorer", custom=True,
            parent=f"urn:pulumi:test::proj::{FUNCTION_COMPONENT}::scorer", provider=None,
            inputs={"name": "scorer", "packageType": "Zip", "runtime": "python3.12",
                    "code": {"4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7",
                             "path": "evidence/fn.zip"}, "tags": {"data-classification": "restricted"}},
            source_file="services/fns.yaml", source_line=7,
        ),
        PlannedResource(urn="urn:pulumi:test::proj::aws:iam/role:Role::r", type="aws:iam/role:Role", name="r",
                        custom=True, parent=None, provider=None, inputs={}),
    ]


def test_evaluate_plan_knative_and_lambda(tmp_path: Path) -> None:
    project = _project(tmp_path)
    records, findings = evaluate_plan(_plan(), settings("prod", signers=SIGNERS), project, now=NOW)
    by_service = {r["service"]: r for r in records}
    assert set(by_service) == {"web", "scorer"}
    fn = by_service["scorer"]
    assert fn["kind"] == "zip" and fn["verified"] is True and fn["signer"] == BEACON
    assert fn["digest"] == f"sha256:{A_TXT_SHA256}"
    # the Lambda's report is named by its declaration (the component's inputs); public, restricted -> blocked
    assert [v["id"] for v in fn["vulnerabilities"] if v["blocked"]] == ["CVE-2019-18224"]
    web = by_service["web"]
    assert web["verified"] is False and "unsigned" in web["reason"]
    policies = sorted((urn.rsplit("::", 1)[1], pid, sev) for urn, pid, sev, _ in findings)
    assert policies == [
        ("scorer", "sc.vuln-gate", "critical"),
        ("web", "sc.artifact-signed", "critical"),
        ("web", "sc.vuln-gate", "high"),  # no report declared; required in prod
    ]
    for record in records:
        json.dumps(record)  # report-ready


def test_cache_hit_and_tamper_safety(tmp_path: Path) -> None:
    project = _project(tmp_path)
    conf = settings("prod", signers=SIGNERS)
    first, _ = evaluate_plan(_plan(), conf, project, now=NOW)
    cache_file = project / CACHE_DIR / CACHE_FILE
    doc = json.loads(cache_file.read_text())
    assert len(doc["entries"]) == 1
    second, _ = evaluate_plan(_plan(), conf, project, now=NOW)
    assert first == second
    # A different signer policy is a different cache key: it must not reuse the positive answer.
    other = settings("prod", signers=[{"identity": "someone@example.com", "issuer": GHA_ISSUER}])
    third, _ = evaluate_plan(_plan(), other, project, now=NOW)
    assert next(r for r in third if r["service"] == "scorer")["verified"] is False
    # A corrupt cache file is ignored, never trusted.
    cache_file.write_text("{corrupt")
    fourth, _ = evaluate_plan(_plan(), conf, project, now=NOW)
    assert fourth == first
    # Changed artifact bytes change the key: the tampered zip fails even with a warm cache.
    with open(project / "evidence" / "fn.zip", "ab") as handle:
        handle.write(b"!")
    fifth, _ = evaluate_plan(_plan(), conf, project, now=NOW)
    assert next(r for r in fifth if r["service"] == "scorer")["verified"] is False


def test_cache_can_be_disabled(tmp_path: Path) -> None:
    project = _project(tmp_path)
    evaluate_plan(_plan(), settings("prod", signers=SIGNERS, cache=False), project, now=NOW)
    assert not (project / CACHE_DIR).exists()


def test_regex_identity_policy_inside_sigstore() -> None:
    """IdentityRegex is enforced by sigstore's verifier itself, not only by our pre-check."""
    from guardrails_supply_chain.verify import sha256_file
    from sigstore.verify import Verifier

    root = load_trusted_root("production")
    bundle = Bundle.from_json((DATA / "sigstore" / "a.txt.sigstore.json").read_bytes())
    data = (DATA / "sigstore" / "a.txt").read_bytes()
    assert sha256_file(DATA / "sigstore" / "a.txt") == A_TXT_SHA256
    verifier = Verifier(trusted_root=root.root)
    verifier.verify_artifact(data, bundle, IdentityRegex(pattern=r"https://github\.com/sigstore-conformance/.+",
                                                         issuer=GHA_ISSUER))
    with pytest.raises(VerificationError, match="SANs do not match"):
        verifier.verify_artifact(data, bundle, IdentityRegex(pattern=r"https://github\.com/acme/.+",
                                                             issuer=GHA_ISSUER))
    with pytest.raises(VerificationError, match="OIDCIssuer does not match"):
        verifier.verify_artifact(data, bundle, IdentityRegex(pattern=".*", issuer="https://accounts.google.com"))


def test_production_root_comes_from_installed_package() -> None:
    from importlib import resources

    root = load_trusted_root("production")
    ref = resources.files("sigstore._store").joinpath("https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", "trusted_root.json")
    import hashlib

    assert root.sha256 == hashlib.sha256(ref.read_bytes()).hexdigest()
