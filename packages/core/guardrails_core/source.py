"""Where a resource or a finding comes from in Git: one format, one writer, one parser.

Components write `SOURCE_KEY: "services/x.yaml:12"` onto what they render (a Knative annotation, a Lambda tag),
so a resource seen anywhere (the engine, a pack, a refreshed state) can be traced to its declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCE_KEY = "serverless-guardrails.dev/source"
# The input of a component resource (components/) that carries its declaration, as loaded (overlays applied):
# `{"source": "services/x.yaml:12", "document": {...}}`. Predictions read it instead of re-reading the file.
DECLARATION_INPUT = "declaration"
_SOURCE_RE = re.compile(r"^(?P<file>[^\n:]+):(?P<line>[1-9]\d{0,8})$")


@dataclass(frozen=True)
class SourceLocation:
    file: str  # relative to the project directory, POSIX separators
    line: int  # 1-based

    def __str__(self) -> str:
        return format_source(self.file, self.line)


def format_source(file: str, line: int) -> str:
    return f"{file}:{int(line)}"


def parse_source(text: object) -> SourceLocation | None:
    """`"services/x.yaml:12"` -> SourceLocation; anything else (absent, unknown, malformed) -> None."""
    if not isinstance(text, str):
        return None
    match = _SOURCE_RE.match(text.strip())
    return SourceLocation(match["file"], int(match["line"])) if match else None


def source_of_props(props: object) -> SourceLocation | None:
    """The provenance a component wrote on a rendered resource: Knative annotation or AWS tag."""
    if not isinstance(props, dict):
        return None
    metadata = props.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    tags = props.get("tags")
    for holder in (annotations, tags):
        if isinstance(holder, dict) and SOURCE_KEY in holder:
            return parse_source(holder[SOURCE_KEY])
    return None
