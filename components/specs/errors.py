"""Declaration errors that name the file, the line, the field path, what was found and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Error output stays bounded whatever the input: one error per (file, field), messages and shown values cut, and at
# most MAX_ERRORS lines (a generated file with 500,000 bad documents must not print 500,000 lines).
MAX_ERRORS = 200
MAX_MESSAGE = 400
MAX_VALUE = 80
MAX_PATH = 200


def shown(value: Any, limit: int = MAX_VALUE) -> str:
    """`repr(value)` cut to `limit` characters, for quoting user input in a message."""
    text = repr(value) if not isinstance(value, dict | list) else f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Values under these fields are never quoted in a message (a card number in an env var must not reach a CI log).
_SENSITIVE = re.compile(r"env|environment|pass(word)?|passwd|secret|token|credential|private|api[-_]?key|"
                        r"access[-_]?key|auth", re.IGNORECASE)


def is_sensitive(path: Iterable[object]) -> bool:
    """Whether a field path leads into environment variables or under a secret-looking key."""
    return any(isinstance(part, str) and _SENSITIVE.search(part) for part in path)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class DeclarationError:
    file: str
    line: int | None
    path: str  # dotted field path, e.g. spec.template.spec.containers[0].image
    message: str  # what is wrong and what is allowed

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class DeclarationErrors(Exception):
    """All errors of all declaration files, raised together so nothing is registered."""

    def __init__(self, errors: Iterable[DeclarationError]):
        unique: dict[tuple[str, int | None, str], DeclarationError] = {}
        for e in errors:
            e = DeclarationError(e.file, e.line, _cut(e.path, MAX_PATH), _cut(e.message, MAX_MESSAGE))
            unique.setdefault((e.file, e.line, e.path), e)  # the first error of a field is the one to fix first
        self.errors = sorted(unique.values(), key=lambda e: (e.file, e.line or 0, e.path))
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.errors)
        head = f"{count} invalid declaration{'s' if count != 1 else ''} (nothing was registered):"
        lines = [head, *(f"  {e}" for e in self.errors[:MAX_ERRORS])]
        if count > MAX_ERRORS:
            lines.append(f"  … and {count - MAX_ERRORS} more errors (fix the ones above first)")
        return "\n".join(lines)


def format_path(parts: Iterable[object]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "":
            out += '.""' if out else '""'  # an empty key must still show as a field
        else:
            out += f".{part}" if out else str(part)
    return out
