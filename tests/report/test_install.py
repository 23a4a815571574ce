"""Installing on every platform: markers pick xgboost-cpu on Linux and xgboost on macOS/Windows, and a wheel
exists for each (checked at install time by scripts/check_wheels.py, which .ci/run runs; here its recorded
result is asserted). Unused dependencies stay out; dev tools are bounded."""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import check_wheels  # noqa: E402

REQUIRE_ENV = "GUARDRAILS_REQUIRE_INSTALL_CHECKS"


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.mark.parametrize(("platform", "package"), [
    ("linux-x86_64", "xgboost-cpu"), ("linux-aarch64", "xgboost-cpu"), ("macos-arm64", "xgboost"),
    ("macos-x86_64", "xgboost"), ("windows-amd64", "xgboost"),
])
def test_markers_pick_one_xgboost_per_platform(platform: str, package: str) -> None:
    picked = check_wheels.applicable(check_wheels.dependencies(), check_wheels.PLATFORMS[platform][1])
    assert [r.name for r in picked] == [package]


def test_every_platform_has_a_wheel_recorded_at_install_time() -> None:
    path = check_wheels.record_path(check_wheels.dependencies())
    if not path.exists():
        message = f"no wheel check recorded for these dependencies ({path}): run scripts/check_wheels.py"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1 forbids skipping)")
        pytest.skip(message)
    record = json.loads(path.read_text())
    assert record["dependencies"] == check_wheels.dependencies()
    assert set(record["platforms"]) == set(check_wheels.PLATFORMS)
    for name, result in record["platforms"].items():
        assert result["ok"], (name, result)
        tag = check_wheels.PLATFORMS[name][0].split("_")[0]  # manylinux / macosx / win
        assert result["detail"].endswith(".whl") and tag in result["detail"], (name, result)
    # the check is real: the old everywhere-requirement has no macOS wheel, and the recorded control says so
    assert record["controls"]["xgboost-cpu on macos-arm64"]["ok"] is False


def test_no_unused_dependencies_and_bounded_dev_tools() -> None:
    names = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in check_wheels.dependencies()}
    sources = [p for p in REPO.rglob("*.py") if ".venv" not in p.parts and ".tools" not in p.parts]
    # ruamel.yaml (round-trip edits of declarations) is a dependency exactly because the one declaration editor,
    # preflight.gitops.yaml_edit (GitOps commits and drift's adopt patches), imports it; nothing else may.
    users = {p.relative_to(REPO).parts[:2] for p in sources
             if re.search(r"^\s*(import|from) ruamel", p.read_text(errors="ignore"), re.M)}
    assert ("ruamel.yaml" in names) == bool(users) and users <= {("preflight", "gitops")}
    ruff = next(d for d in project()["optional-dependencies"]["dev"] if d.startswith("ruff"))
    assert "<" in ruff
