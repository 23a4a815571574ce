"""Sigstore under hostile evidence: expired or not-yet-valid roots, corrupted certificates, a tampered Rekor v2
log index, oversized bundles and forged cache entries are all "not verified" with a reason, never a traceback."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from guardrails_core.settings import SignerRule
from guardrails_supply_chain.cache import VerificationCache
from guardrails_supply_chain.trust import TrustedRootError, load_trusted_root
from guardrails_supply_chain.verify import MAX_BUNDLE_BYTES, verify_bundle_bytes, verify_with_cache

from tests.conftest import shared_dir
from tests.hostile.helpers import project

DATA = shared_dir() / "data" / "sigstore"
CASES = {c["id"]: c for c in json.loads((DATA / "cases.json").read_text())["cases"]}
V1 = CASES["sp-bundle-v0.3-staging"]
V2 = CASES["sp-rekor-v2-tsa-staging"]


def _rule(case: dict) -> SignerRule:
    return SignerRule(identity=case["expected_identity"], issuer=case["expected_issuer"])


def _root_with(tmp_path: Path, case: dict, change) -> Path:
    doc = json.loads((DATA / case["trusted_root"]).read_text())
    change(doc)
    path = tmp_path / "root.json"
    path.write_text(json.dumps(doc))
    return path


def _verify(case: dict, root_path: Path | None = None, bundle: bytes | None = None):
    root = load_trusted_root(str(root_path or DATA / case["trusted_root"]))
    data = bundle if bundle is not None else (DATA / case["bundle"]).read_bytes()
    return verify_bundle_bytes(case["artifact_sha256"], data, [_rule(case)], root, "bundle")


@pytest.mark.parametrize("case", [V1, V2], ids=["rekor-v1", "rekor-v2"])
def test_untouched_evidence_verifies(case: dict) -> None:
    assert _verify(case).verified


def _end_all(doc: dict) -> None:
    for section in ("certificateAuthorities",):
        for entry in doc[section]:
            entry["validFor"] = {"start": "1999-01-01T00:00:00Z", "end": "2000-01-01T00:00:00Z"}
    for section in ("tlogs", "ctlogs"):
        for entry in doc[section]:
            entry["publicKey"]["validFor"] = {"start": "1999-01-01T00:00:00Z", "end": "2000-01-01T00:00:00Z"}


@pytest.mark.parametrize("case", [V1, V2], ids=["rekor-v1", "rekor-v2"])
def test_root_whose_keys_expired_in_2000_does_not_verify(tmp_path: Path, case: dict) -> None:
    result = _verify(case, _root_with(tmp_path, case, _end_all))
    assert not result.verified and "not valid" in result.reason and "2000" in result.reason, result.reason


def test_root_whose_ca_starts_in_2100_is_refused_or_not_verified(tmp_path: Path) -> None:
    def future(doc: dict) -> None:
        for entry in doc["certificateAuthorities"]:
            entry["validFor"] = {"start": "2100-01-01T00:00:00Z"}

    path = _root_with(tmp_path, V1, future)
    try:
        result = _verify(V1, path)
    except TrustedRootError as exc:  # a clean error naming the root is as good as "not verified"
        assert "trusted root" in str(exc)
    else:
        assert not result.verified and result.reason


def test_a_flipped_byte_in_the_certificate_is_not_verified() -> None:
    doc = json.loads((DATA / V1["bundle"]).read_text())
    material = doc["verificationMaterial"]
    holder = material.get("certificate") or material["x509CertificateChain"]["certificates"][0]
    raw = bytearray(base64.b64decode(holder["rawBytes"]))
    for offset in range(len(raw) // 3, len(raw) // 3 + 40):  # several positions; one of them once raised
        raw_copy = bytearray(raw)
        raw_copy[offset] ^= 0xFF
        holder["rawBytes"] = base64.b64encode(bytes(raw_copy)).decode()
        result = _verify(V1, bundle=json.dumps(doc).encode())
        assert not result.verified and result.reason


def test_bumping_a_rekor_v2_log_index_is_not_verified() -> None:
    doc = json.loads((DATA / V2["bundle"]).read_text())
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    entry["logIndex"] = str(int(entry["logIndex"]) + 1)
    result = _verify(V2, bundle=json.dumps(doc).encode())
    assert not result.verified and "logIndex" in result.reason, result.reason


def test_forged_cache_entry_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    bundle = tmp_path / "not-a-bundle.json"
    bundle.write_text("{}")
    root = load_trusted_root(str(DATA / V1["trusted_root"]))
    first = verify_with_cache(V1["artifact_sha256"], bundle, [_rule(V1)], root, VerificationCache(tmp_path), "b")
    assert not first.verified
    cache = VerificationCache(tmp_path)
    cache.put("x", first.to_dict())
    cache.save()
    doc = json.loads(cache.path.read_text())
    for entry in doc["entries"].values():  # what an attacker with write access to the repo would plant
        entry.update(verified=True, reason="forged")
    doc["entries"] = {key: {**value, "seal": "0" * 64} for key, value in doc["entries"].items()}
    cache.path.write_text(json.dumps(doc))
    again = verify_with_cache(V1["artifact_sha256"], bundle, [_rule(V1)], root, VerificationCache(tmp_path), "b")
    assert not again.verified and again.reason != "forged"


def test_a_genuine_cache_entry_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = load_trusted_root(str(DATA / V1["trusted_root"]))
    cache = VerificationCache(tmp_path)
    result = verify_with_cache(V1["artifact_sha256"], DATA / V1["bundle"], [_rule(V1)], root, cache, "b")
    cache.save()
    assert result.verified
    reread = VerificationCache(tmp_path)
    [key] = json.loads(reread.path.read_text())["entries"]
    assert reread.get(key) == result.to_dict()


def test_oversized_bundle_is_refused_before_reading(tmp_path: Path) -> None:
    root = project(tmp_path)
    big = root / "big.sigstore.json"
    with open(big, "wb") as handle:  # sparse: 1 GB on paper, nothing on disk
        handle.truncate(1 << 30)
    proc = subprocess.run([sys.executable, "-m", "preflight", "verify", "sha256:" + "0" * 64, "--bundle", str(big),
                           "--identity", "a@b.c", "--issuer", "https://x", "--trusted-root",
                           str(DATA / V1["trusted_root"])], capture_output=True, text=True, cwd=root, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert f"the limit is {MAX_BUNDLE_BYTES:,}" in proc.stderr
