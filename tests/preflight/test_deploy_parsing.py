"""preflight.deploy without a cluster: override parsing and the field-conflict explanation."""

from __future__ import annotations

import pytest
from guardrails_core.settings import StackSettings

from preflight.deploy import OverrideError, field_conflicts, override_records, parse_overrides

# The engine's words for an object created earlier by `kubectl apply` (recorded from the real provider against the
# local kube-apiserver, tests/cluster/test_deploy.py reproduces it live).
ENGINE_ERROR = (
    'pulumi up failed:     The resource managed by field manager "pulumi-kubernetes-7c5480ef" had an apply conflict: '
    'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using serving.knative.dev/v1: '
    ".spec.template.spec.containers\n\nResources:\n    2 errored\n"
    'pulumi: resource "urn:pulumi:cluster::serverless-guardrails::serverless-guardrails:knative:Service$kubernetes:'
    'serving.knative.dev/v1:Service::taken-svc" was not successfully created by the Kubernetes API server: '
    "Server-Side Apply field conflict detected. See https://www.pulumi.com/registry/packages/kubernetes/\n"
    'The resource managed by field manager "pulumi-kubernetes-7c5480ef" had an apply conflict: Apply failed with 1 '
    'conflict: conflict with "kubectl-client-side-apply" using serving.knative.dev/v1: .spec.template.spec.containers'
    "\npulumi: update failed"
)
CATALOGUE = {"dc.confidential-cluster-local": "dc-confidential-cluster-local", "pod.no-privileged": "pod-no-privileged"}


def _settings(environment: str = "local", overrides: str | None = None) -> StackSettings:
    policy = {"overrides": overrides} if overrides else {}
    return StackSettings.model_validate({"environment": environment, "policy": policy})


def test_conflict_names_the_object_the_manager_the_fields_and_the_fix() -> None:
    conflicts = field_conflicts(ENGINE_ERROR)
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict.resource == "kubernetes:serving.knative.dev/v1:Service taken-svc"
    assert conflict.manager == "kubectl-client-side-apply"
    assert conflict.fields == [".spec.template.spec.containers"]
    assert "kubectl delete" in conflict.fix and "pulumi.com/patchForce" in conflict.fix
    assert field_conflicts("pulumi: update failed: namespaces \"x\" not found") == []


def test_overrides_by_control_id_or_policy_name() -> None:
    parsed = parse_overrides(["dc.confidential-cluster-local=SEC-123: demo cluster, expires 2026-12-31",
                              "pod-no-privileged= INC-9: debug image "], _settings(), "stacks/Pulumi.x.yaml", CATALOGUE)
    assert parsed == {"dc.confidential-cluster-local": "SEC-123: demo cluster, expires 2026-12-31",
                      "pod.no-privileged": "INC-9: debug image"}
    records = override_records(parsed)
    assert [r["control"] for r in records] == list(parsed) and all(r["who"] and r["when"] for r in records)


@pytest.mark.parametrize(("values", "settings", "message"), [
    (["dc.confidential-cluster-locl=SEC-1: x"], _settings(), "did you mean dc.confidential-cluster-local"),
    (["SEC-1: the whole gate"], _settings(), "expected CONTROL=REASON"),
    (["pod.no-privileged=  "], _settings(), "needs a reason"),
    (["pod.no-privileged=a", "pod-no-privileged=b"], _settings(), "given twice"),
    (["pod.no-privileged=a"], _settings("prod"), "default for prod"),
    (["pod.no-privileged=a"], _settings("dev", "forbidden"), "overrides are forbidden"),
])
def test_bad_overrides_are_refused(values: list[str], settings: StackSettings, message: str) -> None:
    with pytest.raises(OverrideError, match=message):
        parse_overrides(values, settings, "stacks/Pulumi.x.yaml", CATALOGUE)


def test_prod_may_allow_overrides_explicitly() -> None:
    assert parse_overrides(["pod.no-privileged=a"], _settings("prod", "allowed"), "f", CATALOGUE)
