"""`preflight operator-manifests`: Pulumi Kubernetes Operator (v2) resources that reconcile a stack in-cluster.

For teams that run GitOps inside the cluster: per stack, a `pulumi.com/v1` `Stack` (repository, branch,
`repoDir`, refresh before every update, periodic resync for drift, the backend, environment and secrets as
*references* only, and a `workspaceTemplate` for the workspace pod the operator runs the stack in), plus the
workspace's ServiceAccount and the `system:auth-delegator` binding the operator requires for it.

The policy pack: the operator has no way to pass `--policy-pack` to its workspace (pulumi-kubernetes-operator
issue #366), so a local pack cannot run there. The manifests name the pack and its version in annotations; the pack
is enforced by Pulumi Cloud policy groups (`pulumi policy publish` + `pulumi policy enable`) for stacks on Pulumi
Cloud, and by `preflight preview` on the pull request that changes the tracked branch otherwise
(docs/operator.md). Fields follow the CRDs in `../shared/data/pulumi-operator/crds/` (operator v2).

    preflight operator-manifests --stack prod [--stack dev ...] [-o FILE] [--repo URL] [--branch B]

Exit codes: 0 written; 2 usage or input error (no git remote and no --repo, unknown stack, a backend the
workspace pod cannot reach, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from guardrails_core.atomic import write_atomic
from guardrails_core.settings import StackConfigError, load_stack_settings, read_stack_config, stack_file

from preflight.report.links import git_output

EXIT_OK, EXIT_USAGE = 0, 2
STACK_API = "pulumi.com/v1"
# The operator's CRD rule: `size(self.metadata.name) <= 42`.
MAX_STACK_NAME = 42
# The operator polls the branch this often (its own minimum is 60 s; lower values are treated as 60).
DEFAULT_RESYNC_S = 300
MIN_RESYNC_S = 60
DEFAULT_NAMESPACE = "default"
DEFAULT_SECRET = "pulumi-stack-credentials"
PACK_ANNOTATION = "serverless-guardrails.dev/policy-pack"
ENFORCEMENT_ANNOTATION = "serverless-guardrails.dev/policy-enforcement"
SOURCE_STACK_LABEL = "serverless-guardrails.dev/stack"
# Stack config that means something else inside a workspace pod than on the machine that wrote it.
_IN_CLUSTER_CAVEATS = {
    "kubernetes:renderYamlToDirectory": "the workspace pod would render manifests into its own file system instead "
                                        "of deploying them; use a stack that deploys to a cluster",
    "kubernetes:kubeconfig": "the path or contents are read inside the workspace pod; for the cluster the operator "
                             "runs in, drop it so the provider uses the pod's service account",
}
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class OperatorInputError(Exception):
    """Bad input (exit 2); the message names the flag, file or git setting and what is allowed."""


def add_operator_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "operator-manifests",
        help="Pulumi Kubernetes Operator Stack manifests for in-cluster GitOps (repo, branch, refresh, resync)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", action="append", required=True, metavar="STACK",
                        help="stack (stacks/Pulumi.<stack>.yaml); repeatable for a fleet; `org/stack` or "
                             "`org/project/stack` is used as the operator's stack name")
    parser.add_argument("--project-dir", default=None,
                        help="the Pulumi project (default: the nearest folder with Pulumi.yaml, here or above)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the YAML to FILE (default: stdout)")
    parser.add_argument("--repo", metavar="URL", help="git URL the operator clones (default: `git remote get-url "
                                                      "origin`)")
    parser.add_argument("--remote", default="origin", help="git remote whose URL is used (default: origin)")
    ref = parser.add_mutually_exclusive_group()
    ref.add_argument("--branch", help="branch the operator follows (default: the checked-out branch)")
    ref.add_argument("--commit", help="deploy exactly this commit instead of following a branch")
    parser.add_argument("--org", help="Pulumi organization: the operator's stack name becomes ORG/STACK")
    parser.add_argument("--backend-url", metavar="URL",
                        help="backend for the operator (default: PULUMI_BACKEND_URL, else Pulumi.yaml backend.url, "
                             "else Pulumi Cloud)")
    parser.add_argument("--namespace", default=DEFAULT_NAMESPACE, help="namespace of the Stack objects")
    parser.add_argument("--secret", default=DEFAULT_SECRET, metavar="NAME",
                        help="Kubernetes Secret holding the credentials the workspace needs (PULUMI_ACCESS_TOKEN, "
                             "PULUMI_CONFIG_PASSPHRASE, AWS keys); only referenced, never read")
    parser.add_argument("--git-token-secret", metavar="NAME",
                        help="Secret with key `accessToken` for a private repository (gitAuth)")
    parser.add_argument("--resync-seconds", type=int, default=DEFAULT_RESYNC_S,
                        help=f"how often the operator re-runs the stack to correct drift (>= {MIN_RESYNC_S}; "
                             f"default {DEFAULT_RESYNC_S})")
    parser.add_argument("--no-refresh", action="store_true", help="do not refresh before each update")
    parser.add_argument("--preview-only", action="store_true",
                        help="the operator only previews (reports drift and changes, never updates)")
    parser.add_argument("--image", help="workspace image (default: pulumi/pulumi-python:<pinned CLI version>-nonroot;"
                                        " it must hold the program's Python dependencies)")
    parser.set_defaults(func=run_operator_manifests)
    return parser


def _source(args: argparse.Namespace, project_dir: Path) -> dict[str, Any]:
    """projectRepo, branch or commit, repoDir — from the flags, else from git."""
    repo = args.repo or git_output(project_dir, "remote", "get-url", args.remote)
    if not repo:
        raise OperatorInputError(f"no repository URL: git remote {args.remote!r} is not set in {project_dir}; "
                                 "pass --repo URL (the URL the operator clones)")
    source: dict[str, Any] = {"projectRepo": repo}
    if args.commit:
        if not re.fullmatch(r"[0-9a-f]{7,40}", args.commit):
            raise OperatorInputError(f"--commit {args.commit!r}: expected a commit hash (7..40 hex digits)")
        source["commit"] = args.commit
    else:
        branch = args.branch or git_output(project_dir, "symbolic-ref", "--short", "-q", "HEAD")
        if not branch:
            raise OperatorInputError(f"{project_dir}: HEAD is detached (no branch checked out); pass --branch NAME "
                                     "or --commit SHA")
        source["branch"] = branch
    top = git_output(project_dir, "rev-parse", "--show-toplevel")
    if top is None:
        raise OperatorInputError(f"{project_dir}: not inside a git repository (the operator deploys from git)")
    rel = project_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    if rel != ".":
        source["repoDir"] = rel
    return source


def _project(project_dir: Path) -> dict[str, Any]:
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _backend(args: argparse.Namespace, project_dir: Path) -> str | None:
    """The backend the operator uses: --backend-url, else the user's (the engine's resolution: PULUMI_BACKEND_URL,
    Pulumi.yaml backend.url, `pulumi login`), else Pulumi Cloud (the operator's default)."""
    from preflight.engine.pulumi_cli import NoBackendError, PulumiCliError, resolve_backend

    try:
        url = resolve_backend(project_dir, args.backend_url).url
    except NoBackendError:
        url = None
    except PulumiCliError as exc:
        raise OperatorInputError(str(exc)) from None
    if url and url.startswith("file://"):
        where = "--backend-url" if args.backend_url else "the current backend"
        raise OperatorInputError(f"{where} is {url}: a workspace pod cannot read a folder on this machine; pass "
                                 "--backend-url with a shared backend (s3://, gs://, azblob://, https://api.pulumi.com)")
    return url


def _cloud(backend: str | None) -> bool:
    return backend is None or backend.startswith(("https://", "http://"))


def _stack_names(given: str, project_name: str, args: argparse.Namespace, backend: str | None) -> tuple[str, str]:
    """(config stack, the operator's fully qualified stack name)."""
    parts = given.split("/")
    if len(parts) > 3 or any(not re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in parts):
        raise OperatorInputError(f"--stack {given!r}: expected STACK, ORG/STACK or ORG/PROJECT/STACK (letters, "
                                 "digits, '_', '.', '-')")
    config_stack = parts[-1]
    if len(parts) > 1:
        return config_stack, given
    if args.org:
        return config_stack, f"{args.org}/{config_stack}"
    if _cloud(backend):
        raise OperatorInputError(f"--stack {given!r}: Pulumi Cloud needs the organization: pass --org ORG or "
                                 "--stack ORG/STACK")
    return config_stack, f"organization/{project_name}/{config_stack}"


def object_name(project_name: str, stack: str) -> str:
    """A DNS-1123 name of at most 42 characters (the CRD's rule), stable for a project and stack."""
    raw = re.sub(r"[^a-z0-9-]+", "-", f"{project_name}-{stack}".lower()).strip("-")
    if len(raw) <= MAX_STACK_NAME:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{raw[:MAX_STACK_NAME - 9].rstrip('-')}-{digest}"


def _secret_ref(secret: str, key: str) -> dict[str, Any]:
    return {"type": "Secret", "secret": {"name": secret, "key": key}}


def _env_refs(args: argparse.Namespace, project_dir: Path, config_stack: str, backend: str | None,
              platforms: list[str], aws_region: str | None) -> dict[str, Any]:
    """Where the workspace takes its credentials from: names of Secret keys, never values."""
    refs: dict[str, Any] = {}
    if _cloud(backend):
        refs["PULUMI_ACCESS_TOKEN"] = _secret_ref(args.secret, "PULUMI_ACCESS_TOKEN")
    config_text = stack_file(project_dir, config_stack).read_text(encoding="utf-8")
    provider = re.search(r"^secretsprovider:\s*(\S+)", config_text, re.MULTILINE)
    if provider is None or provider.group(1).startswith("passphrase"):
        # The passphrase provider (the default): the salt is in the stack file, the passphrase in the Secret.
        refs["PULUMI_CONFIG_PASSPHRASE"] = _secret_ref(args.secret, "PULUMI_CONFIG_PASSPHRASE")
    if "lambda" in platforms:
        refs["AWS_ACCESS_KEY_ID"] = _secret_ref(args.secret, "AWS_ACCESS_KEY_ID")
        refs["AWS_SECRET_ACCESS_KEY"] = _secret_ref(args.secret, "AWS_SECRET_ACCESS_KEY")
        if aws_region:
            refs["AWS_REGION"] = {"type": "Literal", "literal": {"value": aws_region}}
    return refs


def _cli_version(project_dir: Path) -> str | None:
    """The Pulumi CLI version the project pins (scripts/pulumi-versions.env), else the installed CLI's."""
    pins = project_dir / "scripts" / "pulumi-versions.env"
    if pins.is_file():
        match = re.search(r"^PULUMI_CLI_VERSION=(\d+\.\d+\.\d+)\s*$", pins.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return match.group(1)
    from preflight.engine.pulumi_cli import find_pulumi_cli

    cli = find_pulumi_cli()
    if cli is None:
        return None
    try:
        done = subprocess.run([str(cli), "version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"v?(\d+\.\d+\.\d+)", done.stdout.strip())
    return match.group(1) if match else None


def _pack_annotations(project_dir: Path, settings: Any) -> dict[str, str]:
    from preflight.packs import discover_packs

    annotations: dict[str, str] = {}
    packs = []
    for pack in discover_packs(project_dir):
        meta = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text(encoding="utf-8")) or {}
        packs.append(f"{pack.name}@{meta.get('version', 'unversioned')}")
    if packs:
        annotations[PACK_ANNOTATION] = ",".join(packs)
        levels = settings.policy.model_dump(by_alias=True, exclude_none=True).get("enforcement") or {}
        if levels:
            annotations[ENFORCEMENT_ANNOTATION] = ",".join(f"{k}={v}" for k, v in sorted(levels.items()))
    return annotations


def stack_manifests(args: argparse.Namespace, project_dir: Path, given_stack: str) -> list[dict[str, Any]]:
    project = _project(project_dir)
    project_name = str(project.get("name") or project_dir.name)
    backend = _backend(args, project_dir)
    config_stack, operator_stack = _stack_names(given_stack, project_name, args, backend)
    try:
        settings = load_stack_settings(project_dir, config_stack)
    except StackConfigError as exc:
        raise OperatorInputError(str(exc)) from None
    if args.resync_seconds < MIN_RESYNC_S:
        raise OperatorInputError(f"--resync-seconds {args.resync_seconds}: the operator's minimum is {MIN_RESYNC_S}")
    if not _DNS_LABEL.fullmatch(args.namespace) or len(args.namespace) > 63:
        raise OperatorInputError(f"--namespace {args.namespace!r}: expected a DNS-1123 label")
    name = object_name(project_name, config_stack)
    account = f"{name}-workspace"
    labels = {"app.kubernetes.io/managed-by": "preflight", "app.kubernetes.io/part-of": project_name,
              SOURCE_STACK_LABEL: config_stack}
    version = _cli_version(project_dir)
    image = args.image or (f"pulumi/pulumi-python:{version}-nonroot" if version else None)
    if image is None:
        raise OperatorInputError("no workspace image: no CLI version pinned (scripts/pulumi-versions.env) and no "
                                 "pulumi CLI found; pass --image")
    spec: dict[str, Any] = {
        "stack": operator_stack,
        **_source(args, project_dir),
        "refresh": not args.no_refresh,
        # Re-run on the resync period even when the commit did not change: that is what corrects drift.
        "continueResyncOnCommitMatch": True,
        "resyncFrequencySeconds": args.resync_seconds,
        "destroyOnFinalize": False,
        "serviceAccountName": account,
        "envRefs": _env_refs(args, project_dir, config_stack, backend, settings.platforms, settings.aws_region),
        "workspaceTemplate": {
            "metadata": {"labels": labels},
            "spec": {
                "image": image,
                "securityProfile": "restricted",
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            },
        },
    }
    if backend:
        spec["backend"] = backend
    if args.preview_only:
        spec["preview"] = True
    if args.git_token_secret:
        spec["gitAuth"] = {"accessToken": _secret_ref(args.git_token_secret, "accessToken")}
    for key, problem in _IN_CLUSTER_CAVEATS.items():
        if key in read_stack_config(project_dir, config_stack):
            print(f"preflight operator-manifests: warning: stack {config_stack!r} sets {key}: {problem}",
                  file=sys.stderr)
    metadata = {"name": name, "namespace": args.namespace, "labels": labels,
                "annotations": _pack_annotations(project_dir, settings)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": account, "namespace": args.namespace, "labels": labels}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"{args.namespace}:{account}:system:auth-delegator", "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": args.namespace}]},
        {"apiVersion": STACK_API, "kind": "Stack", "metadata": metadata, "spec": spec},
    ]


HEADER = """\
# Pulumi Kubernetes Operator (v2) manifests, generated by `preflight operator-manifests`.
# Apply after installing the operator; create the Secret {secret!r} in namespace {namespace!r} with the keys the
# envRefs below name (kubectl create secret generic ...). The policy pack is not run by the operator (it cannot pass
# --policy-pack): enforce it with a Pulumi Cloud policy group, and gate the tracked branch with `preflight preview`
# on pull requests (docs/operator.md).
"""


class _NoAliases(yaml.SafeDumper):
    """Shared dicts (the labels) are written out each time: anchors and aliases are valid YAML, but readers of
    Kubernetes manifests (kubectl diff, reviewers) expect plain repeated maps."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(documents: list[dict[str, Any]], args: argparse.Namespace) -> str:
    body = yaml.dump_all(documents, Dumper=_NoAliases, sort_keys=False, default_flow_style=False,
                         explicit_start=True)
    return HEADER.format(secret=args.secret, namespace=args.namespace) + body


def run_operator_manifests(args: argparse.Namespace) -> int:
    from preflight.cli import UsageError, find_project_dir

    try:
        project_dir = find_project_dir(Path(args.project_dir or "."))
        documents = [doc for stack in args.stack for doc in stack_manifests(args, project_dir, stack)]
        names = [d["metadata"]["name"] for d in documents if d["kind"] == "Stack"]
        if len(set(names)) != len(names):
            raise OperatorInputError(f"two --stack values give the same Stack object name: {sorted(names)}")
    except (OperatorInputError, UsageError) as exc:
        print(f"preflight operator-manifests: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = render(documents, args)
    if args.output:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print(f"preflight operator-manifests: error: {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"wrote {args.output}: {len(names)} Stack(s) ({', '.join(names)})", file=sys.stderr)
    else:
        print(text, end="")
    return EXIT_OK
