"""Offline Sigstore bundle verification for one artifact digest against a signer policy and a pinned root.

Both bundle shapes are handled:
* message-signature bundles (v0.1-v0.3, hashedrekord on Rekor v1 or v2): verified against the artifact's
  sha256 as a `Hashed` input, so large artifacts (model weights, images known only by digest) are never loaded;
* DSSE bundles carrying an in-toto statement: the envelope is verified, then the statement's subject digests
  must contain the artifact's sha256 (sigstore does not do this step for us).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from guardrails_core.safe_input import UnsafeInputError, read_bytes_bounded
from guardrails_core.settings import SignerRule

from guardrails_supply_chain.cache import VerificationCache, cache_key
from guardrails_supply_chain.errors import describe_exception
from guardrails_supply_chain.trust import LoadedRoot, validity_problem

# sigstore (and the identity helpers built on it) load when a bundle is first verified, not on import: a policy
# pack process imports this module for every check, most of which never reach a bundle (issue 17).

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 8 << 20  # real bundles are a few KB; bounded before reading (a 1 GB file must not be loaded)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    reason: str
    signer: str | None = None
    issuer: str | None = None
    content: str | None = None  # "message_signature" | "dsse" once the bundle parsed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerificationResult:
        return cls(**{k: data.get(k) for k in ("verified", "reason", "signer", "issuer", "content")})


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed (model weights can be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _subject_digests(payload: bytes) -> list[str]:
    statement = json.loads(payload)
    subjects = statement.get("subject") if isinstance(statement, dict) else None
    if not isinstance(subjects, list) or not subjects:
        raise ValueError("in-toto statement has no `subject` list")
    found = []
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
            found.append(digest["sha256"].lower())
    return found


def verify_bundle_bytes(
    artifact_sha256: str,
    bundle_bytes: bytes,
    signers: list[SignerRule],
    root: LoadedRoot,
    bundle_label: str = "bundle",
) -> VerificationResult:
    """Verify `bundle_bytes` for the artifact whose sha256 (hex) is given. Never raises for bad evidence: whatever
    a malformed certificate or bundle makes the parsers raise (cryptography's DuplicateExtension, pydantic, ...)
    is "not verified" with the reason."""
    try:
        return _verify_bundle_bytes(artifact_sha256, bundle_bytes, signers, root, bundle_label)
    except Exception as exc:  # noqa: BLE001 - fail closed with a reason, never a traceback
        return VerificationResult(False, f"{bundle_label} cannot be verified: {describe_exception(exc)}")


def _verify_bundle_bytes(
    artifact_sha256: str,
    bundle_bytes: bytes,
    signers: list[SignerRule],
    root: LoadedRoot,
    bundle_label: str = "bundle",
) -> VerificationResult:
    from sigstore.errors import Error as SigstoreError
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore_models.common.v1 import HashAlgorithm

    from guardrails_supply_chain.identity import certificate_identity, rule_matches, sigstore_policy

    artifact_sha256 = artifact_sha256.lower()
    try:
        bundle = Bundle.from_json(bundle_bytes)
    except (SigstoreError, ValueError, TypeError, KeyError) as exc:
        return VerificationResult(False, f"{bundle_label} is not a valid Sigstore bundle: {describe_exception(exc)}")

    # The private attribute is the only way sigstore 4.5 exposes which of the two bundle contents is present.
    content = "dsse" if bundle._dsse_envelope is not None else "message_signature"
    who = certificate_identity(bundle.signing_certificate)
    if not signers:
        return VerificationResult(
            False,
            "no trusted signers are configured (settings supply_chain.signers or "
            "supply_chain.environments.<env>.signers)",
            who.primary,
            who.issuer,
            content,
        )
    matching = [(rule, rule_matches(rule, who)) for rule in signers]
    matching = [(rule, san) for rule, san in matching if san is not None]
    if not matching:
        trusted = "; ".join(rule.describe() for rule in signers)
        return VerificationResult(
            False,
            f"{bundle_label} is signed by {', '.join(who.sans) or '(no SAN)'} (issuer {who.issuer or 'none'}), "
            f"which is not a trusted signer; trusted: {trusted}",
            who.primary,
            who.issuer,
            content,
        )
    rule, san = matching[0]
    entry = bundle.log_entry._inner  # sigstore 4.5 keeps the protobuf-model entry private
    proof = entry.inclusion_proof
    # Rekor v2 logs are not sharded: the entry's index is the proof's. (v1 entries carry a global index and a
    # per-shard proof index, which legitimately differ.)
    rekor_v2 = entry.kind_version.version == "0.0.2"
    if rekor_v2 and proof is not None and int(proof.log_index) != int(entry.log_index):
        return VerificationResult(
            False, f"{bundle_label}: the entry's logIndex {entry.log_index} does not match its inclusion proof's "
            f"{proof.log_index}", san, rule.issuer, content)
    if why := validity_problem(root, bundle.signing_certificate, bytes(entry.log_id.key_id),
                               int(entry.integrated_time or 0)):
        return VerificationResult(False, f"{bundle_label} does not verify against trusted root {root.name!r}: {why}",
                                  san, rule.issuer, content)
    verifier = Verifier(trusted_root=root.root)
    try:
        if content == "dsse":
            payload_type, payload = verifier.verify_dsse(bundle, sigstore_policy(rule))
            if payload_type != IN_TOTO_PAYLOAD_TYPE:
                return VerificationResult(
                    False, f"{bundle_label}: DSSE payload type {payload_type!r} is not {IN_TOTO_PAYLOAD_TYPE}",
                    san, rule.issuer, content,
                )
            subjects = _subject_digests(payload)
            if artifact_sha256 not in subjects:
                listed = ", ".join(f"sha256:{d}" for d in subjects) or "none"
                return VerificationResult(
                    False,
                    f"{bundle_label}: in-toto statement subjects ({listed}) do not include the artifact "
                    f"sha256:{artifact_sha256} (bundle for another artifact)",
                    san, rule.issuer, content,
                )
        else:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(artifact_sha256))
            verifier.verify_artifact(hashed, bundle, sigstore_policy(rule))
    except (SigstoreError, ValueError, TypeError, KeyError) as exc:
        return VerificationResult(
            False, f"{bundle_label} does not verify against trusted root {root.name!r}: {describe_exception(exc)}",
            san, rule.issuer, content,
        )
    return VerificationResult(
        True, f"verified against trusted root {root.name!r} ({content})", san, rule.issuer, content
    )


def verify_with_cache(
    artifact_sha256: str,
    bundle_path: Path,
    signers: list[SignerRule],
    root: LoadedRoot,
    cache: VerificationCache | None,
    bundle_label: str,
) -> VerificationResult:
    """Read the bundle file and verify it, answering from `cache` when the same question was asked before."""
    try:
        bundle_bytes = read_bytes_bounded(bundle_path, MAX_BUNDLE_BYTES)
    except UnsafeInputError as exc:
        return VerificationResult(False, f"{bundle_label}: bundle file refused: it {exc}")
    key = cache_key(
        artifact_sha256.lower(),
        hashlib.sha256(bundle_bytes).hexdigest(),
        [rule.cache_key() for rule in signers],
        root.sha256,
    )
    if cache is not None and (hit := cache.get(key)) is not None:
        return VerificationResult.from_dict(hit)
    result = verify_bundle_bytes(artifact_sha256, bundle_bytes, signers, root, bundle_label)
    if cache is not None:
        cache.put(key, result.to_dict())
    return result
