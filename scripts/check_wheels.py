"""Install-time check: on every platform we support, the platform-specific dependencies resolve to a wheel.

    .venv/bin/python scripts/check_wheels.py          (run by .ci/run; needs PyPI, as any install does)

For each platform, the environment markers in the pyproject.toml files (root and packages/*) pick the
requirement that applies (xgboost-cpu on Linux, xgboost elsewhere; exactly one must), then
`pip download --platform … --only-binary=:all:` proves a wheel exists. The result is recorded in the machine
cache, keyed by the dependency list, so tests can assert it (tests/report/test_install.py) without network
access, and a later run with the same dependencies is free. Exit 1 if any platform has no wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
# Dependencies whose wheels (or package) differ by platform.
CHECKED = {"xgboost", "xgboost-cpu"}
PYTHON = "3.11"
PLATFORMS = {
    "linux-x86_64": ("manylinux_2_28_x86_64", {"sys_platform": "linux", "platform_system": "Linux",
                                                "platform_machine": "x86_64"}),
    "linux-aarch64": ("manylinux_2_28_aarch64", {"sys_platform": "linux", "platform_system": "Linux",
                                                  "platform_machine": "aarch64"}),
    "macos-arm64": ("macosx_14_0_arm64", {"sys_platform": "darwin", "platform_system": "Darwin",
                                          "platform_machine": "arm64"}),
    "macos-x86_64": ("macosx_13_0_x86_64", {"sys_platform": "darwin", "platform_system": "Darwin",
                                            "platform_machine": "x86_64"}),
    "windows-amd64": ("win_amd64", {"sys_platform": "win32", "platform_system": "Windows",
                                    "platform_machine": "AMD64"}),
}


def dependencies() -> list[str]:
    """Runtime dependencies of the project and of its own libraries (packages/*), in file order."""
    files = [REPO / "pyproject.toml", *sorted((REPO / "packages").glob("*/pyproject.toml"))]
    return [d for f in files for d in tomllib.loads(f.read_text(encoding="utf-8"))["project"]["dependencies"]]


def record_path(deps: list[str]) -> Path:
    digest = hashlib.sha256(json.dumps(sorted(deps)).encode("utf-8")).hexdigest()[:16]
    cache = Path(os.environ.get("GUARDRAILS_CACHE_DIR", Path.home() / ".cache" / "serverless-guardrails"))
    return cache / "install-checks" / f"wheels-{digest}.json"


def applicable(deps: list[str], markers: dict[str, str]) -> list[Requirement]:
    env = {"python_version": PYTHON, "python_full_version": f"{PYTHON}.0", "os_name": "nt"
           if markers["sys_platform"] == "win32" else "posix", "implementation_name": "cpython", **markers}
    found = [Requirement(d) for d in deps]
    return [r for r in found if r.name in CHECKED and (r.marker is None or r.marker.evaluate(env))]


def download(requirement: Requirement, platform_tag: str) -> tuple[bool, str]:
    spec = f"{requirement.name}{requirement.specifier}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--platform", platform_tag, "--python-version", PYTHON, "--dest", tmp, spec],
                              capture_output=True, text=True)
        wheels = sorted(p.name for p in Path(tmp).glob("*.whl"))
    if proc.returncode == 0 and wheels:
        return True, wheels[0]
    return False, (proc.stderr.strip().splitlines() or ["pip download failed"])[-1]


def main() -> int:
    deps = dependencies()
    path = record_path(deps)
    if path.exists() and all(p["ok"] for p in json.loads(path.read_text())["platforms"].values()):
        print(f"wheels: already checked for these dependencies ({path})")
        return 0
    platforms = {}
    for name, (tag, markers) in PLATFORMS.items():
        picked = applicable(deps, markers)
        if len(picked) != 1:
            platforms[name] = {"requirement": [str(r) for r in picked], "ok": False,
                               "detail": f"{len(picked)} of {sorted(CHECKED)} apply (markers must pick one)"}
        else:
            ok, detail = download(picked[0], tag)
            platforms[name] = {"requirement": str(picked[0]), "ok": ok, "detail": detail}
        print(f"wheels: {name:14s} {platforms[name]['requirement']!s:45s} "
              f"{'ok' if platforms[name]['ok'] else 'MISSING'}: {platforms[name]['detail']}")
    # The check must be able to fail: the requirement this repo used to declare everywhere has no macOS wheel.
    control_ok, control_detail = download(Requirement("xgboost-cpu>=3.0,<4"), PLATFORMS["macos-arm64"][0])
    controls = {"xgboost-cpu on macos-arm64": {"ok": control_ok, "detail": control_detail}}
    print(f"wheels: control: xgboost-cpu on macos-arm64 {'found (!)' if control_ok else 'missing, as expected'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"dependencies": deps, "python": PYTHON, "platforms": platforms, "controls": controls,
                                "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}, indent=1))
    return 0 if all(p["ok"] for p in platforms.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
