"""Declaration errors that name the file, the line, the field path, what was found and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
        self.errors = sorted(errors, key=lambda e: (e.file, e.line or 0, e.path))
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.errors)
        head = f"{count} invalid declaration{'s' if count != 1 else ''} (nothing was registered):"
        return "\n".join([head, *(f"  {e}" for e in self.errors)])


def format_path(parts: Iterable[object]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
