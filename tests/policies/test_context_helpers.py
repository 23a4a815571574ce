"""Shared helpers: quantities, image references, scale annotations, catalogue freshness."""

from __future__ import annotations

import pytest
from guardrails_pack.context import (
    ControlInputError,
    parse_cpu_millis,
    parse_image,
    parse_memory_bytes,
    registry_allowed,
    scale_annotation,
)
from guardrails_pack.discovery import discover_controls
from guardrails_pack.runtime import runtime_props
from hypothesis import given
from hypothesis import strategies as st

from scripts.control_catalogue import CATALOGUE_PATH, render_catalogue


@pytest.mark.parametrize("text,millis", [("3000m", 3000), ("1.5", 1500), (2, 2000), ("250m", 250), (0.5, 500)])
def test_cpu(text: object, millis: float) -> None:
    assert parse_cpu_millis(text) == millis


@pytest.mark.parametrize("text,size", [("6Gi", 6 * 2**30), ("512Mi", 512 * 2**20), ("1G", 1e9), (1024, 1024),
                                       ("129e6", 129e6)])
def test_memory(text: object, size: float) -> None:
    assert parse_memory_bytes(text) == size


@pytest.mark.parametrize("bad", ["six", "1Zi", "", True, "-1Gi"])
def test_bad_quantities_name_the_field(bad: object) -> None:
    with pytest.raises(ControlInputError, match="limits.memory"):
        parse_memory_bytes(bad, "limits.memory")


@given(st.integers(min_value=0, max_value=10**6))
def test_cpu_millis_round_trip(millis: int) -> None:
    assert parse_cpu_millis(f"{millis}m") == millis


def test_docker_hub_short_names() -> None:
    image = parse_image("apexlogic/multimodal-model:v1.3.0")
    assert (image.registry, image.repository, image.tag) == ("docker.io", "apexlogic/multimodal-model", "v1.3.0")
    assert parse_image("nginx").full_name == "docker.io/library/nginx"
    assert registry_allowed(parse_image("apexlogic/x:1"), ["docker.io/apexlogic"])
    assert not registry_allowed(parse_image("apexlogicx/x:1"), ["docker.io/apexlogic"])
    assert registry_allowed(parse_image("localhost:5000/a/b:1"), ["localhost:5000"])


def test_digest_and_port_registry() -> None:
    image = parse_image("reg.example.com:5000/team/app:1.2@sha256:" + "a" * 64)
    assert image.registry == "reg.example.com:5000" and image.tag == "1.2" and image.digest == "sha256:" + "a" * 64


@pytest.mark.parametrize("bad", ["<image>", "docker.io/{username}/x", "ko://knative.dev/x", "", None])
def test_unusable_image_references(bad: object) -> None:
    with pytest.raises(ControlInputError):
        parse_image(bad)


def test_scale_spellings_and_conflict() -> None:
    def props(annotations: dict[str, str]) -> object:
        return runtime_props({"spec": {"template": {"metadata": {"annotations": annotations}}}})

    assert scale_annotation(props({"autoscaling.knative.dev/minScale": "2"}), "min").value == 2
    assert scale_annotation(props({"autoscaling.knative.dev/min-scale": "3"}), "min").value == 3
    both = scale_annotation(props({"autoscaling.knative.dev/minScale": "1",
                                   "autoscaling.knative.dev/min-scale": "3"}), "min")
    assert both.conflict is not None
    assert scale_annotation(props({}), "max").value is None


def test_committed_catalogue_is_up_to_date() -> None:
    assert CATALOGUE_PATH.read_text() == render_catalogue(discover_controls()), (
        "docs/controls.md is stale: run .venv/bin/python policy_packs/guardrails/guardrails_pack/catalogue.py"
    )
