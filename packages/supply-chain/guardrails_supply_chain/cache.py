"""A small on-disk cache of verification results, so re-previews do not re-verify unchanged evidence.

Key = sha256 over (artifact digest, bundle digest, signer policy, trusted-root digest, sigstore version), so any
change to the evidence, the policy, the root or the verifier misses. The file lives under `.preflight-cache/`
(git-ignored). A missing, unreadable or corrupt file is treated as empty; it never fails a preview and never
turns a failure into a pass (a corrupt entry is simply not found).

The key is public material, so anyone who can write the project folder could compute it and plant
`{"verified": true}`. Each entry is therefore sealed with an HMAC under a random per-user key kept outside the
project (`$XDG_CACHE_HOME/serverless-guardrails/`, mode 0600); an entry without a valid seal is a miss and the
bundle is verified again. Without a usable key there is no cache at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from guardrails_core.atomic import write_atomic

CACHE_DIR = ".preflight-cache"
CACHE_FILE = "supply-chain.json"
_FORMAT = 1


def _sigstore_version() -> str:
    try:
        return metadata.version("sigstore")
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_key(artifact_sha256: str, bundle_sha256: str, signers: list[dict[str, Any]], root_sha256: str) -> str:
    material = {
        "format": _FORMAT,
        "artifact": artifact_sha256,
        "bundle": bundle_sha256,
        "signers": signers,
        "root": root_sha256,
        "sigstore": _sigstore_version(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


SEAL_KEY_FILE = "supply-chain-cache.key"


def seal_key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "serverless-guardrails" / SEAL_KEY_FILE


def _seal_key() -> bytes | None:
    path = seal_key_path()
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
        return path.read_bytes()
    except OSError:
        try:  # another process created it first
            data = path.read_bytes()
            return data if len(data) >= 32 else None
        except OSError:
            return None


def _seal(secret: bytes, key: str, result: dict[str, Any]) -> str:
    body = {k: v for k, v in result.items() if k != "seal"}
    message = key.encode() + b"\0" + json.dumps(body, sort_keys=True).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class VerificationCache:
    def __init__(self, project_dir: Path) -> None:
        self.path = Path(project_dir) / CACHE_DIR / CACHE_FILE
        self._entries: dict[str, dict[str, Any]] | None = None
        self._dirty = False
        self._secret = _seal_key()

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                doc = json.loads(self.path.read_text())
                entries = doc.get("entries") if isinstance(doc, dict) and doc.get("format") == _FORMAT else None
                self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def get(self, key: str) -> dict[str, Any] | None:
        if self._secret is None:
            return None
        entry = self._load().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("verified"), bool):
            return None
        seal = entry.get("seal")
        if not isinstance(seal, str) or not hmac.compare_digest(seal, _seal(self._secret, key, entry)):
            return None  # forged or from another machine: verify again
        return {k: v for k, v in entry.items() if k != "seal"}

    def put(self, key: str, result: dict[str, Any]) -> None:
        if self._secret is None:
            return
        self._load()[key] = {**result, "seal": _seal(self._secret, key, result)}
        self._dirty = True

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({"format": _FORMAT, "entries": self._entries}, sort_keys=True,
                                               indent=1))
            self._dirty = False
        except OSError:
            # A read-only checkout still previews; it only loses the speed-up.
            pass
