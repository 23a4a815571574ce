"""Every real Knative example either loads, or is rejected with a precise reason (file, line, field, why)."""

from __future__ import annotations

import shutil

import jsonschema
import pytest
from guardrails_core.settings import load_stack_settings

from components.knative_service import KnativeServiceArgs, render_manifest
from components.specs import DeclarationErrors, load_declarations
from components.specs.knative import crd_schema
from tests.foundation.helpers import REPO, make_project

PLACEHOLDER = "contains the placeholder"
KO = "is a ko build path"
IMAGE = "spec.template.spec.containers[0].image"
# file -> names that load, or [(line, field path, reason)] for a rejection.
EXPECTED: dict[str, list] = {
    "docs__community__serving__helloworld-rust__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__community__serving__machinelearning-python-bentoml__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__eventing__flows__sequence__sequence-terminal__steps.yaml": ["first", "second", "third"],
    "docs__eventing__sources__kafka-source__event-display.yaml": ["event-display"],
    "docs__serving__autoscaling__autoscale-go__service.yaml": ["autoscale-go"],
    "docs__serving__cloudevents__cloudevents-dotnet__service.yaml": [(23, IMAGE, "'<image>'")],
    "docs__serving__gitwebhook-go__service.yaml": [(24, IMAGE, "'{DOCKER_HUB_USERNAME}'")],
    "docs__serving__grpc-ping-go__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__serving__hello-world__helloworld-csharp__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__serving__hello-world__helloworld-go__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__serving__hello-world__helloworld-java-spring__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__serving__hello-world__helloworld-nodejs__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__serving__hello-world__helloworld-python__service.yaml": [(10, IMAGE, "'{username}'")],
    "docs__serving__knative-routing-go__sample.yaml": ["search-service", "login-service"],
    "docs__serving__multi-container__service.yaml": ["multi-container"],
    "docs__serving__secrets-go__service.yaml": ["secrets-go"],
    "docs__serving__tag-header-based-routing__sample.yaml": [(25, IMAGE, "'{username}'"), (41, IMAGE, "'{username}'")],
    "docs__serving__websockets-go__config__service.yaml": [(10, IMAGE, KO)],
    "serving__performance__benchmarks__dataplane-probe__dataplane-probe-setup.yaml": [
        (30, IMAGE, KO), (48, IMAGE, KO),
        (51, "apiVersion", "unsupported apiVersion/kind 'v1'/'Service'"),
        (63, "apiVersion", "unsupported apiVersion/kind 'apps/v1'/'Deployment'"),
    ],
    "serving__performance__benchmarks__rollout-probe__rollout-probe-setup-activator-direct.yaml": [(32, IMAGE, KO)],
    "serving__test_images__configmimic__service.yaml": [
        (10, IMAGE, KO), (37, "apiVersion", "unsupported apiVersion/kind 'v1'/'ConfigMap'")],
    "serving__test_images__hellovolume__service.yaml": [
        (26, IMAGE, KO),
        (43, "apiVersion", "unsupported apiVersion/kind 'v1'/'Secret'"),
        (50, "apiVersion", "unsupported apiVersion/kind 'v1'/'ConfigMap'"),
    ],
    "serving__test_images__multicontainer__service.yaml": [
        (24, IMAGE, KO), (27, "spec.template.spec.containers[1].image", KO)],
    "serving__test_images__slowstart__service.yaml": [(24, IMAGE, KO)],
    "serving__test_images__volumes__service-pvc.yaml": [
        (23, IMAGE, KO), (38, "apiVersion", "unsupported apiVersion/kind 'v1'/'PersistentVolumeClaim'")],
}


def test_the_table_covers_every_example(shared):
    assert sorted(p.name for p in (shared / "data/knative/examples").glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_loads_or_is_rejected_precisely(name, shared, tmp_path):
    project = make_project(tmp_path, {})
    shutil.copy(shared / "data/knative/examples" / name, project / "services" / name)
    settings = load_stack_settings(project, "local")
    expected = EXPECTED[name]
    if all(isinstance(e, str) for e in expected):
        assert [d.name for d in load_declarations(project, "local", settings)] == expected
        return
    with pytest.raises(DeclarationErrors) as caught:
        load_declarations(project, "local", settings)
    got = caught.value.errors
    assert len(got) == len(expected), [str(e) for e in got]
    for error, (line, path, reason) in zip(got, expected, strict=True):
        assert (error.file, error.line, error.path) == (f"services/{name}", line, path)
        assert reason in error.message
        if reason.startswith("'{") or reason.startswith("'<"):
            assert PLACEHOLDER in error.message  # placeholder images are rejected by name


def _rendered_examples(shared, tmp_path):
    project = make_project(tmp_path, {}, with_repo_services=True)
    for name, expected in EXPECTED.items():
        if all(isinstance(e, str) for e in expected):
            shutil.copy(shared / "data/knative/examples" / name, project / "services" / name)
    settings = load_stack_settings(project, "local")
    for decl in load_declarations(project, "local", settings):
        if decl.kind == "knative":
            yield decl.name, render_manifest(KnativeServiceArgs(
                spec=decl.spec, environment="local", default_namespace=settings.namespace,
                default_tags=settings.default_tags, source=decl.source))


@pytest.mark.parametrize("strict", [False, True], ids=["crd-schema", "crd-schema-no-unknown-fields"])
def test_every_rendering_validates_against_the_real_crd_schema(shared, tmp_path, strict):
    rendered = dict(_rendered_examples(shared, tmp_path))
    assert len(rendered) == 10  # 9 loadable example services + the seed
    schema = crd_schema(strict)
    for name, manifest in rendered.items():
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(manifest))
        assert not errors, (name, [e.message for e in errors])


def test_the_repo_copy_of_the_crd_schema_is_the_shared_one(shared):
    shared_copy = (shared / "data/knative/crd/services.serving.knative.dev.v1.openAPIV3Schema.json").read_bytes()
    assert (REPO / "components/specs/schemas/knative-service-v1.openapi.json").read_bytes() == shared_copy
