"""Generate the Knative feature-flag table `kn.flag-gated-fields` checks, from Knative Serving's own source.

    .venv/bin/python scripts/gen_knative_flag_table.py [--version v0.51.0] [--source DIR] [--check]

The source is the `knative.dev/serving` Go module at the version the Knative Service CRD schema in the repo comes
from (the CRD in `data/knative` is byte-identical to that version's `config/core/300-resources/service.yaml`; the
generator verifies it). Without `--source` it asks `go mod download -json` for the module (install time: the Go
module proxy, cached in GOMODCACHE). It reads:

* `pkg/apis/config/features.go`: flag keys (`kubernetes.podspec-*` constants and literal keys), their defaults
  (`defaultFeaturesConfig`) and the values each parser accepts (`asFlag` / `asSecurePodDefaultsFlag`);
* `pkg/apis/serving/fieldmask.go`: which PodSpec / VolumeSource / VolumeMount / EnvVarSource field each flag lets
  through (`if cfg.Features.X != config.Disabled { out.F = in.F }`), the pod securityContext and capabilities rules;
* `pkg/apis/serving/k8s_validation.go`: flags the webhook additionally requires to be exactly `Enabled`
  (`features.X != config.Enabled`), which makes `Allowed` insufficient for that flag.

Anything the patterns do not find is an error (upstream changed shape: re-read it, do not guess). Writes
`policy_packs/guardrails/guardrails_pack/controls/kn/kn_flag_gated_fields/knative_flags.json` (`--check`: compare).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "policy_packs/guardrails/guardrails_pack/controls/kn/kn_flag_gated_fields/knative_flags.json"
CRD_SCHEMA = REPO / "components/specs/schemas/knative-service-v1.openapi.json"
MODULE = "knative.dev/serving"
DEFAULT_VERSION = "v0.51.0"
FEATURES_GO = "pkg/apis/config/features.go"
FIELDMASK_GO = "pkg/apis/serving/fieldmask.go"
VALIDATION_GO = "pkg/apis/serving/k8s_validation.go"
CRD_UPSTREAM = "config/core/300-resources/service.yaml"


class SourceShapeError(RuntimeError):
    """The upstream source no longer has the shape this generator reads."""


def module_dir(version: str) -> tuple[Path, str]:
    """(directory, go.sum hash) of knative.dev/serving@version from the local module cache (downloads if needed)."""
    try:
        out = subprocess.run(["go", "mod", "download", "-json", f"{MODULE}@{version}"], capture_output=True,
                             text=True, check=False, timeout=600)
    except FileNotFoundError as exc:
        raise SystemExit("gen_knative_flag_table: `go` is not installed; pass --source DIR") from exc
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise SystemExit(f"gen_knative_flag_table: go mod download {MODULE}@{version} failed: "
                         f"{info.get('Error') or out.stderr.strip()}")
    return Path(info["Dir"]), str(info.get("Sum", ""))


def upstream_schema(src: Path) -> Any:
    """The v1 openAPIV3Schema of the module's Knative Service CRD."""
    import yaml  # the project's dependency; imported here so --help works without the venv

    crd = yaml.safe_load((src / CRD_UPSTREAM).read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


def _function_body(source: str, name: str, path: str) -> str:
    match = re.search(rf"^func {name}\(.*?\{{\n(.*?)^\}}", source, re.M | re.S)
    if not match:
        raise SourceShapeError(f"{path}: func {name} not found")
    return match.group(1)


def json_name(go_field: str) -> str:
    """Go field -> its JSON name in k8s.io/api: HostIPC -> hostIPC, DNSPolicy -> dnsPolicy, CSI -> csi."""
    if go_field.isupper():
        return go_field.lower()
    run = re.match(r"^[A-Z]+(?=[A-Z][a-z])", go_field)
    if run:
        return run.group(0).lower() + go_field[len(run.group(0)):]
    return go_field[0].lower() + go_field[1:]


def _flag_value(go_value: str) -> str:
    return go_value.lower()  # Knative compares with strings.EqualFold; the stack settings use lower case


def parse_features(text: str) -> dict[str, dict[str, Any]]:
    """flag key -> {field, default, values} from features.go."""
    consts = dict(re.findall(r"^\s*(Feature\w+)\s*=\s*\"([^\"]+)\"", text, re.M))
    defaults = dict(re.findall(r"^\s*(\w+):\s+(Enabled|Disabled|Allowed|AllowRootBounded),$",
                               _function_body(text, "defaultFeaturesConfig", FEATURES_GO), re.M))
    parsers: dict[str, list[str]] = {}
    for parser in ("asFlag", "asSecurePodDefaultsFlag"):
        body = _function_body(text, parser, FEATURES_GO)
        found = re.search(r"range \[\]Flag\{([^}]*)\}", body)
        if not found:
            raise SourceShapeError(f"{FEATURES_GO}: {parser} has no `range []Flag{{...}}` list")
        parsers[parser] = sorted(_flag_value(v.strip()) for v in found.group(1).split(","))
    flags: dict[str, dict[str, Any]] = {}
    body = _function_body(text, "NewFeaturesConfigFromMap", FEATURES_GO)
    for parser, literal, const, field in re.findall(r"(asFlag|asSecurePodDefaultsFlag)\((?:\"([^\"]+)\"|(\w+)), "
                                                    r"&nc\.(\w+)\)", body):
        key = literal or consts.get(const)
        if key is None:
            raise SourceShapeError(f"{FEATURES_GO}: constant {const} is not defined")
        if field not in defaults:
            raise SourceShapeError(f"{FEATURES_GO}: {field} has no default in defaultFeaturesConfig")
        flags[key] = {"field": field, "default": _flag_value(defaults[field]), "values": parsers[parser]}
    if len(flags) < 20:
        raise SourceShapeError(f"{FEATURES_GO}: only {len(flags)} flags parsed from NewFeaturesConfigFromMap")
    return flags


def _mask_gates(fieldmask: str, func: str) -> list[tuple[str, str]]:
    body = _function_body(fieldmask, func, FIELDMASK_GO)
    return re.findall(r"if cfg\.Features\.(\w+) != config\.Disabled \{\s*out\.(\w+) = in\.\2\s*\}", body)


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    if index < 0:
        raise SourceShapeError(f"expected text not found: {needle!r}")
    return text.count("\n", 0, index) + 1


def build_table(src: Path, version: str, module_sum: str) -> dict[str, Any]:
    texts = {p: (src / p).read_text() for p in (FEATURES_GO, FIELDMASK_GO, VALIDATION_GO)}
    features, fieldmask, validation = texts[FEATURES_GO], texts[FIELDMASK_GO], texts[VALIDATION_GO]
    flags = parse_features(features)
    key_of = {v["field"]: k for k, v in flags.items()}
    # Features the webhook's validation needs exactly Enabled (e.g. `features.PodSpecVolumesHostPath != config.Enabled`)
    # even though the field mask lets Allowed through.
    enabled_only = set(re.findall(r"[Ff]eatures\.(\w+) != config\.Enabled", validation))

    def allowed_when(feature: str) -> list[str]:
        return ["enabled"] if feature in enabled_only else ["allowed", "enabled"]

    def gate(kind: str, feature: str, go_field: str, where: str) -> dict[str, Any]:
        if feature not in key_of:
            raise SourceShapeError(f"{where}: feature {feature} is not parsed by NewFeaturesConfigFromMap")
        return {"kind": kind, "field": json_name(go_field), "flag": key_of[feature],
                "allowed_when": allowed_when(feature), "source": where}

    gates: list[dict[str, Any]] = []
    for kind, func in (("podSpec", "PodSpecMask"), ("volumeSource", "VolumeSourceMask"),
                       ("volumeMount", "VolumeMountMask")):
        found = _mask_gates(fieldmask, func)
        if not found:
            raise SourceShapeError(f"{FIELDMASK_GO}: no feature gates found in {func}")
        for feature, go_field in found:
            if kind == "podSpec" and go_field == "SecurityContext":
                continue  # the pod securityContext has its own rule below
            gates.append(gate(kind, feature, go_field, f"{FIELDMASK_GO} {func}"))
    # env[].valueFrom: EnvVarSourceMask(source, features.PodSpecFieldRef != config.Disabled) keeps fieldRef and
    # resourceFieldRef only when that flag is not Disabled.
    env = re.search(r"EnvVarSourceMask\(source, features\.(\w+) != config\.Disabled\)", validation)
    env_fields = re.search(r"if fieldRef \{\s*((?:out\.\w+ = in\.\w+\s*)+)\}",
                           _function_body(fieldmask, "EnvVarSourceMask", FIELDMASK_GO))
    if not env or not env_fields:
        raise SourceShapeError(f"{VALIDATION_GO}/{FIELDMASK_GO}: the fieldRef gate of EnvVarSourceMask moved")
    for go_field in re.findall(r"out\.(\w+) =", env_fields.group(1)):
        gates.append(gate("envValueFrom", env.group(1), go_field, f"{FIELDMASK_GO} EnvVarSourceMask"))
    # More than one container / probes on a non-serving container / a writable PVC: validation-only gates.
    for feature, kind, needle in (
        ("MultiContainer", "multiContainer", "features.MultiContainer != config.Enabled"),
        ("MultiContainerProbing", "sidecarProbes", "cfg.Features.MultiContainerProbing != config.Enabled {\n\t\tif "
         "container.LivenessProbe != nil"),
        ("PodSpecPersistentVolumeWrite", "persistentVolumeWrite",
         "isWriteEnabled := features.PodSpecPersistentVolumeWrite == config.Enabled"),
    ):
        line = _line_of(validation, needle)
        gates.append({"kind": kind, "field": None, "flag": key_of[feature], "allowed_when": ["enabled"],
                      "source": f"{VALIDATION_GO}:{line}"})

    # Pod-level securityContext: PodSpecMask keeps it only when kubernetes.podspec-securitycontext is not Disabled,
    # or secure-pod-defaults is not Disabled; PodSecurityContextMask then keeps just seccompProfile with type
    # RuntimeDefault or Unconfined when secure-pod-defaults is Enabled/AllowRootBounded, and the listed fields when
    # podspec-securitycontext is not Disabled.
    psc = _function_body(fieldmask, "PodSecurityContextMask", FIELDMASK_GO)
    after = psc.split("Features.PodSpecSecurityContext == config.Disabled {\n\t\treturn out\n\t}", 1)
    spd = re.search(r"\[\]config\.Flag\{config\.(\w+), config\.(\w+)\}, config\.FromContextOrDefaults\(ctx\)"
                    r"\.Features\.SecurePodDefaults\)", psc)
    seccomp_types = re.findall(r"seccomp == corev1\.SeccompProfileType(\w+)", psc)
    if len(after) != 2 or not spd or not seccomp_types:
        raise SourceShapeError(f"{FIELDMASK_GO}: PodSecurityContextMask changed shape")
    pod_fields = [json_name(f) for f in re.findall(r"^\s*out\.(\w+) = in\.\1$", after[1], re.M)]
    pod_sc = {
        "flag": key_of["PodSpecSecurityContext"], "allowed_when": allowed_when("PodSpecSecurityContext"),
        "fields": pod_fields,
        "secure_pod_defaults": {"flag": key_of["SecurePodDefaults"],
                                "allowed_when": sorted(_flag_value(v) for v in spd.groups()),
                                "seccomp_profile_types": seccomp_types},
        "source": f"{FIELDMASK_GO} PodSpecMask, PodSecurityContextMask",
    }
    caps = _function_body(fieldmask, "CapabilitiesMask", FIELDMASK_GO)
    caps_flag = re.search(r"Features\.(\w+) == config\.Enabled \{\s*out\.Add = in\.Add", caps)
    caps_spd = re.search(r"\[\]config\.Flag\{config\.(\w+), config\.(\w+)\}, config\.FromContextOrDefaults\(ctx\)"
                         r"\.Features\.SecurePodDefaults\) \{\s*if slices\.Equal\(in\.Add, \[\]corev1\.Capability"
                         r"\{([^}]*)\}\)", caps)
    if not caps_flag or not caps_spd:
        raise SourceShapeError(f"{FIELDMASK_GO}: CapabilitiesMask changed shape")
    add_caps = {
        "flag": key_of[caps_flag.group(1)], "allowed_when": ["enabled"],
        "secure_pod_defaults": {"flag": key_of["SecurePodDefaults"],
                                "allowed_when": sorted(_flag_value(v) for v in caps_spd.groups()[:2]),
                                "exactly": [v.strip().strip('"') for v in caps_spd.group(3).split(",")]},
        "source": f"{FIELDMASK_GO} CapabilitiesMask",
    }
    return {
        "source": {
            "module": MODULE, "version": version, "go_sum": module_sum,
            "files": {p: hashlib.sha256(t.encode()).hexdigest() for p, t in sorted(texts.items())},
            "licence": "Apache-2.0",
        },
        "flags": {k: {"default": v["default"], "values": v["values"]} for k, v in sorted(flags.items())},
        "gates": sorted(gates, key=lambda g: (g["kind"], g["field"] or "", g["flag"])),
        "pod_security_context": pod_sc,
        "add_capabilities": add_caps,
    }


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--source", type=Path, help="knative.dev/serving source tree (default: go mod download)")
    parser.add_argument("--check", action="store_true", help="fail if the committed table differs")
    args = parser.parse_args(argv)
    src, module_sum = (args.source, "") if args.source else module_dir(args.version)
    if not args.source:
        if upstream_schema(src) != json.loads(CRD_SCHEMA.read_text()):
            print(f"{CRD_SCHEMA} is not the v1 schema of {MODULE}@{args.version}'s {CRD_UPSTREAM}: pick the version "
                  "the CRD comes from", file=sys.stderr)
            return 1
    if args.source and TABLE.exists():
        module_sum = json.loads(TABLE.read_text())["source"]["go_sum"]
    try:
        text = render(build_table(src, args.version, module_sum))
    except SourceShapeError as exc:
        print(f"gen_knative_flag_table: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if not TABLE.exists() or TABLE.read_text() != text:
            print(f"{TABLE} is out of date; run scripts/gen_knative_flag_table.py", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(REPO)} from {MODULE}@{args.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
