"""Read YAML declaration files keeping line numbers, so errors can point at the right line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from components.specs.errors import DeclarationError


@dataclass(frozen=True)
class SourceDocument:
    """One YAML document of a declaration file: plain data plus a way back to line numbers."""

    file: str
    index: int  # position in a multi-document file
    line: int  # 1-based line where the document starts
    data: Any  # plain dicts/lists/scalars
    node: Any  # the ruamel node (for line look-ups)

    def line_of(self, path: Sequence[str | int]) -> int:
        """Best line for a field path: the deepest node on the path that exists."""
        node, line = self.node, self.line
        for part in path:
            try:
                if isinstance(node, CommentedMap) and part in node:
                    line = node.lc.key(part)[0] + 1
                    node = node[part]
                elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                    line = node.lc.item(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (AttributeError, KeyError, TypeError, IndexError):
                break
        return line


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool | int | float | str) or node is None:
        # ruamel scalar subclasses (ScalarFloat, ...) become plain Python values.
        for t in (bool, int, float, str):
            if isinstance(node, t):
                return t(node)
        return node
    return str(node)  # timestamps and other tagged scalars: keep their text


def load_documents(text: str, file: str) -> tuple[list[SourceDocument], list[DeclarationError]]:
    """Parse every document of a file. Errors carry the file and the line of the syntax problem."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    docs: list[SourceDocument] = []
    try:
        for index, node in enumerate(yaml.load_all(text)):
            if node is None:
                continue  # an empty document (e.g. a trailing `---`)
            line = (node.lc.line + 1) if hasattr(node, "lc") and node.lc.line is not None else 1
            docs.append(SourceDocument(file=file, index=index, line=line, data=_plain(node), node=node))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        return [], [DeclarationError(file, line, "", f"not valid YAML: {problem}")]
    except YAMLError as exc:
        return [], [DeclarationError(file, None, "", f"not valid YAML: {exc}")]
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an anchor bomb or odd tags
        return [], [DeclarationError(file, None, "", f"not valid YAML: {exc.__class__.__name__}: {exc}")]
    return docs, []
