"""A small Pulumi project in a real git repository, with a Knative Service whose canary is declared in Git."""

from __future__ import annotations

from pathlib import Path

from tests.gitops.helpers import git, init_repo

STACK = """config:
  guardrails:environment: {env}
  guardrails:namespace: ai
  guardrails:rollout:
    minRequests: {min_requests}
"""
SERVICE = """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: inference
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"   # charged to the product team
    finops.apexlogic.com/project-id: "nova"
    finops.apexlogic.com/owner: "ml-team"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"   # keep one warm
    spec:
      containers:
        - image: ghcr.io/apexlogic/inference:v1
          resources:
            requests: {cpu: 500m, memory: 1Gi}
"""


def canary_project(root: Path, *, env: str = "dev", step: int | None = 40, min_requests: int = 200,
                   kpis: dict[str, str] | None = None) -> tuple[Path, str]:
    """The project at `root` with three commits: the service on v1 (revision inference-00001), the canary commit
    (image v2 + 10 % canary, returned), and an unrelated later commit."""
    files = {"Pulumi.yaml": "name: canary-test\nruntime: python\nstackConfigDir: stacks\n", ".gitignore": "out/\n",
             "services/inference.yaml": SERVICE}
    for stack in ("dev", "prod"):
        files[f"stacks/Pulumi.{stack}.yaml"] = STACK.format(env=stack if env == "dev" else env,
                                                            min_requests=min_requests)
    init_repo(root, files)
    lines = ['    rollout.apexlogic.com/stable-revision: inference-00001',
             '    rollout.apexlogic.com/canary-percent: "10"']
    if step:
        lines.append(f'    rollout.apexlogic.com/step: "{step}"')
    for name, expression in (kpis or {}).items():
        lines.append(f"    rollout.apexlogic.com/kpi.{name}: '{expression}'")
    canary = SERVICE.replace('    finops.apexlogic.com/owner: "ml-team"\n',
                             '    finops.apexlogic.com/owner: "ml-team"\n' + "\n".join(lines) + "\n")
    canary = canary.replace("inference:v1", "inference:v2")
    (root / "services/inference.yaml").write_text(canary)
    git(root, "commit", "-qam", "inference v2 as a 10% canary")
    introduced = git(root, "rev-parse", "HEAD")
    (root / "NOTES.md").write_text("unrelated\n")
    git(root, "add", "NOTES.md")
    git(root, "commit", "-qm", "notes")
    return root, introduced
