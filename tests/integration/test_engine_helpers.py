"""CLI-free checks of preflight.engine.pulumi_cli: event decoding, provenance, the project work copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from guardrails_core.values import UNKNOWN, UNKNOWN_SENTINEL, Secret

from preflight.engine import pulumi_cli
from tests.integration.helpers import project_copy


def test_event_values_become_preflight_markers() -> None:
    decoded = pulumi_cli._from_event_value({"a": [UNKNOWN_SENTINEL, "[secret]", 3], "b": {"c": "x"}})
    assert decoded["a"][0] is UNKNOWN
    assert isinstance(decoded["a"][1], Secret)
    assert decoded["a"][2] == 3 and decoded["b"] == {"c": "x"}


def test_work_copy_keeps_user_files_untouched_and_salt_with_the_state(tmp_path: Path) -> None:
    project = project_copy(tmp_path, {})
    config = project / "stacks" / "Pulumi.local.yaml"
    original = config.read_text()
    backend = tmp_path / "state"

    with pulumi_cli._work_copy(project, "local", pulumi_cli.rendered_dir(backend), backend) as (copy, chosen):
        assert chosen is None  # no --config-file: the CLI reads the copy's stack file
        assert (copy / ".venv").resolve() == (pulumi_cli.repo_root() / ".venv").resolve()
        assert (copy / "rendered").resolve() == pulumi_cli.rendered_dir(backend)
        copied = copy / "stacks" / "Pulumi.local.yaml"
        copied.write_text("encryptionsalt: v1:abc:def\n" + copied.read_text())  # what `stack init` does
    assert config.read_text() == original
    assert (backend / ".guardrails" / "local.encryptionsalt").read_text().strip() == "v1:abc:def"

    with pulumi_cli._work_copy(project, "local", pulumi_cli.rendered_dir(backend), backend) as (copy, _):
        assert (copy / "stacks" / "Pulumi.local.yaml").read_text().startswith("encryptionsalt: v1:abc:def\n")


def test_work_copy_hands_the_cli_a_copy_of_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails_core.settings import CONFIG_FILE_ENV

    project = project_copy(tmp_path, {})
    alt = tmp_path / "alt.yaml"
    alt.write_text((project / "stacks" / "Pulumi.local.yaml").read_text())
    original = alt.read_text()
    backend = tmp_path / "state"
    monkeypatch.setenv(CONFIG_FILE_ENV, str(alt))

    with pulumi_cli._work_copy(project, "local", pulumi_cli.rendered_dir(backend), backend) as (_, chosen):
        assert chosen is not None and chosen != alt and chosen.read_text() == original
        chosen.write_text("encryptionsalt: v1:abc:def\n" + chosen.read_text())  # what the CLI may do
    assert alt.read_text() == original  # the user's file is never written
    assert (backend / ".guardrails" / "local.encryptionsalt").read_text().strip() == "v1:abc:def"
    with pulumi_cli._work_copy(project, "local", pulumi_cli.rendered_dir(backend), backend) as (_, chosen):
        assert chosen is not None and chosen.read_text().startswith("encryptionsalt: v1:abc:def\n")


def test_bad_stack_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(pulumi_cli.PulumiCliError, match="stack name"):
        pulumi_cli.parse_stack_ref(pulumi_cli.repo_root(), "../etc")
    with pytest.raises(pulumi_cli.PulumiCliError, match="belongs to project .other."):
        pulumi_cli.parse_stack_ref(pulumi_cli.repo_root(), "acme/other/cluster")


def test_stack_names_as_the_cli_takes_them() -> None:
    root = pulumi_cli.repo_root()
    assert pulumi_cli.parse_stack_ref(root, "cluster").short == "cluster"
    assert pulumi_cli.parse_stack_ref(root, "acme/cluster") == pulumi_cli.StackRef("acme/cluster", "cluster")
    ref = pulumi_cli.parse_stack_ref(root, "organization/serverless-guardrails/cluster")
    assert (ref.name, ref.short) == ("organization/serverless-guardrails/cluster", "cluster")


def test_backend_is_the_users_in_the_clis_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_copy(tmp_path, {})
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PULUMI_HOME", str(home))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("GUARDRAILS_PULUMI_HOME", str(home))
    monkeypatch.setattr(pulumi_cli.Path, "home", lambda: tmp_path / "nobody")
    monkeypatch.setattr(pulumi_cli, "repo_root", lambda: tmp_path / "no-repo")
    with pytest.raises(pulumi_cli.NoBackendError, match="--backend temp"):
        pulumi_cli.resolve_backend(project)
    (home / "credentials.json").write_text('{"current": "file:///srv/state"}')
    assert pulumi_cli.resolve_backend(project) == pulumi_cli.Backend("file:///srv/state", "pulumi login")
    (project / "Pulumi.yaml").write_text((project / "Pulumi.yaml").read_text() + "backend:\n  url: s3://team-state\n")
    assert pulumi_cli.resolve_backend(project).url == "s3://team-state"
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://user:pw@api.pulumi.com/x?token=1")
    chosen = pulumi_cli.resolve_backend(project)
    assert chosen.origin == "PULUMI_BACKEND_URL" and chosen.display() == "https://api.pulumi.com/x"
    assert pulumi_cli.resolve_backend(project, "temp").throwaway
    with pytest.raises(pulumi_cli.PulumiCliError, match="not a Pulumi backend URL"):
        pulumi_cli.resolve_backend(project, "/tmp/state")


def test_secure_values_without_their_salt_are_refused(tmp_path: Path) -> None:
    project = project_copy(tmp_path, {})
    config = project / "stacks" / "Pulumi.cluster.yaml"
    config.write_text(config.read_text() + "  guardrails:token:\n    secure: v1:abc\n")
    with pytest.raises(pulumi_cli.PulumiCliError, match="no `encryptionsalt:` line"):
        pulumi_cli._check_inputs(project, pulumi_cli.StackRef("cluster", "cluster"), [])


def test_kubeconfig_is_forced_empty_only_for_render_only_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    root = pulumi_cli.repo_root()
    monkeypatch.setenv("KUBECONFIG", "/home/me/.kube/config")
    assert pulumi_cli.renders_only(root, "local") and not pulumi_cli.renders_only(root, "cluster")
    cli = Path("/usr/bin/pulumi")
    assert pulumi_cli.cli_env(cli, "file:///x", render_only=True)["KUBECONFIG"] == "/dev/null"
    assert pulumi_cli.cli_env(cli, "file:///x", render_only=False)["KUBECONFIG"] == "/home/me/.kube/config"
