"""Bad declarations: every error of every file together, each naming file, line, field, found and allowed;
and when anything is invalid, no resource at all is registered."""

from __future__ import annotations

import json

import pytest
from guardrails_core.settings import StackConfigError, load_stack_settings

from components.specs import DeclarationErrors, load_declarations
from components.specs.function import SCHEMA_PATH, json_schema
from preflight.engine.mock_runner import ProgramFailed
from tests.foundation.helpers import make_project, run

GOOD = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: good
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/apexlogic/good:1.0.0
"""
TYPO = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: typo
  annotations:
    finops.apexlogic.com/cost-centre: "AI"
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/maxScale: "lots"
    spec:
      containers:
        - image: ghcr.io/apexlogic/typo:1.0.0
          imagePullPolicyy: Always
"""
FUNCTION_BAD = """\
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: bad-fn
spec:
  runtime: python3.12
  handler: app.handler
  code:
    path: functions/missing
  memoryMib: 64
  timeoutSeconds: 901
  logRetentionDays: 31
  tracng: Active
"""


def _errors(project, stack="local"):
    with pytest.raises(DeclarationErrors) as caught:
        load_declarations(project, stack, load_stack_settings(project, stack))
    return [str(e) for e in caught.value.errors]


def test_all_errors_of_all_files_are_reported_together(tmp_path):
    project = make_project(tmp_path, {"good.yaml": GOOD, "typo.yaml": TYPO, "fn.yaml": FUNCTION_BAD})
    errors = _errors(project)
    assert errors == [
        "services/fn.yaml:10: spec.memoryMib: Input should be greater than or equal to 128 (found 64)",
        "services/fn.yaml:11: spec.timeoutSeconds: Input should be less than or equal to 900 (found 901)",
        "services/fn.yaml:12: spec.logRetentionDays: must be one of CloudWatch's values 1, 3, 5, 7, 14, 30, 60, 90, "
        "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (found 31)",
        "services/fn.yaml:13: spec.tracng: unknown field (a typo?); see "
        "components/specs/schemas/function-spec.schema.json",
        "services/typo.yaml:6: metadata.annotations.finops.apexlogic.com/cost-centre: unknown annotation; allowed "
        "under finops.apexlogic.com/: cost-center, delete-after, expected-p50-latency-ms, expected-requests-per-month, "
        "expected-traffic-change, owner, project-id, usage-history",
        "services/typo.yaml:11: spec.template.metadata.annotations.autoscaling.knative.dev/maxScale: must be an "
        "integer ≥ 0 in ASCII digits, written as a string; found 'lots'",
        "services/typo.yaml:15: spec.template.spec.containers[0].imagePullPolicyy: unknown field 'imagePullPolicyy' "
        "(a typo? allowed here: args, command, env, envFrom, image, imagePullPolicy, livenessProbe, name, ports, "
        "readinessProbe, resources, securityContext, startupProbe, terminationMessagePath, terminationMessagePolicy, "
        "volumeMounts, workingDir)",
    ]


def test_missing_code_folder_is_named(tmp_path):
    text = FUNCTION_BAD.replace("memoryMib: 64", "memoryMib: 256").replace("timeoutSeconds: 901", "timeoutSeconds: 9")
    text = text.replace("logRetentionDays: 31", "logRetentionDays: 30").replace("  tracng: Active\n", "")
    errors = _errors(make_project(tmp_path, {"fn.yaml": text}), "dev")
    assert errors == ["services/fn.yaml:9: spec.code.path: folder 'functions/missing' does not exist in the repository"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\n", "services/x.yaml:2: not valid YAML: did not find expected ',' or ']'"),
        ("- 1\n- 2\n", "services/x.yaml:1: a declaration must be a mapping, found list; supported: "
                       "serving.knative.dev/v1 Service, serverless-guardrails.dev/v1alpha1 Function"),
        ("apiVersion: v1\nkind: ConfigMap\n", "services/x.yaml:1: apiVersion: unsupported apiVersion/kind 'v1'/"
                                             "'ConfigMap'; supported: serving.knative.dev/v1 Service, "
                                             "serverless-guardrails.dev/v1alpha1 Function"),
        ("a: 1\na: 2\n", "services/x.yaml:2: not valid YAML: duplicate key 'a' (first at line 1)"),
        (GOOD.replace("name: good", "name: Good_Name"), "services/x.yaml:4: metadata.name: must be a DNS-1035 label "
                                                        "(lowercase letters, digits, '-', ≤63), found 'Good_Name'"),
        (GOOD + "---\n" + GOOD, "services/x.yaml:11: metadata.name: 'good' is declared twice (also at "
                                "services/x.yaml:1)"),
    ],
    ids=["syntax", "not-a-mapping", "other-kind", "duplicate-key", "bad-name", "declared-twice"],
)
def test_malformed_files(tmp_path, text, expected):
    assert _errors(make_project(tmp_path, {"x.yaml": text})) == [expected]


def test_nothing_is_registered_when_any_declaration_is_invalid(tmp_path):
    project = make_project(tmp_path, {"good.yaml": GOOD, "typo.yaml": TYPO})
    with pytest.raises(ProgramFailed) as caught:
        run(project, "local")
    assert str(caught.value).startswith("3 invalid declarations (nothing was registered):")
    assert caught.value.registered == []  # not even the valid `good` service


def test_bad_stack_settings_name_the_file_and_key(tmp_path):
    project = make_project(tmp_path, {"good.yaml": GOOD})
    path = project / "stacks" / "Pulumi.local.yaml"
    path.write_text(path.read_text().replace("maxScale: 20", "maxScale: 0").replace("platforms: [knative]",
                                                                                      "platforms: [knative, gcf]"))
    with pytest.raises(StackConfigError) as caught:
        load_stack_settings(project, "local")
    message = str(caught.value)
    assert "stacks/Pulumi.local.yaml: invalid stack settings" in message
    assert "guardrails:platforms.1: Input should be 'knative' or 'lambda' (found 'gcf')" in message
    assert "guardrails:limits.maxScale: Input should be greater than or equal to 1 (found 0)" in message


def test_unknown_stack_lists_the_available_ones(tmp_path):
    project = make_project(tmp_path, {})
    with pytest.raises(StackConfigError, match=r"Pulumi.qa.yaml: no such stack config file \(stacks available: "
                                               r"cluster, dev, local, prod, staging\)"):
        load_stack_settings(project, "qa")


def test_function_json_schema_is_up_to_date():
    assert json.loads(SCHEMA_PATH.read_text()) == json_schema(), "run: python -m components.specs.function"
