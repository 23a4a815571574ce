"""A small on-disk cache of verification results, so re-previews do not re-verify unchanged evidence.

Key = sha256 over (artifact digest, bundle digest, signer policy, trusted-root digest, sigstore version), so any
change to the evidence, the policy, the root or the verifier misses. The file lives under `.preflight-cache/`
(git-ignored). A missing, unreadable or corrupt file is treated as empty; it never fails a preview and never
turns a failure into a pass (a corrupt entry is simply not found).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

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


class VerificationCache:
    def __init__(self, project_dir: Path) -> None:
        self.path = Path(project_dir) / CACHE_DIR / CACHE_FILE
        self._entries: dict[str, dict[str, Any]] | None = None
        self._dirty = False

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
        entry = self._load().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("verified"), bool):
            return None
        return entry

    def put(self, key: str, result: dict[str, Any]) -> None:
        self._load()[key] = result
        self._dirty = True

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".supply-chain.", suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump({"format": _FORMAT, "entries": self._entries}, handle, sort_keys=True, indent=1)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            # A read-only checkout still previews; it only loses the speed-up.
            pass
