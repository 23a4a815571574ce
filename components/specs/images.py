"""Container image references: grammar check and placeholder detection."""

from __future__ import annotations

import re

from components.specs.errors import shown

# docker/distribution reference grammar (simplified but strict enough to catch typos and templates).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>|\$\{[^}]*\}|\$\(")


def image_problem(image: object) -> str | None:
    """Why an image reference cannot be deployed, or None."""
    if not isinstance(image, str) or not image.strip():
        return "image must be a non-empty string such as registry/repo:tag@sha256:<digest>"
    if image.startswith("ko://"):
        return f"image {shown(image)} is a ko build path; run `ko resolve` and declare the built image reference"
    if placeholder := _PLACEHOLDER.search(image):
        return (f"image {shown(image)} contains the placeholder {shown(placeholder.group(0))}; "
                "replace it with a real reference")
    if not _REFERENCE.fullmatch(image):
        return f"image {shown(image)} is not a valid image reference (registry/repo[:tag][@sha256:<64 hex>])"
    return None
