"""Helpers for the real-CLI integration tests: CLI discovery (skip or fail), project copies, service YAML."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from preflight.engine.pulumi_cli import COPY_IGNORE, find_pulumi_cli, offline_env

REPO = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "GUARDRAILS_REQUIRE_PULUMI_CLI"
PACK_REL = Path("policy_packs") / "guardrails"
_IGNORE = shutil.ignore_patterns(*COPY_IGNORE)


def versions_env() -> dict[str, str]:
    """scripts/pulumi-versions.env as a dict (KEY=VALUE lines, comments ignored)."""
    values: dict[str, str] = {}
    for raw in (REPO / "scripts" / "pulumi-versions.env").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def require_cli() -> Path:
    """The CLI, its language host and the kubernetes plugin; skip when absent, or fail when CI demands them."""
    cli = find_pulumi_cli()
    problem = None
    if cli is None:
        problem = "no pulumi CLI in .tools/bin or on PATH"
    else:
        plugin_version = versions_env()["PULUMI_K8S_PLUGIN_VERSION"]
        home = Path(offline_env(REPO, cli)["PULUMI_HOME"])
        if not (cli.parent / "pulumi-language-python").exists() and shutil.which("pulumi-language-python") is None:
            problem = f"no pulumi-language-python next to {cli}"
        elif not list((home / "plugins").glob(f"resource-kubernetes-v{plugin_version}*")):
            problem = f"kubernetes plugin {plugin_version} not installed in {home}"
    if problem:
        message = f"{problem}: run scripts/install-pulumi-cli.sh"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1 forbids skipping)")
        pytest.skip(message)
    assert cli is not None
    return cli


def project_copy(dest: Path, services: dict[str, str] | None = None) -> Path:
    """A copy of the project in dest/project; services (file name → YAML) replace services/ when given."""
    copy = dest / "project"
    shutil.copytree(REPO, copy, ignore=_IGNORE, symlinks=True)
    (copy / ".venv").symlink_to((REPO / ".venv").resolve(), target_is_directory=True)
    if services is not None:
        shutil.rmtree(copy / "services")
        (copy / "services").mkdir()
        for name, text in services.items():
            (copy / "services" / name).write_text(text)
    return copy


def knative_service(
    name: str,
    *,
    image: str = "ghcr.io/apexlogic/embedder@sha256:" + "a" * 64,
    max_scale: str = "5",
    classification: str = "internal",
    cluster_local: bool = True,
    privileged: bool = False,
) -> str:
    """A Knative Service declaration; the defaults aim to satisfy the guardrails pack on the local stack."""
    labels_block = "  labels:\n    networking.knative.dev/visibility: cluster-local\n" if cluster_local else ""
    return f"""apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
  namespace: ai-workloads
{labels_block}  annotations:
    finops.apexlogic.com/cost-center: "AI-Platform"
    finops.apexlogic.com/project-id: "project-nova"
    finops.apexlogic.com/owner: "platform-team"
    security.apexlogic.com/data-classification: "{classification}"
    security.apexlogic.com/pci-scope: "false"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "0"
        autoscaling.knative.dev/max-scale: "{max_scale}"
    spec:
      containerConcurrency: 10
      timeoutSeconds: 120
      containers:
        - name: app
          image: {image}
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet: {{path: /healthz, port: 8080}}
          livenessProbe:
            httpGet: {{path: /healthz, port: 8080}}
          resources:
            limits: {{memory: "2Gi", cpu: "1000m"}}
            requests: {{memory: "2Gi", cpu: "500m"}}
          securityContext:
            privileged: {str(privileged).lower()}
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
            seccompProfile: {{type: RuntimeDefault}}
"""
