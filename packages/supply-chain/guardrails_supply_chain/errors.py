"""Short, single-line descriptions of library errors, so findings and CLI output stay readable."""

from __future__ import annotations

from pydantic import ValidationError


def describe_exception(exc: BaseException, max_items: int = 3) -> str:
    """`exc` as one line: pydantic errors become `field: message` pairs instead of a multi-line dump."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:max_items]:
            loc = ".".join(str(p) for p in err["loc"]) or "(document)"
            parts.append(f"{loc}: {err['msg']}")
        more = exc.error_count() - max_items
        if more > 0:
            parts.append(f"... and {more} more")
        return "; ".join(parts)
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
