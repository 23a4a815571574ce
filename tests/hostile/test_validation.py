"""Declarations the Kubernetes API server, Knative's webhook or the Lambda API would refuse are refused at load,
each error naming the file, the field and the rule (the reproducers of issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.hostile.helpers import FUNCTION, errors_of, project, seed_text

ANN = "spec.template.metadata.annotations."
C0 = "spec.template.spec.containers[0]"


def _ksvc(old: str, new: str, count: int = 1) -> str:
    text = seed_text()
    assert old in text, old
    return text.replace(old, new, count)


def _ksvc_data(change) -> str:
    doc = yaml.safe_load(seed_text())
    change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def _template_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def _second_container(doc: dict) -> None:
    _template_spec(doc)["containers"].append({"image": "apexlogic/sidecar:v1", "ports": [{"containerPort": 9090}]})


def _fn(old: str, new: str) -> str:
    assert old in FUNCTION, old
    return FUNCTION.replace(old, new, 1)


KNATIVE_CASES = {
    "name-trailing-newline": (_ksvc("  name: multimodal-ai-inference\n", '  name: "multimodal-ai-inference\\n"\n'),
                              "metadata.name"),
    "namespace-trailing-newline": (_ksvc("  namespace: ai-workloads\n", '  namespace: "ai-workloads\\n"\n'),
                                   "metadata.namespace"),
    "label-value-trailing-newline": (_ksvc("app: multimodal-inference", 'app: "multimodal-inference\\n"'),
                                     "spec.template.metadata.labels.app"),
    "image-trailing-newline": (_ksvc("- image: apexlogic/multimodal-model:v1.3.0",
                                     '- image: "apexlogic/multimodal-model:v1.3.0\\n"'), f"{C0}.image"),
    "fullwidth-digits": (_ksvc('maxScale: "15"', 'maxScale: "１５"'), ANN + "autoscaling.knative.dev/maxScale"),
    "arabic-digit": (_ksvc('minScale: "1"', 'minScale: "١"'), ANN + "autoscaling.knative.dev/minScale"),
    "spaces-around-digit": (_ksvc('minScale: "1"', 'minScale: " 1 "'), ANN + "autoscaling.knative.dev/minScale"),
    "target-nan": (_ksvc('target: "65"', 'target: "nan"'), ANN + "autoscaling.knative.dev/target"),
    "target-1e999": (_ksvc('target: "65"', 'target: "1e999"'), ANN + "autoscaling.knative.dev/target"),
    "canary-underscore": (_ksvc('    security.apexlogic.com/pci-scope: "false"\n',
                                '    security.apexlogic.com/pci-scope: "false"\n'
                                '    rollout.apexlogic.com/canary-percent: "1_0"\n'
                                '    rollout.apexlogic.com/stable-revision: "v1"\n'),
                          "metadata.annotations.rollout.apexlogic.com/canary-percent"),
    "requests-nan": (_ksvc('    finops.apexlogic.com/project-id: "project-nova"\n',
                           '    finops.apexlogic.com/project-id: "project-nova"\n'
                           '    finops.apexlogic.com/expected-requests-per-month: "nan"\n'),
                     "metadata.annotations.finops.apexlogic.com/expected-requests-per-month"),
    "requests-1e999": (_ksvc('    finops.apexlogic.com/project-id: "project-nova"\n',
                             '    finops.apexlogic.com/project-id: "project-nova"\n'
                             '    finops.apexlogic.com/expected-requests-per-month: "1e999"\n'),
                       "metadata.annotations.finops.apexlogic.com/expected-requests-per-month"),
    "annotationz-typo": (_ksvc("    metadata:\n      annotations:\n", "    metadata:\n      annotationz:\n"),
                         "spec.template.metadata.annotationz"),
    "port-0": (_ksvc("containerPort: 8080", "containerPort: 0"), f"{C0}.ports[0].containerPort"),
    "port-70000": (_ksvc("containerPort: 8080", "containerPort: 70000"), f"{C0}.ports[0].containerPort"),
    "cpu-negative": (_ksvc('cpu: "3000m"', 'cpu: "-1"'), f"{C0}.resources.limits.cpu"),
    "memory-garbage": (_ksvc('memory: "3Gi"', 'memory: "3 GB"'), f"{C0}.resources.requests.memory"),
    "env-name-space": (_ksvc("- name: MODEL_VERSION", "- name: MODEL VERSION"), f"{C0}.env[0].name"),
    "env-duplicate": (_ksvc("- name: ENVIRONMENT", "- name: MODEL_VERSION"), f"{C0}.env[1].name"),
    "concurrency-negative": (_ksvc("    spec:\n      containers:", "    spec:\n      containerConcurrency: -5\n"
                                   "      containers:"), "spec.template.spec.containerConcurrency"),
    "timeout-negative": (_ksvc("    spec:\n      containers:", "    spec:\n      timeoutSeconds: -1\n"
                               "      containers:"), "spec.template.spec.timeoutSeconds"),
    "containers-empty": (_ksvc_data(lambda d: _template_spec(d).update(containers=[])),
                         "spec.template.spec.containers"),
    "annotation-key-invalid": (_ksvc('    finops.apexlogic.com/project-id: "project-nova"\n',
                                     '    finops.apexlogic.com/project-id: "project-nova"\n'
                                     '    "bad key!/x": "1"\n'), "metadata.annotations.bad key!/x"),
    "label-key-invalid": (_ksvc("app: multimodal-inference", "-app-: multimodal-inference"),
                          "spec.template.metadata.labels.-app-"),
    "two-containers-with-ports": (_ksvc_data(_second_container), "spec.template.spec.containers"),
    "traffic-without-target": (seed_text() + "  traffic:\n    - percent: 100\n", "spec.traffic[0]"),
    "markup-field": (_ksvc("- image: apexlogic", '- "[/x]": 1\n          image: apexlogic'), f"{C0}.[/x]"),
}


@pytest.mark.parametrize("case", sorted(KNATIVE_CASES))
def test_knative_reproducer_is_an_error_naming_file_and_field(tmp_path: Path, case: str) -> None:
    text, field = KNATIVE_CASES[case]
    root = project(tmp_path, function=False)
    (root / "services" / "seed.yaml").write_text(text)
    errors = errors_of(root)
    assert any(e.startswith("services/seed.yaml:") and f" {field}:" in e for e in errors), errors


def test_the_untouched_seed_and_function_load(tmp_path: Path) -> None:
    assert errors_of(project(tmp_path)) == []


SECRET = "4111111111111111"
FUNCTION_CASES = {
    "reserved-aws-region": (_fn("    LOG_FORMAT: json\n", "    LOG_FORMAT: json\n    AWS_REGION: eu-west-1\n"),
                            "spec.environment", "AWS_REGION"),
    "reserved-access-key": (_fn("    LOG_FORMAT: json\n", "    LOG_FORMAT: json\n    AWS_ACCESS_KEY_ID: AKIA\n"),
                            "spec.environment", "AWS_ACCESS_KEY_ID"),
    "env-over-4kb": (_fn("    LOG_FORMAT: json\n", "    LOG_FORMAT: json\n    BIG: " + "x" * 4100 + "\n"),
                     "spec.environment", "4,096"),
    "handler-without-dot": (_fn("handler: app.handler", "handler: apphandler"), "spec", "module.function"),
    "code-path-empty": (_fn("path: functions/embeddings_batch", 'path: ""'), "spec.code", "code.path"),
    "code-path-dot": (_fn("path: functions/embeddings_batch", 'path: "."'), "spec.code", "code.path"),
    "code-path-dot-slash": (_fn("path: functions/embeddings_batch", 'path: "./"'), "spec.code", "code.path"),
    "code-path-300-chars": (_fn("path: functions/embeddings_batch", "path: " + "a" * 300), "spec.code.path",
                            "too long"),
    "memory-markup": (_fn("memoryMib: 1024", "memoryMib: '[/]'"), "spec.memoryMib", "integer"),
    "name-markup": (_fn("name: embeddings-batch", "name: '[/]'"), "metadata.name", "pattern"),
    "actions-markup": (_fn("actions: [s3:GetObject]", "actions: ['[/]']"), "spec.iamStatements[0].actions[0]",
                       "pattern"),
    "env-name-space": (_fn("    LOG_FORMAT: json\n", '    LOG_FORMAT: json\n    "A B": x\n'),
                       "spec.environment.A B.[key]", "pattern"),
    "canary-weight-nan": (_fn("  trigger: queue\n", "  trigger: queue\n  canary: {stableVersion: '1', weight: .nan}\n"),
                          "spec.canary.weight", "finite"),
    "numeric-env-value-not-echoed": (_fn("    LOG_FORMAT: json\n", f"    LOG_FORMAT: json\n    CARD: {SECRET}\n"),
                                     "spec.environment.CARD", "string"),
}


@pytest.mark.parametrize("case", sorted(FUNCTION_CASES))
def test_function_reproducer_is_an_error_naming_file_and_field(tmp_path: Path, case: str) -> None:
    text, field, needle = FUNCTION_CASES[case]
    root = project(tmp_path, seed=False)
    (root / "services" / "fn.yaml").write_text(text)
    errors = errors_of(root)
    assert any(e.startswith("services/fn.yaml:") and f" {field}:" in e and needle in e for e in errors), errors
    assert not any(SECRET in e for e in errors), errors


def test_knative_env_values_are_never_quoted(tmp_path: Path) -> None:
    root = project(tmp_path, function=False)
    text = seed_text().replace('value: "v1.3.0"', f"value: {SECRET}", 1)
    text = text.replace("    finops.apexlogic.com/project-id:", f"    security.apexlogic.com/api-token: {SECRET}\n"
                        "    finops.apexlogic.com/project-id:", 1)
    (root / "services" / "seed.yaml").write_text(text)
    errors = errors_of(root)
    assert any(f" {C0}.env[0].value:" in e for e in errors), errors
    assert any("api-token" in e for e in errors), errors
    assert not any(SECRET in e for e in errors), errors
