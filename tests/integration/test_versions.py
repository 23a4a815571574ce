"""The single version pin file agrees with the Python SDKs installed in .venv and with the built tools."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
from pathlib import Path

from tests.integration.helpers import REPO, require_cli, versions_env


def _semver(text: str) -> tuple[int, ...]:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    assert match, f"not a version: {text!r}"
    return tuple(int(part) for part in match.groups())


def test_python_sdk_pins_match_installed_packages() -> None:
    pins = versions_env()
    assert pins["PULUMI_PYTHON_SDK_VERSION"] == importlib.metadata.version("pulumi")
    assert pins["PULUMI_KUBERNETES_PYTHON_SDK_VERSION"] == importlib.metadata.version("pulumi_kubernetes")


def test_kubernetes_plugin_registered_under_the_version_the_sdk_requests() -> None:
    # find_spec, not import: importing pulumi_kubernetes takes many seconds.
    spec = importlib.util.find_spec("pulumi_kubernetes")
    assert spec is not None and spec.submodule_search_locations, "pulumi_kubernetes is not installed"
    manifest = Path(next(iter(spec.submodule_search_locations))) / "pulumi-plugin.json"
    assert manifest.is_file(), f"{manifest} missing: pulumi_kubernetes no longer declares its plugin version"
    assert versions_env()["PULUMI_K8S_PLUGIN_VERSION"] == json.loads(manifest.read_text())["version"]


def test_cli_is_not_older_than_the_python_sdk() -> None:
    pins = versions_env()
    assert _semver(pins["PULUMI_CLI_VERSION"]) >= _semver(pins["PULUMI_PYTHON_SDK_VERSION"])


def test_language_host_builds_against_the_cli_sdk_release() -> None:
    go_mod = (REPO / "scripts" / "pulumi-language-python" / "go.mod").read_text()
    assert f"github.com/pulumi/pulumi/sdk/v3 v{versions_env()['PULUMI_CLI_VERSION']}" in go_mod


def test_installed_cli_reports_a_supported_version() -> None:
    cli = require_cli()
    reported = subprocess.run([str(cli), "version"], capture_output=True, text=True, check=True,
                              env={"PULUMI_SKIP_UPDATE_CHECK": "true", "PATH": "/usr/bin:/bin"}).stdout
    assert _semver(reported) >= _semver(versions_env()["PULUMI_PYTHON_SDK_VERSION"])
    if (REPO / ".tools" / "bin").resolve() == cli.parent.resolve():
        # Our own build: exactly the pinned version.
        assert _semver(reported) == _semver(versions_env()["PULUMI_CLI_VERSION"])
