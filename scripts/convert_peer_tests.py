"""Convert the peers' own published tests into Knative Service conformance cases (tests/conformance/cases/*.yaml).

    .venv/bin/python scripts/convert_peer_tests.py --checkov GITDIR --polaris GITDIR --kube-score GITDIR

Each GITDIR is a clone (bare is fine) of the peer's repository; files are read from its HEAD commit with `git show`,
and that commit is recorded. Sources (read, never executed):

* Checkov `tests/kubernetes/checks/test_*.py` with their `example_*` folders: the expected verdict per resource
  (`Kind.namespace.name`) comes from the test's pass/fail resource sets. When a test asserts only counts, it comes
  from Checkov's own check run on that folder from the commit's source (`--checkov-python`, see
  `scripts/checkov_verdicts.py`), trusted only when the run reproduces the asserted counts; without it, from the
  PASSED/FAILED marker in each file name, used only if those markers add up to the asserted counts.
* Polaris `test/checks/<check>/success.*.yaml` / `failure.*.yaml`.
* kube-score `score/*_test.go` calls naming one `testdata/*.yaml` file, a check name and a `scorecard.Grade*`
  (Critical/Warning = fail, AlmostOK/AllOK = pass, as kube-score prints them).

Only checks whose peer id one of our controls names (`peer_ids` or `stricter_than`) are converted. Every workload
(Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) of a test file becomes one
case: its pod template re-expressed as a
`serving.knative.dev/v1` Service. A case Knative cannot express keeps `service: null` and the reason (the CRD
schema's strict validation, or a Knative webhook rule from `fieldmask.go` / `k8s_validation.go`). Cases are never
dropped: a workload without a usable verdict is kept with the reason too.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "policy_packs/guardrails"))

from guardrails_pack.discovery import discover_controls  # noqa: E402

from components.specs.images import image_problem  # noqa: E402
from components.specs.knative import schema_errors  # noqa: E402

CASES_DIR = REPO / "tests/conformance/cases"
PEERS = {
    "checkov": {"repo": "github.com/bridgecrewio/checkov", "licence": "Apache-2.0"},
    "polaris": {"repo": "github.com/FairwindsOps/polaris", "licence": "Apache-2.0"},
    "kube-score": {"repo": "github.com/zegl/kube-score", "licence": "MIT"},
    "kyverno": {"repo": "github.com/kyverno/policies", "licence": "Apache-2.0"},
}
WORKLOAD_TEMPLATE = {
    "Pod": None, "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"), "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# Knative webhook rules beyond the CRD schema (knative.dev/serving pkg/apis/serving, v0.51.0).
RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}  # networking.Backend*/Queue*/metrics ports, profiling
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
RESERVED_MOUNTS = {"/", "/dev", "/dev/log"}
# Fields Knative's masks always remove and that none of the compared peer rules reads: the conversion drops them
# (and records it) instead of calling the case inexpressible.
POD_FIELDS_KNATIVE_SETS = ("restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds")
CONTAINER_FIELDS_KNATIVE_DROPS = ("stdin", "stdinOnce", "tty", "lifecycle")


class Git:
    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.commit = self._run("rev-parse", "HEAD").strip()

    def _run(self, *args: str) -> str:
        return subprocess.run(["git", f"--git-dir={self.git_dir}", *args], capture_output=True, text=True,
                              check=True).stdout

    def ls(self, folder: str) -> list[str]:
        return [p for p in self._run("ls-tree", "-r", "--name-only", self.commit, folder).splitlines() if p]

    def show(self, path: str) -> str:
        return self._run("show", f"{self.commit}:{path}")


def claimed_ids() -> set[str]:
    ids: set[str] = set()
    for control in discover_controls():
        ids.update(control.peer_ids)
        ids.update(control.stricter_than)
    return ids


# ---------------------------------------------------------------- workload -> Knative Service


def _at(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _webhook_problems(spec: dict[str, Any]) -> list[str]:
    """Knative webhook rules a schema-valid pod spec can still break (field masks and validation)."""
    out: list[str] = []
    if spec.get("automountServiceAccountToken") is True:
        out.append("fieldmask.go PodSpecMask keeps automountServiceAccountToken only when false")
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    with_ports = [c for c in containers if c.get("ports")]
    if len(containers) > 1 and len(with_ports) != 1:
        out.append(f"k8s_validation.go: with {len(containers)} containers exactly one must declare a port "
                   f"({len(with_ports)} do)")
    for c in containers + [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]:
        name = c.get("name", "?")
        if (c.get("securityContext") or {}).get("privileged") is True:
            out.append(f"fieldmask.go SecurityContextMask keeps privileged only when false (container {name})")
        if c.get("name") == "queue-proxy":
            out.append("k8s_validation.go: container name queue-proxy is reserved")
        ports = c.get("ports") or []
        if len(ports) > 1:
            out.append(f"k8s_validation.go: more than one container port is set (container {name})")
        for port in ports:
            if isinstance(port, dict) and port.get("containerPort") in RESERVED_PORTS:
                out.append(f"k8s_validation.go: containerPort {port['containerPort']} is reserved (container {name})")
            if isinstance(port, dict) and port.get("name") not in (None, "", "h2c", "http1"):
                out.append(f"k8s_validation.go: port name {port.get('name')!r} is not h2c/http1 (container {name})")
        for env in c.get("env") or []:
            if isinstance(env, dict) and env.get("name") in RESERVED_ENV:
                out.append(f"k8s_validation.go: env {env['name']} is reserved (container {name})")
        for mount in c.get("volumeMounts") or []:
            if isinstance(mount, dict) and str(mount.get("mountPath", "")).rstrip("/") in {p.rstrip("/") for p in
                                                                                          RESERVED_MOUNTS}:
                out.append(f"k8s_validation.go: mountPath {mount.get('mountPath')} is reserved (container {name})")
    return out


def _drop_nulls(value: Any) -> Any:
    """The API server treats `key: null` as unset; so does the conversion."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _adjust(spec: dict[str, Any]) -> list[str]:
    """Re-express a pod spec the way Knative allows, where no peer rule we compare reads the changed field."""
    notes = []
    for key in POD_FIELDS_KNATIVE_SETS:
        if key in spec:
            notes.append(f"dropped {key}: {spec.pop(key)!r} (Knative sets it; a Service cannot)")
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    for c in containers + [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]:
        name = c.get("name", "?")
        for key in CONTAINER_FIELDS_KNATIVE_DROPS:
            if key in c:
                notes.append(f"dropped {key} of container {name} (Knative does not allow it)")
                c.pop(key)
        ports = c.get("ports") or []
        if len(ports) > 1 and not any(isinstance(p, dict) and "hostPort" in p for p in ports):
            notes.append(f"kept only the first of {len(ports)} ports of container {name} (Knative routes to one)")
            c["ports"] = ports = ports[:1]
        for port in ports:
            if isinstance(port, dict) and port.get("name") not in (None, "", "h2c", "http1"):
                notes.append(f"dropped port name {port.pop('name')!r} of container {name} (Knative allows h2c/http1)")
    if len(containers) > 1 and not any(c.get("ports") for c in containers):
        containers[0]["ports"] = [{"containerPort": 8080}]
        notes.append(f"added containerPort 8080 to container {containers[0].get('name', '#0')} (with several "
                     "containers Knative routes to exactly one port)")
    return notes


def to_knative(doc: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[str]]:
    """(Knative Service, None, adjustments) or (None, why it cannot be expressed, adjustments)."""
    doc = _drop_nulls(doc)
    kind = doc.get("kind")
    path = WORKLOAD_TEMPLATE[kind]
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    if path is None:
        template = {"metadata": {k: metadata[k] for k in ("labels", "annotations") if k in metadata},
                    "spec": doc.get("spec")}
    else:
        template = _at(doc, path)
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return None, f"{kind} has no pod template spec", []
    notes = _adjust(template["spec"])
    template_meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    service: dict[str, Any] = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {k: metadata[k] for k in ("name", "namespace", "labels", "annotations") if k in metadata},
        "spec": {"template": {"spec": template["spec"]}},
    }
    kept_meta = {k: template_meta[k] for k in ("labels", "annotations") if k in template_meta}
    if kept_meta:
        service["spec"]["template"]["metadata"] = kept_meta
    errors = schema_errors(service, strict=True)
    if errors:
        where, message = errors[0]
        field = ".".join(str(p) for p in where) or "<root>"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return None, f"Knative CRD schema: {field}: {message}{more}", notes
    problems = _webhook_problems(template["spec"])
    for container in template["spec"].get("containers") or []:
        if isinstance(container, dict) and (problem := image_problem(container.get("image"))):
            # e.g. Checkov's `nginx@sha256:123456`: Knative resolves and pulls the reference, which cannot work;
            # the project's declaration validation rejects it before any control runs.
            problems.append(f"not a deployable image: {problem}")
    if problems:
        return None, "Knative webhook: " + "; ".join(problems), notes
    return service, None, notes


def workloads(text: str) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {exc}") from exc
    out = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(d for d in doc["items"] if isinstance(d, dict) and d.get("kind") in WORKLOAD_TEMPLATE)
        elif isinstance(doc, dict) and doc.get("kind") in WORKLOAD_TEMPLATE:
            out.append(doc)
    return out


def resource_key(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}.{meta.get('namespace') or 'default'}.{meta.get('name')}"


def make_case(case_id: str, path: str, peer_id: str, expected: str | None, doc: dict[str, Any] | None,
              why_no_verdict: str | None = None) -> dict[str, Any]:
    case: dict[str, Any] = {"id": case_id, "path": path, "peer_id": peer_id, "expected": expected}
    if doc is not None:
        case["resource"] = resource_key(doc)
    if why_no_verdict is not None:
        case.update(service=None, inexpressible=why_no_verdict)
        return case
    service, reason, notes = to_knative(doc) if doc is not None else (None, "no workload", [])
    if notes:
        case["adjusted"] = notes
    case.update(service=service, inexpressible=reason)
    return case


# ---------------------------------------------------------------- Checkov


def _checkov_expectations(source: str) -> tuple[dict[str, str], dict[str, int]]:
    """({resource: pass|fail} from the test's named sets/lists, {passed|failed: count} from assertEqual).

    Counts come from the first test method without decorators (a decorated one runs with a patched environment).
    """
    tree = ast.parse(source)
    verdicts: dict[str, str] = {}
    counts: dict[str, int] = {}
    plain = sorted((f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name.startswith("test")
                    and not f.decorator_list), key=lambda f: f.lineno)
    counted = set(ast.walk(plain[0])) if plain else set(ast.walk(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id.lower()
            verdict = "pass" if "pass" in name else "fail" if "fail" in name else None
            if verdict and isinstance(node.value, ast.Set | ast.List):
                for element in node.value.elts:
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        verdicts[element.value] = verdict
        if (node in counted and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "assertEqual"
                and len(node.args) == 2 and isinstance(node.args[0], ast.Subscript)
                and isinstance(node.args[0].slice, ast.Constant) and isinstance(node.args[1], ast.Constant)):
            key = node.args[0].slice.value
            if key in ("passed", "failed") and isinstance(node.args[1].value, int):
                counts[key] = node.args[1].value
    return verdicts, counts


def _file_marker(path: str) -> str | None:
    """pass/fail from a Checkov example file name; None when it has none, both, or says UNKNOWN."""
    name = Path(path).name.upper()
    fail, passed = "FAIL" in name, "PASS" in name
    if "UNKNOWN" in name or fail == passed:
        return None
    return "fail" if fail else "pass"


def checkov_run(git: Git, python: Path, jobs: list[tuple[str, str]]) -> dict[str, dict[str, list[list[str]]]]:
    """Checkov's own verdicts per (file, resource) for (check id, example folder) jobs, from the commit's source."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", f"--git-dir={git.git_dir}", "archive", git.commit, "checkov",
                                  "tests/kubernetes"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        jobs_file = Path(tmp) / "jobs.json"
        jobs_file.write_text(json.dumps([{"check_id": c, "folder": f"{tmp}/{folder}"} for c, folder in jobs]))
        out = subprocess.run([str(python), str(REPO / "scripts/checkov_verdicts.py"), tmp, str(jobs_file)],
                             capture_output=True, text=True, check=True).stdout
        return {key.replace(f"{tmp}/", ""): value for key, value in json.loads(out).items()}


def _checkov_tests(git: Git, wanted: set[str]) -> list[tuple[str, str, str, str]]:
    """(test path, test source, check id, example folder) of every Checkov k8s check test for a wanted id."""
    tests_dir = "tests/kubernetes/checks"
    found = []
    for test_path in sorted(p for p in git.ls(tests_dir) if re.search(r"/test_\w+\.py$", p)):
        source = git.show(test_path)
        imported = re.search(r"from checkov\.kubernetes\.checks\.resource\.k8s\.(\w+) import check", source)
        folder = re.search(r"[\"/](example_\w+)", source)
        if not imported or not folder:
            continue
        check_source = git.show(f"checkov/kubernetes/checks/resource/k8s/{imported.group(1)}.py")
        found_id = re.search(r"id = \"(CKV_K8S_\d+)\"", check_source)
        if found_id and found_id.group(1) in wanted:
            found.append((test_path, source, found_id.group(1), f"{tests_dir}/{folder.group(1)}"))
    return found


def convert_checkov(git: Git, wanted: set[str], checkov_python: Path | None = None) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    tests = _checkov_tests(git, wanted)
    count_only = [(peer, folder) for _, source, peer, folder in tests if not _checkov_expectations(source)[0]]
    runs = checkov_run(git, checkov_python, count_only) if checkov_python and count_only else {}
    for test_path, source, peer_id, folder_path in tests:
        verdicts, counts = _checkov_expectations(source)
        # For a test that asserts only counts: Checkov's own run of that check on that folder, trusted only when it
        # reproduces the asserted counts.
        run = runs.get(f"{peer_id} {folder_path}")
        ran: dict[tuple[str, str], str] = {}
        if run is not None and (len(run["passed"]), len(run["failed"])) == (counts.get("passed"), counts.get("failed")):
            ran = {(f, r): v for v in ("passed", "failed") for f, r in run[v]}
        files = [p for p in git.ls(folder_path) if p.endswith((".yaml", ".yml", ".json"))]
        docs: list[tuple[str, dict[str, Any]]] = []
        for path in files:
            try:
                docs.extend((path, d) for d in workloads(git.show(path)))
            except ValueError:
                continue  # a deliberately unparsable file: Checkov reports it as a parsing error, not a case
        use_markers = not verdicts
        per_file: dict[str, int] = {}
        for path, _ in docs:
            per_file[path] = per_file.get(path, 0) + 1
        whole_files = consistent = False
        if use_markers:
            # A file's marker covers all its workloads when the marked totals equal the asserted counts exactly;
            # otherwise it is trusted only for a file holding one workload, within the asserted counts.
            totals = {v: sum(n for p, n in per_file.items() if _file_marker(p) == v) for v in ("pass", "fail")}
            whole_files = totals["pass"] == counts.get("passed") and totals["fail"] == counts.get("failed")
            marked = [_file_marker(p) for p, _ in docs if per_file[p] == 1]
            consistent = (marked.count("pass") <= counts.get("passed", -1)
                          and marked.count("fail") <= counts.get("failed", -1))
        for index, (path, doc) in enumerate(docs):
            case_id = f"checkov/{peer_id}/{Path(path).stem}#{index}"
            key = resource_key(doc)
            from_run = ran.get((path[len(folder_path):], key))
            if not use_markers:
                if key in verdicts:
                    cases.append(make_case(case_id, path, peer_id, verdicts[key], doc))
                else:
                    cases.append(make_case(case_id, path, peer_id, None, doc,
                                           f"{test_path} gives no verdict for {key} (Checkov does not evaluate it)"))
            elif from_run is not None:
                case = make_case(case_id, path, peer_id, "pass" if from_run == "passed" else "fail", doc)
                case["verdict_from"] = (f"Checkov's own check run on {folder_path} at this commit: the test asserts "
                                        f"only counts ({counts}), which the run reproduces")
                cases.append(case)
            elif (whole_files or (consistent and per_file[path] == 1)) and _file_marker(path) is not None:
                cases.append(make_case(case_id, path, peer_id, _file_marker(path), doc))
            elif consistent:
                cases.append(make_case(case_id, path, peer_id, None, doc,
                                       f"{test_path} asserts only counts; {Path(path).name} holds {per_file[path]} "
                                       "workload(s) and its name gives no single verdict"))
            else:
                cases.append(make_case(case_id, path, peer_id, None, doc,
                                       f"{test_path} asserts only counts {counts} and the file-name markers do not "
                                       "add up to them, so the verdict per resource is unknown"))
    return cases


# ---------------------------------------------------------------- Kyverno


def _norm(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def convert_kyverno(git: Git, wanted: set[str]) -> list[dict[str, Any]]:
    """`<policy dir>/.kyverno-test/kyverno-test.yaml`: per-rule pass/fail/skip for named resources.

    A resource fails the policy when any rule fails (autogen rules for controllers count as the rule they come
    from); it passes only when the test gives pass or skip for every rule of the policy and at least one pass.
    Otherwise the test says nothing about some rule, so there is no verdict.
    """
    cases: list[dict[str, Any]] = []
    files = set(git.ls("."))
    for peer_id in sorted(p for p in wanted if p.startswith("kyverno:")):
        policy_dir = peer_id.split(":", 1)[1]
        test_path = f"{policy_dir}/.kyverno-test/kyverno-test.yaml"
        if test_path not in files:
            chainsaw = any(f.startswith(f"{policy_dir}/.chainsaw-test/") for f in files)
            why = ("no .kyverno-test here; its chainsaw test needs a live cluster with context objects" if chainsaw
                   else "no test of this policy in the repository at this commit")
            cases.append(make_case(f"kyverno/{policy_dir}/(no test)", policy_dir, peer_id, None, None, why))
            continue
        test = yaml.safe_load(git.show(test_path)) or {}
        policy_file = _norm(f"{policy_dir}/.kyverno-test/{(test.get('policies') or [''])[0]}")
        policy = yaml.safe_load(git.show(policy_file)) if policy_file in files else {}
        rules = {str(r.get("name")) for r in ((policy or {}).get("spec") or {}).get("rules") or []}
        verdicts: dict[tuple[str, str], dict[str, set[str]]] = {}
        for result in test.get("results") or []:
            names = list(result.get("resources") or []) + ([result["resource"]] if result.get("resource") else [])
            rule = re.sub(r"^autogen-(cronjob-)?", "", str(result.get("rule")))
            for name in names:
                by_rule = verdicts.setdefault((str(result.get("kind")), str(name).split("/")[-1]), {})
                by_rule.setdefault(rule, set()).add(str(result.get("result")))
        context = [k for k in ("variables", "values", "exceptions", "context") if test.get(k)]
        for rel in test.get("resources") or []:
            path = _norm(f"{policy_dir}/.kyverno-test/{rel}")
            if path not in files:
                continue
            for index, doc in enumerate(workloads(git.show(path))):
                name = str((doc.get("metadata") or {}).get("name"))
                case_id = f"kyverno/{policy_dir}/{name}#{index}"
                by_rule = verdicts.get((str(doc.get("kind")), name), {})
                seen = set().union(*by_rule.values()) if by_rule else set()
                covered = bool(rules) and rules <= set(by_rule)
                expected = "fail" if "fail" in seen else "pass" if "pass" in seen and covered else None
                if expected is None:
                    missing = sorted(rules - set(by_rule))
                    why = (f"{test_path} gives {sorted(seen) or 'no'} result for {doc.get('kind')} {name}"
                           + (f" and none for rule(s) {', '.join(missing)} of the policy" if missing else ""))
                    cases.append(make_case(case_id, path, peer_id, None, doc, why))
                elif context:
                    cases.append(make_case(case_id, path, peer_id, None, doc,
                                           f"{test_path} runs with {', '.join(context)} (cluster context this "
                                           "conversion does not carry)"))
                else:
                    cases.append(make_case(case_id, path, peer_id, expected, doc))
    return cases


# ---------------------------------------------------------------- Polaris


def convert_polaris(git: Git, wanted: set[str]) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(git.ls("test/checks")):
        parts = path.split("/")
        if len(parts) != 4 or not path.endswith((".yaml", ".yml")):
            continue
        peer_id = f"polaris:{parts[2]}"
        if peer_id not in wanted:
            continue
        expected = "pass" if parts[3].startswith("success") else "fail" if parts[3].startswith("failure") else None
        docs = workloads(git.show(path))
        for index, doc in enumerate(docs):
            case_id = f"polaris/{parts[2]}/{Path(path).stem}#{index}"
            if expected is None:
                cases.append(make_case(case_id, path, peer_id, None, doc,
                                       "not a success.*/failure.* file (e.g. mutated.*: Polaris tests the mutation "
                                       "output, not a verdict)"))
            elif expected == "fail" and len(docs) > 1:
                cases.append(make_case(case_id, path, peer_id, None, doc,
                                       f"failure file with {len(docs)} workloads: Polaris' verdict is per file"))
            else:
                cases.append(make_case(case_id, path, peer_id, expected, doc))
    return cases


# ---------------------------------------------------------------- kube-score

_KS_FUNC = re.compile(r"^func (Test\w+)\(t \*testing\.T\) \{\n(.*?)^\}", re.M | re.S)
_KS_FILE = re.compile(r"testFile\(\"([^\"]+)\"\)|testExpectedScore\(t, \"([^\"]+)\"")
_KS_GRADE = re.compile(r"\"([^\"]+)\",\s*scorecard\.(Grade\w+)\)")
_KS_CONFIG = re.compile(r"config\.RunConfiguration\{(.*?)\}", re.S)
_KS_NEUTRAL_OPTIONS = ("EnabledOptionalTests", "KubernetesVersion")


def convert_kube_score(git: Git, wanted: set[str]) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    testdata = set(git.ls("score/testdata"))
    for test_path in sorted(p for p in git.ls("score") if p.endswith("_test.go")):
        for func, body in _KS_FUNC.findall(git.show(test_path)):
            grades = _KS_GRADE.findall(body)
            files = [a or b for a, b in _KS_FILE.findall(body)]
            if len(grades) != 1:
                continue  # helpers and tests that assert something other than one check's grade
            check_name, grade = grades[0]
            peer_id = "kube-score:" + check_name.lower().replace(" ", "-")
            if peer_id not in wanted:
                continue
            expected = {"GradeCritical": "fail", "GradeWarning": "fail", "GradeAlmostOK": "pass",
                        "GradeAllOK": "pass"}.get(grade)
            options = [o for o in re.findall(r"(\w+):", " ".join(_KS_CONFIG.findall(body)))
                       if o not in _KS_NEUTRAL_OPTIONS]
            where = f"{test_path} {func}"
            if len(files) != 1:
                cases.append(make_case(f"kube-score/{func}", where, peer_id, None, None,
                                       f"the test reads {len(files)} files; the grade is for the combined scorecard"))
                continue
            path = f"score/testdata/{files[0]}"
            if path not in testdata:
                cases.append(make_case(f"kube-score/{func}", where, peer_id, None, None,
                                       f"the test builds the file name at run time ({files[0]!r}...)"))
                continue
            docs = workloads(git.show(path))
            for index, doc in enumerate(docs):
                case_id = f"kube-score/{func}#{index}"
                if options:
                    reason = f"run with kube-score option(s) {', '.join(options)}, which change the check"
                    cases.append(make_case(case_id, path, peer_id, None, doc, reason))
                elif len(docs) > 1:
                    cases.append(make_case(case_id, path, peer_id, None, doc,
                                           f"{len(docs)} workloads in one file; the test asserts the first scored one"))
                else:
                    case = make_case(case_id, path, peer_id, expected, doc)
                    case["test"] = where
                    cases.append(case)
    return cases


CONVERTERS: dict[str, Any] = {"checkov": convert_checkov, "polaris": convert_polaris, "kube-score": convert_kube_score,
                              "kyverno": convert_kyverno}


class _Dumper(yaml.SafeDumper):
    pass


def _no_aliases(*_: Any) -> bool:
    return True


_Dumper.ignore_aliases = _no_aliases  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for peer in PEERS:
        parser.add_argument(f"--{peer}", type=Path, help=f"git dir of {PEERS[peer]['repo']}")
    parser.add_argument("--checkov-python", type=Path,
                        help="a Python with `pip install checkov` (separate venv): for tests that assert only counts, "
                        "run Checkov's own check from the converted commit to get each resource's verdict")
    args = parser.parse_args(argv)
    wanted = claimed_ids()
    CASES_DIR.mkdir(parents=True, exist_ok=True)
    for peer, meta in PEERS.items():
        git_dir = getattr(args, peer.replace("-", "_"))
        if git_dir is None:
            continue
        git = Git(git_dir)
        extra = {"checkov_python": args.checkov_python} if peer == "checkov" else {}
        cases = CONVERTERS[peer](git, wanted, **extra)
        doc = {"peer": peer, "repo": meta["repo"], "commit": git.commit, "licence": meta["licence"], "cases": cases}
        out = CASES_DIR / f"{peer}.yaml"
        out.write_text(yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True))
        usable = sum(1 for c in cases if c["service"] is not None)
        print(f"{peer}: {len(cases)} cases ({usable} expressible) -> {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
