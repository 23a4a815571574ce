"""Locations become links to the file and line on the repository's web page when its URL is known."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from preflight.report.links import blob_base, location_url, remote_web_url


@pytest.mark.parametrize(("remote", "web"), [
    ("git@github.com:apexlogic/guardrails.git", "https://github.com/apexlogic/guardrails"),
    ("https://github.com/apexlogic/guardrails.git", "https://github.com/apexlogic/guardrails"),
    ("https://token@github.com/apexlogic/guardrails", "https://github.com/apexlogic/guardrails"),
    ("ssh://git@github.example.com:2222/team/repo.git", "https://github.example.com/team/repo"),
    ("/srv/git/repo.git", None),
    ("../elsewhere", None),
])
def test_remote_urls(remote: str, web: str | None) -> None:
    assert remote_web_url(remote) == web


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "Pulumi.yaml").write_text("name: x\n")
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    git(repo, "remote", "add", "origin", "git@github.com:apexlogic/guardrails.git")
    return repo


def test_blob_base_from_the_git_remote(checkout: Path) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    base = blob_base(checkout / "deploy", env={})
    assert base == f"https://github.com/apexlogic/guardrails/blob/{head}/deploy/"
    assert location_url(base, "services/a b.yaml", 12) == base + "services/a%20b.yaml#L12"
    assert location_url(base, None, None) is None and location_url(None, "services/x.yaml", 1) is None


def test_blob_base_from_github_actions(checkout: Path) -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "org/repo", "GITHUB_SHA": "abc123"}
    assert blob_base(checkout, env=env) == "https://github.com/org/repo/blob/abc123/"


def test_no_repository_no_links(tmp_path: Path) -> None:
    assert blob_base(tmp_path, env={}) is None
