"""`preflight verify`: offline Sigstore verification of one artifact, like `cosign verify-blob`.

Exit codes: 0 verified; 1 not verified (the reason is printed); 2 usage error (bad flags, or a named file —
artifact, bundle, trusted root — that does not exist or cannot be used as one).

    preflight verify ARTIFACT --bundle FILE --identity ID --issuer URL [--trusted-root FILE] [--json]

ARTIFACT is a file, a `sha256:<hex>` digest, or an image reference pinned by digest (`repo@sha256:<hex>`).
Standalone: `python -m preflight.verify_cli verify ...`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from guardrails_core.safe_input import UnsafeInputError, read_bytes_bounded
from guardrails_core.settings import SignerRule
from guardrails_supply_chain.artifacts import normalise_digest, parse_image_ref
from guardrails_supply_chain.errors import describe_exception
from guardrails_supply_chain.trust import TrustedRootError, load_trusted_root
from guardrails_supply_chain.verify import MAX_BUNDLE_BYTES, sha256_file, verify_bundle_bytes
from pydantic import ValidationError

EXIT_VERIFIED, EXIT_NOT_VERIFIED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


def add_verify_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `verify` on an argparse subparsers object; the handler is `args.func(args) -> int`."""
    parser = subparsers.add_parser(
        "verify",
        help="verify an artifact against a Sigstore bundle offline (like cosign verify-blob)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("artifact", metavar="ARTIFACT", help="file, sha256:<hex> digest, or image@sha256:<hex>")
    parser.add_argument("--bundle", required=True, metavar="FILE", help="Sigstore bundle (.sigstore.json)")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--identity", metavar="ID", help="expected signer identity (certificate SAN), exact")
    who.add_argument("--identity-regexp", metavar="REGEX", help="expected signer identity as a full-match regex")
    parser.add_argument("--issuer", required=True, metavar="URL", help="expected OIDC issuer, exact")
    parser.add_argument(
        "--trusted-root",
        default="production",
        metavar="FILE",
        help="trusted_root.json, or 'production' / 'staging' for the roots shipped in the sigstore package "
        "(default: production). Never fetched from the network.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run_verify)
    return parser


def _artifact_digest(artifact: str) -> str:
    path = Path(artifact)
    if path.is_file():
        return sha256_file(path)
    if path.exists():
        raise UsageError(f"artifact {artifact}: not a regular file")
    digest = normalise_digest(artifact)
    if digest is None and "@" in artifact:
        pinned = parse_image_ref(artifact).digest
        digest = normalise_digest(pinned) if pinned else None
    if digest is None:
        raise UsageError(
            f"artifact {artifact}: no such file, and not a sha256:<64 hex> digest or image@sha256:<hex> reference"
        )
    return digest.removeprefix("sha256:")


def _verify(args: argparse.Namespace) -> dict[str, Any]:
    digest = _artifact_digest(args.artifact)
    bundle_path = Path(args.bundle)
    if not bundle_path.is_file():
        raise UsageError(f"--bundle {args.bundle}: no such file")
    try:
        rule = SignerRule(identity=args.identity, identity_regex=args.identity_regexp, issuer=args.issuer)
    except ValidationError as exc:
        raise UsageError(f"--identity/--identity-regexp/--issuer: {describe_exception(exc)}") from exc
    try:
        root = load_trusted_root(args.trusted_root, Path.cwd())
    except TrustedRootError as exc:
        raise UsageError(f"--trusted-root: {exc}") from exc
    try:
        bundle_bytes = read_bytes_bounded(bundle_path, MAX_BUNDLE_BYTES)
    except UnsafeInputError as exc:
        raise UsageError(f"--bundle {args.bundle}: refused: it {exc}") from None
    result = verify_bundle_bytes(digest, bundle_bytes, [rule], root, args.bundle)
    return {
        "artifact": args.artifact,
        "digest": f"sha256:{digest}",
        "bundle": args.bundle,
        "trusted_root": root.name,
        **result.to_dict(),
    }


def run_verify(args: argparse.Namespace) -> int:
    try:
        outcome = _verify(args)
    except UsageError as exc:
        if args.json:
            print(json.dumps({"verified": False, "error": str(exc)}))
        print(f"preflight verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(outcome, indent=2))
    elif outcome["verified"]:
        print(f"Verified OK: {outcome['artifact']} ({outcome['digest']})")
        print(f"  signer: {outcome['signer']}\n  issuer: {outcome['issuer']}\n  {outcome['reason']}")
    else:
        print(f"Not verified: {outcome['artifact']} ({outcome['digest']})")
        print(f"  reason: {outcome['reason']}")
    return EXIT_VERIFIED if outcome["verified"] else EXIT_NOT_VERIFIED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="preflight")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_verify_parser(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
