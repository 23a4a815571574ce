"""The layers, one way: core <- libraries <- policy packs <- preflight; components <- core.

A lower layer never imports a higher one (statically, anywhere in the file, lazily imported or not).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = {"guardrails_core", "guardrails_predict", "guardrails_supply_chain", "guardrails_pack", "components",
        "preflight", "scripts", "tests", "benchmarks"}
# layer -> (its source folders, the packages of ours it may import)
LAYERS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "core": (("packages/core",), {"guardrails_core"}),
    "predict": (("packages/predict",), {"guardrails_core", "guardrails_predict"}),
    "supply-chain": (("packages/supply-chain",), {"guardrails_core", "guardrails_supply_chain"}),
    "policy pack": (("policy_packs/guardrails",),
                    {"guardrails_core", "guardrails_predict", "guardrails_supply_chain", "guardrails_pack"}),
    "components": (("components", "__main__.py"), {"guardrails_core", "components"}),
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".", 1)[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".", 1)[0])
    return roots & OURS


def _files(folders: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for folder in folders:
        path = REPO / folder
        out.extend([path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "venv" not in p.parts))
    return out


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_no_layer_imports_a_higher_one(layer: str) -> None:
    folders, allowed = LAYERS[layer]
    files = _files(folders)
    assert files, f"{layer}: no source files under {folders}"
    offenders = {str(p.relative_to(REPO)): sorted(imported_roots(p) - allowed) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from preflight.cli import main\n    import components.labels\n")
    assert imported_roots(source) == {"preflight", "components"}


def test_the_pack_names_no_path_outside_its_folder() -> None:
    pack = REPO / "policy_packs" / "guardrails"
    offenders = []
    for path in _files(("policy_packs/guardrails",)):
        text = path.read_text()
        if "parents[" in text or "../" in text:  # climbing out of the folder
            offenders.append(str(path.relative_to(pack)))
    assert offenders == []
    manifest = (pack / "PulumiPolicy.yaml").read_text()
    assert "virtualenv: venv" in manifest and "../" not in manifest
