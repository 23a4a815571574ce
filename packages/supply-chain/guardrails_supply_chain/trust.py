"""Trusted roots for offline verification: the ones shipped in the installed `sigstore` wheel, or a repo file.

We deliberately do not call `ClientTrustConfig.production(offline=True)`: it reads the user's TUF cache
(~/.local/share/sigstore), whose content depends on the machine. The wheel's embedded `trusted_root.json` is
pinned by the installed package version, so every machine verifies against the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails_core.safe_input import UnsafeInputError, read_bytes_bounded

from guardrails_supply_chain.errors import describe_exception

if TYPE_CHECKING:  # sigstore and cryptography load when a root is parsed or a certificate checked (issue 17)
    from cryptography import x509
    from sigstore.models import TrustedRoot

# Folder names inside sigstore/_store (the TUF URL, percent-encoded), as shipped in sigstore 4.x.
_EMBEDDED = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}


MAX_ROOT_BYTES = 4 << 20


class TrustedRootError(ValueError):
    """The trusted root cannot be loaded; the message names the source."""


@dataclass(frozen=True)
class LoadedRoot:
    name: str  # "production", "staging" or the file path as given
    sha256: str  # of the JSON bytes; part of the verification cache key
    root: TrustedRoot
    document: dict[str, Any] = field(default_factory=dict, compare=False)  # the JSON, for validFor windows


def _embedded_bytes(name: str) -> bytes:
    try:
        ref = resources.files("sigstore._store").joinpath(_EMBEDDED[name], "trusted_root.json")
        return ref.read_bytes()
    except (FileNotFoundError, ModuleNotFoundError, OSError) as exc:
        raise TrustedRootError(
            f"trusted root {name!r}: the installed sigstore package has no embedded trusted_root.json ({exc}); "
            "give a trusted root file instead"
        ) from exc


_loaded: dict[tuple[str, str], LoadedRoot] = {}


def load_trusted_root(spec: str, project_dir: Path | None = None) -> LoadedRoot:
    """`spec` is "production", "staging" or a path (relative to `project_dir` when not absolute)."""
    if spec in _EMBEDDED:
        raw = _embedded_bytes(spec)
        label = spec
    else:
        path = Path(spec)
        if not path.is_absolute() and project_dir is not None:
            path = Path(project_dir) / path
        if not path.is_file():
            raise TrustedRootError(
                f"trusted root {spec!r}: file not found ({path}); allowed: 'production', 'staging' "
                "or a trusted_root.json path relative to the repository"
            )
        try:
            raw = read_bytes_bounded(path, MAX_ROOT_BYTES)
        except UnsafeInputError as exc:
            raise TrustedRootError(f"trusted root {spec!r}: the file {exc}") from None
        label = spec
    digest = hashlib.sha256(raw).hexdigest()
    cached = _loaded.get((label, digest))
    if cached is not None:
        return cached
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        # sigstore 4.5 exposes only `TrustedRoot.from_file`; this is the same parse from bytes we already hold.
        root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(raw))
        document = json.loads(raw)
    except Exception as exc:  # noqa: BLE001 - sigstore raises MetadataError, pydantic errors, ...: all "invalid"
        raise TrustedRootError(
            f"trusted root {spec!r}: not a valid Sigstore trusted_root.json: {describe_exception(exc)}"
        ) from None
    loaded = LoadedRoot(name=label, sha256=digest, root=root, document=document if isinstance(document, dict) else {})
    _loaded[(label, digest)] = loaded
    return loaded


def _window(entry: Any) -> tuple[datetime | None, datetime | None]:
    valid = entry.get("validFor") if isinstance(entry, dict) else None
    if not isinstance(valid, dict):
        return None, None

    def parse(text: Any) -> datetime | None:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None

    return parse(valid.get("start")), parse(valid.get("end"))


def _outside(entry: Any, when: datetime) -> str | None:
    start, end = _window(entry)
    if start is not None and when < start:
        return f"starts {start.isoformat()}"
    if end is not None and when > end:
        return f"ended {end.isoformat()}"
    return None


def _key_id(entry: dict[str, Any]) -> bytes | None:
    try:
        return base64.b64decode(entry["logId"]["keyId"])
    except (KeyError, TypeError, ValueError):
        return None


def validity_problem(root: LoadedRoot, certificate: x509.Certificate, log_key_id: bytes | None,
                     integrated_time: int | None) -> str | None:
    """Why a key of the trusted root was not valid when it was used (sigstore 4.5 does not check `validFor`), or
    None. CA: at the certificate's issuance; transparency log: at the entry's integrated time (the certificate's
    issuance for Rekor v2 entries, which carry none); CT logs: at each SCT's timestamp."""
    from cryptography import x509

    doc = root.document
    signed_at = certificate.not_valid_before_utc
    issuer = certificate.issuer.public_bytes()
    for ca in doc.get("certificateAuthorities") or []:
        chain = ((ca.get("certChain") or {}).get("certificates") or []) if isinstance(ca, dict) else []
        try:
            subjects = [x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"])).subject.public_bytes()
                        for c in chain]
        except (KeyError, TypeError, ValueError):
            continue
        if issuer in subjects and (why := _outside(ca, signed_at)):
            return f"the certificate authority {ca.get('uri', '')} was not valid at signing time ({why})"
    when = datetime.fromtimestamp(integrated_time, UTC) if integrated_time else signed_at
    for log in doc.get("tlogs") or []:
        if log_key_id is not None and isinstance(log, dict) and _key_id(log) == log_key_id:
            if why := _outside(log.get("publicKey"), when):
                return f"the transparency log key {log.get('baseUrl', '')} was not valid at {when.isoformat()} ({why})"
    try:
        scts = certificate.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound:
        scts = []
    for sct in scts:
        for log in doc.get("ctlogs") or []:
            if isinstance(log, dict) and _key_id(log) == sct.log_id:
                if why := _outside(log.get("publicKey"), sct.timestamp.replace(tzinfo=UTC)):
                    return f"the CT log key {log.get('baseUrl', '')} was not valid at the SCT's time ({why})"
    return None
