"""Wire format: properties are marshalled the way the engine marshals them for Analyze / Remediate."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from guardrails_core.values import SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN, UNKNOWN_SENTINEL, Secret, from_wire
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_policy.deserialize import deserialize_properties

from preflight.crossguard.client import parse_urn, properties_diff, provider_urn
from preflight.crossguard.errors import WireFormatError
from preflight.crossguard.policy_config import PolicyConfigEntry, reconcile
from preflight.crossguard.wire import from_struct, to_struct


def test_unknown_is_the_string_sentinel_and_secret_the_signature_object() -> None:
    struct = to_struct({"arn": UNKNOWN, "password": Secret("hunter2"), "nested": {"list": [UNKNOWN, 1]}})
    as_dict = json_format.MessageToDict(struct)
    assert as_dict["arn"] == UNKNOWN_SENTINEL
    assert as_dict["password"] == {SPECIAL_SIG_KEY: SECRET_SIG, "value": "hunter2"}
    assert as_dict["nested"] == {"list": [UNKNOWN_SENTINEL, 1.0]}


def test_pulumi_policy_reads_our_secret_the_way_it_reads_the_engines() -> None:
    as_dict = json_format.MessageToDict(to_struct({"password": Secret("hunter2")}))
    assert deserialize_properties(as_dict) == {"password": "hunter2"}  # Analyze: unwrapped
    proxied = deserialize_properties(as_dict, True)  # Remediate: secret kept
    assert type(proxied["__target"]["password"]).__name__ == "Secret"


def test_internal_keys_are_dropped_for_analyze_only() -> None:
    props = {"__defaults": ["name"], "spec": {"__inner": 1, "ok": 2}}
    assert json_format.MessageToDict(to_struct(props)) == {"spec": {"ok": 2.0}}
    kept = json_format.MessageToDict(to_struct(props, skip_internal_keys=False))
    assert kept == {"__defaults": ["name"], "spec": {"__inner": 1.0, "ok": 2.0}}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"spec": {"when": object()}}, "property spec.when: values of type object cannot be sent"),
        ({"ports": [1, float("nan")]}, r"property ports\[1\]: nan cannot be sent"),
        ({"labels": {3: "x"}}, "property labels: key 3 is not a string"),
    ],
)
def test_unsendable_values_name_the_property_path(props: dict[str, Any], message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        to_struct(props)


_scalars = st.none() | st.booleans() | st.integers(-(2**52), 2**52) | st.text(max_size=8) | st.just(UNKNOWN)
_values = st.recursive(
    _scalars | st.builds(Secret, _scalars),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abc", min_size=1, max_size=3), inner,
                                                                  max_size=3),
    max_leaves=12,
)


@settings(derandomize=True, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text("xyz", min_size=1, max_size=4), _values, max_size=4))
def test_round_trip_through_the_struct_keeps_markers(props: dict[str, Any]) -> None:
    assert from_struct(to_struct(props)) == props


def test_other_unknown_sentinels_from_a_pack_read_as_unknown() -> None:
    assert from_wire({"n": "3eeb2bf0-c639-47a8-9e75-3b44932eb421", "s": UNKNOWN_SENTINEL}) == {
        "n": UNKNOWN, "s": UNKNOWN}


def test_urn_and_provider_reference_parsing() -> None:
    urn = "urn:pulumi:dev::proj::serverless-guardrails:aws:ServerlessFunction$aws:lambda/function:Function::fn"
    assert parse_urn(urn) == ("aws:lambda/function:Function", "fn")
    ref = "urn:pulumi:dev::proj::pulumi:providers:aws::default_7_51_1::04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert provider_urn(ref) == "urn:pulumi:dev::proj::pulumi:providers:aws::default_7_51_1"
    with pytest.raises(ValueError, match="not a Pulumi URN"):
        parse_urn("arn:aws:iam::1:role/x")


def test_diff_redacts_secrets_and_shows_changes() -> None:
    diff = properties_diff({"pw": Secret("s3cr3t"), "n": 1}, {"pw": Secret("s3cr3t"), "n": 2, "arn": UNKNOWN},
                           "urn:x")
    assert "s3cr3t" not in diff
    assert '-  "n": 1' in diff and '+  "n": 2' in diff and '+  "arn": "<unknown>",' in diff


def test_reconcile_fills_defaults_applies_initial_then_user_config() -> None:
    policies = {"a": ("advisory", {"max": {"type": "integer", "default": 3}}, []),
                "b": ("mandatory", {}, [])}
    initial = {"a": PolicyConfigEntry("mandatory", {"max": 4})}
    result = reconcile(policies, initial, {"all": "advisory", "b": {"enforcementLevel": "disabled"}})
    assert result == {"a": PolicyConfigEntry("advisory", {"max": 4}), "b": PolicyConfigEntry("disabled", {})}


def test_reconcile_checks_required_properties() -> None:
    policies = {"a": ("advisory", {"settings": {"type": "object"}}, ["settings"])}
    with pytest.raises(ValueError, match="a: \\(root\\): 'settings' is a required property"):
        reconcile(policies, {}, None)
