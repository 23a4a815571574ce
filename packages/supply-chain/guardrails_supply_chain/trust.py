"""Trusted roots for offline verification: the ones shipped in the installed `sigstore` wheel, or a repo file.

We deliberately do not call `ClientTrustConfig.production(offline=True)`: it reads the user's TUF cache
(~/.local/share/sigstore), whose content depends on the machine. The wheel's embedded `trusted_root.json` is
pinned by the installed package version, so every machine verifies against the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sigstore.errors import Error as SigstoreError
from sigstore.models import TrustedRoot
from sigstore_models.trustroot import v1 as trustroot_v1

from guardrails_supply_chain.errors import describe_exception

# Folder names inside sigstore/_store (the TUF URL, percent-encoded), as shipped in sigstore 4.x.
_EMBEDDED = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}


class TrustedRootError(ValueError):
    """The trusted root cannot be loaded; the message names the source."""


@dataclass(frozen=True)
class LoadedRoot:
    name: str  # "production", "staging" or the file path as given
    sha256: str  # of the JSON bytes; part of the verification cache key
    root: TrustedRoot


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
        raw = path.read_bytes()
        label = spec
    digest = hashlib.sha256(raw).hexdigest()
    cached = _loaded.get((label, digest))
    if cached is not None:
        return cached
    try:
        # sigstore 4.5 exposes only `TrustedRoot.from_file`; this is the same parse from bytes we already hold.
        root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(raw))
    except (SigstoreError, ValueError, TypeError) as exc:
        raise TrustedRootError(
            f"trusted root {spec!r}: not a valid Sigstore trusted_root.json: {describe_exception(exc)}"
        ) from exc
    loaded = LoadedRoot(name=label, sha256=digest, root=root)
    _loaded[(label, digest)] = loaded
    return loaded
