"""Nothing outside the repository is read, and stack-config typos are errors naming the file and the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from guardrails_core.settings import StackConfigError, load_stack_settings
from guardrails_predict.resources import PredictionInputError
from guardrails_predict.usage_history import load_usage_history

from components.specs import DeclarationErrors, load_declarations
from tests.hostile.helpers import FUNCTION, errors_of, project, seed_text


def test_symlinked_declaration_outside_the_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(seed_text().replace("multimodal-ai-inference", "evil"))
    (tmp_path / "p").mkdir()
    root = project(tmp_path / "p")
    (root / "services" / "evil.yaml").symlink_to(outside)
    assert errors_of(root) == ["services/evil.yaml: refused: the file resolves outside the repository "
                               "(a symlink or '..' escaping it)"]


def test_symlinked_overlay_outside_the_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "overlay.yaml"
    outside.write_text("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: multimodal-ai-inference}\n")
    (tmp_path / "p").mkdir()
    root = project(tmp_path / "p")
    (root / "services" / "overlays" / "dev").mkdir(parents=True)
    (root / "services" / "overlays" / "dev" / "o.yaml").symlink_to(outside)
    errors = errors_of(root)
    assert errors == ["services/overlays/dev/o.yaml: refused: the file resolves outside the repository "
                      "(a symlink or '..' escaping it)"]


def test_code_path_symlink_to_etc_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, seed=False)
    (root / "functions" / "etc").symlink_to("/etc")
    (root / "services" / "fn.yaml").write_text(FUNCTION.replace("functions/embeddings_batch", "functions/etc"))
    errors = errors_of(root)
    assert len(errors) == 1 and "spec.code.path" in errors[0] and "outside the repository" in errors[0], errors


@pytest.mark.parametrize(("value", "needle"), [
    ("../../outside", "outside the repository"),
    ("/tmp", "not an absolute path"),
    ("missing", "does not exist"),
    ("a" * 300, "too long"),
])
def test_services_dir_must_be_a_folder_inside_the_project(tmp_path: Path, value: str, needle: str) -> None:
    (tmp_path / "p").mkdir()
    root = project(tmp_path / "p")
    stack = root / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + f"  guardrails:servicesDir: {value}\n")
    with pytest.raises(DeclarationErrors) as info:
        load_declarations(root, "dev", load_stack_settings(root, "dev"))
    text = str(info.value)
    assert "stacks/Pulumi.dev.yaml: guardrails:servicesDir:" in text and needle in text, text


def test_usage_history_fifo_and_symlink_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "h.yaml")
    with pytest.raises(PredictionInputError, match="must be a regular file, found a FIFO"):
        load_usage_history(tmp_path, "h.yaml", "finops.x/usage-history")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "h.yaml").symlink_to(tmp_path / "h.yaml")
    with pytest.raises(PredictionInputError, match="outside the repository"):
        load_usage_history(tmp_path / "p", "h.yaml", "finops.x/usage-history")


def test_model_weights_symlink_to_etc_passwd_is_not_hashed(tmp_path: Path) -> None:
    from guardrails_supply_chain.artifacts import ServiceContext, _model_artifacts

    (tmp_path / "weights.bin").symlink_to("/etc/passwd")
    ctx = ServiceContext("svc", "urn:x", "kubernetes:serving.knative.dev/v1:Service",
                         annotations={"security.apexlogic.com/model-weights": "weights.bin"})
    [artifact] = _model_artifacts(ctx, "apexlogic.com", tmp_path)
    assert artifact.local_path is None and "outside the repository" in (artifact.problem or "")


@pytest.mark.parametrize("line", [
    "  guardrail:limits: {maxScale: 1}\n",
    "  guardrail:policy: {enforcement: {critical: mandatory}}\n",
    "  guardrailz:limits: {maxScale: 1}\n",
    "  serverless-guardrails:limits: {maxScale: 1}\n",
])
def test_misspelt_namespaces_are_errors(tmp_path: Path, line: str) -> None:
    root = project(tmp_path)
    stack = root / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + line)
    with pytest.raises(StackConfigError) as info:
        load_stack_settings(root, "dev")
    key = line.strip().split(":")[0] + ":" + line.strip().split(":")[1]
    assert str(stack) in str(info.value) and key in str(info.value)


def test_other_namespaces_are_left_alone(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert load_stack_settings(root, "dev").environment == "dev"  # aws:, kubernetes: keys are fine
