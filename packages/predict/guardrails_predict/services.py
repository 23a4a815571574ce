"""Group planned resources into services and read what predictions need from each declaration.

A Knative service is one `kubernetes:serving.knative.dev/v1:Service`; a Lambda service is one
`aws:lambda/function:Function` plus its siblings under the same component parent (role policy, alias,
provisioned-concurrency config, function URL). Values the props do not carry (workload annotations and the
trigger of a Lambda) are read from the declaration file named by `serverless-guardrails.dev/source`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from guardrails_core.source import DECLARATION_INPUT
from guardrails_core.values import UNKNOWN

from guardrails_predict.observed import ObservedPcUtilisation
from guardrails_predict.resources import (
    IAM_ROLE_POLICY,
    KNATIVE_SERVICE,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PC_CONFIG,
    PredictionInputError,
    ResourceView,
    get,
)

LAMBDA_DEFAULTS = {"memorySize": 128, "timeout": 3, "ephemeral": 512}  # AWS API defaults when a prop is absent
KNATIVE_DEFAULT_TIMEOUT_S = 300  # Knative revision-timeout-seconds default
_CPU_RE = re.compile(r"^(?P<n>\d+(\.\d+)?)(?P<u>m?)$")
_MEM_RE = re.compile(r"^(?P<n>\d+(\.\d+)?)(?P<u>Ki|Mi|Gi|Ti|K|M|G|T|k|)$")
_MEM_UNITS = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
              "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DURATION_RE = re.compile(r"^(?P<n>\d+(\.\d+)?)(?P<u>ms|s|m|h)?$")


@dataclass
class Service:
    name: str
    kind: str  # knative | lambda
    primary: ResourceView
    members: list[ResourceView] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # cost-center, project-id, data-classification, ...
    declaration: dict[str, Any] = field(default_factory=dict)  # the YAML document, when readable
    memory_mb: float = 0.0
    timeout_s: float = 0.0
    trigger: str | None = None
    # knative
    cpu_request_vcpu: Decimal = Decimal(0)
    memory_request_gib: Decimal = Decimal(0)
    min_scale: int = 0
    max_scale: int = 0
    metric: str = "concurrency"
    target: Decimal | None = None
    container_concurrency: int = 0
    target_utilization: Decimal | None = None
    window_s: Decimal | None = None
    scale_down_delay_s: Decimal | None = None
    cluster_local: bool = False
    service_account: str | None = None
    # lambda
    architecture: str = "x86_64"
    ephemeral_mb: int = 512
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    # Observed mean share of the provisioned instances in use (set by predict_services from what the caller passes)
    observed_pc: ObservedPcUtilisation | None = None
    iam_actions: frozenset[str] = frozenset()
    public_url: bool = False

    @property
    def source(self) -> str:
        if self.primary.source_file:
            return f"{self.primary.source_file}:{self.primary.source_line}"
        return self.primary.urn or self.name

    def field_error(self, path: str, problem: str) -> PredictionInputError:
        return PredictionInputError(f"{self.source}: service {self.name!r} ({self.primary.type}) {path}: {problem}")


def parse_cpu(text: Any, where: str) -> Decimal:
    match = _CPU_RE.match(str(text).strip())
    if not match:
        raise PredictionInputError(f"{where}: CPU quantity {text!r} is not like '500m' or '2'")
    value = Decimal(match["n"])
    return value / 1000 if match["u"] == "m" else value


def parse_memory_gib(text: Any, where: str) -> Decimal:
    match = _MEM_RE.match(str(text).strip())
    if not match:
        raise PredictionInputError(f"{where}: memory quantity {text!r} is not like '512Mi', '3Gi' or '1G'")
    return Decimal(match["n"]) * _MEM_UNITS[match["u"]] / Decimal(2**30)


def parse_duration_s(text: Any, where: str) -> Decimal:
    match = _DURATION_RE.match(str(text).strip())
    if not match:
        raise PredictionInputError(f"{where}: duration {text!r} is not like '60s', '2m' or '1h'")
    factor = {"ms": Decimal("0.001"), "s": 1, None: 1, "m": 60, "h": 3600}[match["u"]]
    return Decimal(match["n"]) * factor


def _number(value: Any, where: str, integer: bool = False) -> Decimal:
    if value is UNKNOWN:
        raise PredictionInputError(f"{where}: unknown at preview; a literal is needed to price the service")
    try:
        result = Decimal(str(value).strip().strip('"'))
    except InvalidOperation as exc:
        raise PredictionInputError(f"{where}: {value!r} is not a number") from exc
    if not result.is_finite() or result < 0 or (integer and result != result.to_integral_value()):
        kind = "a whole number >= 0" if integer else "a number >= 0"
        raise PredictionInputError(f"{where}: {value!r} must be {kind}")
    return result


_MAP_SCALARS = (str, int, float)  # a tuple: isinstance over a `str | int | float` union is ~2x slower


def _str_map(value: Any) -> dict[str, str]:
    """The scalar entries of a labels/annotations/tags mapping as strings ({} for anything else)."""
    if not isinstance(value, dict):
        return {}
    return {k if type(k) is str else str(k): v if type(v) is str else str(v)
            for k, v in value.items() if isinstance(v, _MAP_SCALARS)}


def component_declaration(view: ResourceView, by_urn: dict[str, ResourceView]) -> dict[str, Any]:
    """The declaration document carried by the resource's component (empty when planned without one)."""
    parent = by_urn.get(view.parent or "")
    declaration = parent.props.get(DECLARATION_INPUT) if parent is not None else None
    document = declaration.get("document") if isinstance(declaration, dict) else None
    return document if isinstance(document, dict) else {}


def _autoscaling(annotations: dict[str, str], name: str, legacy: str | None) -> str | None:
    value = annotations.get(f"autoscaling.knative.dev/{name}")
    if value is None and legacy:
        value = annotations.get(f"autoscaling.knative.dev/{legacy}")
    return value


def _knative(view: ResourceView, declaration: dict[str, Any]) -> Service:
    props = view.props
    name = str(get(props, "metadata.name", view.name))
    svc = Service(name=name, kind="knative", primary=view, members=[view], trigger="http")
    svc.annotations = _str_map(get(props, "metadata.annotations", {}))
    svc.labels = _str_map(get(props, "metadata.labels", {}))
    svc.declaration = declaration
    for key, value in _str_map(get(svc.declaration, "metadata.annotations", {})).items():
        svc.annotations.setdefault(key, value)
    tmpl = get(props, "spec.template", {})
    auto = _str_map(get(tmpl, "metadata.annotations", {}))
    base = "spec.template.metadata.annotations"
    for attr, key, legacy, integer in (("min_scale", "min-scale", "minScale", True),
                                       ("max_scale", "max-scale", "maxScale", True)):
        raw = _autoscaling(auto, key, legacy)
        if raw is not None:
            setattr(svc, attr, int(_number(raw, f"{svc.source}: {base}.autoscaling.knative.dev/{key}", integer)))
    if (raw := _autoscaling(auto, "target", None)) is not None:
        svc.target = _number(raw, f"{svc.source}: {base}.autoscaling.knative.dev/target")
    if (raw := _autoscaling(auto, "metric", None)) is not None:
        svc.metric = raw
    if (raw := _autoscaling(auto, "target-utilization-percentage", "targetUtilizationPercentage")) is not None:
        pct = _number(raw, f"{svc.source}: {base}.autoscaling.knative.dev/target-utilization-percentage")
        svc.target_utilization = pct if pct <= 1 else pct / 100  # values <= 1 are legacy fractions
    if (raw := _autoscaling(auto, "window", None)) is not None:
        svc.window_s = parse_duration_s(raw, f"{svc.source}: {base}.autoscaling.knative.dev/window")
    if (raw := _autoscaling(auto, "scale-down-delay", "scaleDownDelay")) is not None:
        svc.scale_down_delay_s = parse_duration_s(raw, f"{svc.source}: {base}.autoscaling.knative.dev/scale-down-delay")
    pod = get(tmpl, "spec", {})
    if pod.get("containerConcurrency") is not None:
        svc.container_concurrency = int(_number(pod["containerConcurrency"],
                                                f"{svc.source}: spec.template.spec.containerConcurrency", True))
    svc.timeout_s = float(_number(pod.get("timeoutSeconds", KNATIVE_DEFAULT_TIMEOUT_S),
                                  f"{svc.source}: spec.template.spec.timeoutSeconds"))
    svc.service_account = pod.get("serviceAccountName") if isinstance(pod.get("serviceAccountName"), str) else None
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        raise svc.field_error("spec.template.spec.containers", "missing or empty; nothing to price")
    for i, container in enumerate(containers):
        res = container.get("resources", {}) if isinstance(container, dict) else {}
        where = f"spec.template.spec.containers[{i}].resources"
        # Kubernetes defaults a missing request to the limit; OpenCost charges max(request, usage).
        cpu = get(res, "requests.cpu", get(res, "limits.cpu"))
        mem = get(res, "requests.memory", get(res, "limits.memory"))
        for label, value in (("cpu", cpu), ("memory", mem)):
            if value is UNKNOWN:
                raise svc.field_error(f"{where}.requests.{label}", "unknown at preview; the replica-hours cannot be "
                                      "priced without a literal request")
        if cpu is None or mem is None:
            raise svc.field_error(f"{where}.requests", "cpu and memory requests (or limits) are needed to price "
                                  "replica-hours; set requests.cpu and requests.memory")
        svc.cpu_request_vcpu += parse_cpu(cpu, f"{svc.source}: {where}.requests.cpu")
        svc.memory_request_gib += parse_memory_gib(mem, f"{svc.source}: {where}.requests.memory")
    svc.memory_mb = float(svc.memory_request_gib * 1024)
    svc.cluster_local = svc.labels.get("networking.knative.dev/visibility") == "cluster-local"
    return svc


def knative_service_from_declaration(document: dict[str, Any], file: str | None, line: int | None) -> Service:
    """The priced view of a Knative declaration read from Git (not from a plan): its current knobs."""
    name = str(get(document, "metadata.name", "service"))
    view = ResourceView(type="kubernetes:serving.knative.dev/v1:Service", name=name, urn=f"declaration:{name}",
                        props=document, source_file=file, source_line=line)
    return _knative(view, document)


def _policy_actions(policy: Any) -> set[str]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            return {"<unparseable-policy>"}
    if not isinstance(policy, dict):
        return set()
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    actions: set[str] = set()
    for st in statements:
        if isinstance(st, dict) and st.get("Effect", "Allow") == "Allow":
            raw = st.get("Action", [])
            actions.update([raw] if isinstance(raw, str) else [str(a) for a in raw if isinstance(a, str)])
    return actions


def _lambda(view: ResourceView, siblings: list[ResourceView], declaration: dict[str, Any]) -> Service:
    props = view.props
    name = view.parent.rsplit("::", 1)[-1] if view.parent and "::" in view.parent else view.name
    svc = Service(name=name, kind="lambda", primary=view, members=[view, *siblings])
    svc.labels = _str_map(props.get("tags"))
    svc.declaration = declaration
    svc.annotations = _str_map(get(svc.declaration, "metadata.annotations", {}))
    src = svc.source
    svc.memory_mb = float(_number(props.get("memorySize", LAMBDA_DEFAULTS["memorySize"]), f"{src}: memorySize", True))
    svc.timeout_s = float(_number(props.get("timeout", LAMBDA_DEFAULTS["timeout"]), f"{src}: timeout", True))
    arch = props.get("architectures") or ["x86_64"]
    if arch is UNKNOWN or not isinstance(arch, list) or arch[0] not in ("x86_64", "arm64"):
        raise svc.field_error("architectures", f"{arch!r} must be [x86_64] or [arm64]")
    svc.architecture = arch[0]
    svc.ephemeral_mb = int(_number(get(props, "ephemeralStorage.size", LAMBDA_DEFAULTS["ephemeral"]),
                                   f"{src}: ephemeralStorage.size", True))
    reserved = props.get("reservedConcurrentExecutions")
    if reserved is not None and reserved != -1:  # -1 = unreserved (AWS API)
        svc.reserved_concurrency = int(_number(reserved, f"{src}: reservedConcurrentExecutions", True))
    trigger = get(svc.declaration, "spec.trigger")
    svc.trigger = str(trigger) if isinstance(trigger, str) else None
    pc_declared = get(svc.declaration, "spec.provisionedConcurrency")
    for sib in siblings:
        if sib.type == LAMBDA_PC_CONFIG:
            svc.provisioned_concurrency += int(_number(sib.props.get("provisionedConcurrentExecutions", 0),
                                                       f"{sib.urn}: provisionedConcurrentExecutions", True))
        elif sib.type == IAM_ROLE_POLICY:
            svc.iam_actions = svc.iam_actions | _policy_actions(sib.props.get("policy"))
        elif sib.type == LAMBDA_FUNCTION_URL and sib.props.get("authorizationType") == "NONE":
            svc.public_url = True
    if not svc.provisioned_concurrency and isinstance(pc_declared, int) and pc_declared > 0:
        svc.provisioned_concurrency = pc_declared  # declared but no config resource among the planned ones
    return svc


def group_services(views: list[ResourceView]) -> list[Service]:
    by_urn = {view.urn: view for view in views if view.urn}
    by_parent: dict[str, list[ResourceView]] = {}
    for view in views:
        if view.parent:
            by_parent.setdefault(view.parent, []).append(view)
    services = []
    for view in views:
        if view.type == KNATIVE_SERVICE:
            services.append(_knative(view, component_declaration(view, by_urn)))
        elif view.type == LAMBDA_FUNCTION:
            siblings = [v for v in by_parent.get(view.parent or "", []) if v is not view] if view.parent else []
            services.append(_lambda(view, siblings, component_declaration(view, by_urn)))
    duplicates = sorted(name for name, count in Counter(s.name for s in services).items() if count > 1)
    if duplicates:
        raise PredictionInputError(f"services with the same name {duplicates}: predictions are keyed by name")
    return sorted(services, key=lambda s: s.name)
