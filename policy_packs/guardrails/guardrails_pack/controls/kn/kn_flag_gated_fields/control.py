"""kn.flag-gated-fields: fields behind a Knative feature flag are used only when the target cluster enables it.

The gates come from `knative_flags.json`, generated from Knative Serving's own source (`features.go`,
`fieldmask.go`, `k8s_validation.go`) at the version the repo's Knative Service CRD schema comes from, by
`scripts/gen_knative_flag_table.py`. A flag the stack does not list has Knative's default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from guardrails_pack.context import (
    KNATIVE_SERVICE,
    ContainerRef,
    ResourceContext,
    container_list,
    get_in,
    is_list,
    is_mapping,
    pod_security_context,
    pod_volumes,
)
from guardrails_pack.control import ResourceControl

TABLE: dict[str, Any] = json.loads((Path(__file__).with_name("knative_flags.json")).read_text())
KNATIVE_VERSION = f"{TABLE['source']['module']}@{TABLE['source']['version']}"
_GATES: dict[str, list[dict[str, Any]]] = {}
for _gate in TABLE["gates"]:
    _GATES.setdefault(_gate["kind"], []).append(_gate)


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != {} and value != ""


class _Flags:
    def __init__(self, configured: Mapping[str, str]) -> None:
        self.values = {key: spec["default"] for key, spec in TABLE["flags"].items()}
        self.values.update({key: str(value).lower() for key, value in configured.items()})

    def allows(self, flag: str, allowed_when: list[str]) -> bool:
        return self.values.get(flag) in allowed_when

    def needs(self, flag: str, allowed_when: list[str], what: str) -> Iterator[str]:
        if not self.allows(flag, allowed_when):
            need = " or ".join(allowed_when)
            yield (f"{what} needs the Knative feature flag {flag} set to {need}, which is {self.values.get(flag)} for "
                   f"this stack (guardrails:knativeFeatureFlags; {KNATIVE_VERSION}); the deploy would fail at apply")


def _settings_problems(configured: Mapping[str, str]) -> Iterator[str]:
    for key, value in sorted(configured.items()):
        spec = TABLE["flags"].get(key)
        if spec is None:
            yield (f"guardrails:knativeFeatureFlags names {key!r}, which is not a flag of {KNATIVE_VERSION} "
                   f"(known: {', '.join(sorted(TABLE['flags']))})")
        elif str(value).lower() not in spec["values"]:
            yield (f"guardrails:knativeFeatureFlags[{key}] is {value!r}; {KNATIVE_VERSION} accepts "
                   f"{', '.join(spec['values'])}")


def _pod_security_context(flags: _Flags, spec: Mapping[str, Any]) -> Iterator[str]:
    rule = TABLE["pod_security_context"]
    psc = pod_security_context(spec)
    used = sorted(k for k in psc if _present(psc[k]))
    if not used or flags.allows(rule["flag"], rule["allowed_when"]):
        return
    spd = rule["secure_pod_defaults"]
    if flags.allows(spd["flag"], spd["allowed_when"]):
        # With secure-pod-defaults on, Knative keeps only a pod-level seccompProfile of the listed types.
        kind = get_in(psc, "seccompProfile.type")
        if used == ["seccompProfile"] and kind in spd["seccomp_profile_types"]:
            return
    yield from flags.needs(rule["flag"], rule["allowed_when"],
                           f"spec.template.spec.securityContext ({', '.join(used)})")


def _add_capabilities(flags: _Flags, ref: ContainerRef) -> Iterator[str]:
    rule = TABLE["add_capabilities"]
    added = ref.get("securityContext.capabilities.add", [])
    if not is_list(added) or len(added) == 0 or flags.allows(rule["flag"], rule["allowed_when"]):
        return
    spd = rule["secure_pod_defaults"]
    if flags.allows(spd["flag"], spd["allowed_when"]) and [str(c) for c in added] == spd["exactly"]:
        return
    yield from flags.needs(rule["flag"], rule["allowed_when"], f"{ref.label} securityContext.capabilities.add")


def check(ctx: ResourceContext) -> Iterator[str]:
    configured = ctx.settings.knative_feature_flags
    problems = list(_settings_problems(configured))
    if problems:
        yield from problems
        return
    flags = _Flags(configured)
    spec = ctx.pod_spec()
    for gate in _GATES.get("podSpec", []):
        if gate["field"] in spec and _present(spec[gate["field"]]):
            yield from flags.needs(gate["flag"], gate["allowed_when"], f"spec.template.spec.{gate['field']}")
    yield from _pod_security_context(flags, spec)
    containers = list(ctx.containers(include_init=False))
    if len(containers) > 1:
        for gate in _GATES.get("multiContainer", []):
            yield from flags.needs(gate["flag"], gate["allowed_when"], f"{len(containers)} containers")
        # The serving container is the one with a port; probes on the others need multi-container probing.
        for ref in containers:
            if container_list(ref, "ports"):
                continue
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if ref.get(probe) is not None:
                    for gate in _GATES.get("sidecarProbes", []):
                        yield from flags.needs(gate["flag"], gate["allowed_when"], f"{ref.label} {probe}")
    for path, volume in pod_volumes(spec):
        for gate in _GATES.get("volumeSource", []):
            if gate["field"] in volume:
                yield from flags.needs(gate["flag"], gate["allowed_when"], f"{path} ({gate['field']})")
        claim = volume.get("persistentVolumeClaim")
        if is_mapping(claim) and claim.get("readOnly") is not True:
            for gate in _GATES.get("persistentVolumeWrite", []):
                yield from flags.needs(gate["flag"], gate["allowed_when"], f"{path} (writable persistentVolumeClaim)")
    for ref in ctx.containers():
        yield from _add_capabilities(flags, ref)
        mounts = container_list(ref, "volumeMounts")
        for index in range(len(mounts)):
            for gate in _GATES.get("volumeMount", []):
                if is_mapping(mounts[index]) and _present(mounts[index].get(gate["field"])):
                    yield from flags.needs(gate["flag"], gate["allowed_when"],
                                           f"{ref.path}.volumeMounts[{index}].{gate['field']}")
        env = container_list(ref, "env")
        for index in range(len(env)):
            for gate in _GATES.get("envValueFrom", []):
                if is_mapping(env[index]) and get_in(env[index], f"valueFrom.{gate['field']}") is not None:
                    yield from flags.needs(gate["flag"], gate["allowed_when"],
                                           f"{ref.path}.env[{index}].valueFrom.{gate['field']}")


CONTROL = ResourceControl(
    id="kn.flag-gated-fields",
    description="Fields gated by Knative feature flags (PodSpec fields, volume types, pod securityContext, added "
    "capabilities, fieldRef env, several containers) are used only when the target cluster enables the flag.",
    severity="medium",
    remediation_steps="Remove the field, or enable the flag in the cluster's config-features and record it in "
    "guardrails:knativeFeatureFlags for this stack.",
    url="https://knative.dev/docs/serving/configuration/feature-flags/",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
