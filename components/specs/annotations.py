"""Annotation keys of the product (domain configurable per project) and of Knative autoscaling.

Unknown keys inside our own domains and inside `autoscaling.knative.dev/` are errors: a typo such as
`finops.apexlogic.com/cost-centre` must not pass silently. Other annotations pass through untouched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from components.specs.errors import is_sensitive, shown

Check = Callable[[str], str | None]  # returns an error message, or None when the value is fine


# ASCII digits only, no spaces, no `_` separators, finite: Python's int()/float() accept "１５", " 1 ", "1_0", "nan"
# and "1e999", which Knative's strconv.Atoi/ParseFloat (and our models) would refuse or misread.
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?")


def _number(minimum: float = 0, integer: bool = False) -> Check:
    def check(value: str) -> str | None:
        kind = "an integer" if integer else "a number"
        if not (_INTEGER if integer else _DECIMAL).fullmatch(value):
            return f"must be {kind} ≥ {minimum:g} in ASCII digits, written as a string; found {shown(value)}"
        number = int(value) if integer else float(value)
        if not math.isfinite(number):
            return f"must be a finite number, found {shown(value)}"
        if number < minimum:
            return f"must be ≥ {minimum:g}, found {shown(value)}"
        return None

    return check


def _one_of(*allowed: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}; found {shown(value)}"

    return check


def _duration(value: str) -> str | None:
    ok = re.fullmatch(r"[0-9]{1,9}(ms|s|m|h)?", value)
    return None if ok else f"must be a duration such as 60s or 5m, found {shown(value)}"


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _path(value: str) -> str | None:
    if not value.strip():
        return "must be a path relative to the repository root"
    if value.startswith("/") or ".." in value.split("/"):
        return f"must be a path inside the repository (relative, no '..'), found {shown(value)}"
    return None


def _sha256(value: str) -> str | None:
    return None if re.fullmatch(r"sha256:[0-9a-f]{64}", value) else f"must be sha256:<64 hex>, found {shown(value)}"


def _iso_date(value: str) -> str | None:
    import datetime

    problem = f"must be a date YYYY-MM-DD, found {shown(value)}"
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return problem
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return problem
    return None


def _compliance_scope(value: str) -> str | None:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in parts if p not in {"gdpr", "hipaa", "pci"}]
    return f"must be a comma-separated subset of gdpr, hipaa, pci; found {', '.join(bad)}" if bad else None


FINOPS: dict[str, Check] = {
    "cost-center": _non_empty,
    "project-id": _non_empty,
    "owner": _non_empty,
    "expected-requests-per-month": _number(0),
    "expected-p50-latency-ms": _number(0),
    "expected-traffic-change": _number(0),
    "usage-history": _path,
    # set by `preflight observe --propose` on an idle service: delete it (or remove the mark) before that date
    "delete-after": _iso_date,
}
SECURITY_FIXED: dict[str, Check] = {
    "pci-scope": _one_of("true", "false"),
    "compliance-scope": _compliance_scope,
    "signature-bundle": _path,
    "vulnerability-report": _path,
    "model-weights": _path,
    "model-weights-digest": _sha256,
    "model-weights-bundle": _path,
}
# Prefixed security keys: per-container bundles and policy exceptions (ticket + expiry, checked by policies).
SECURITY_PREFIXES: dict[str, Check] = {"signature-bundle.": _path, "exception": _non_empty}
def _percent_step(value: str) -> str | None:
    if problem := _number(1, integer=True)(value):
        return problem
    return None if int(value) <= 100 else f"must be 1..100 (percentage points per promotion), found {shown(value)}"


_KPI = re.compile(r"^(?P<expr>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<threshold>-?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
                  r"([eE][-+]?[0-9]{1,3})?)$", re.S)
KPI_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def parse_kpi(value: str) -> tuple[str, str, float] | None:
    """`<PromQL using $revision> <op> <number>` -> (expression, op, threshold); None when it is not that shape.
    The expression must hold for the canary (e.g. `... < 250` for a latency in ms)."""
    match = _KPI.match(value.strip())
    if not match or "$revision" not in match["expr"]:
        return None
    threshold = float(match["threshold"])
    return (match["expr"].strip(), match["op"], threshold) if math.isfinite(threshold) else None


def _kpi(value: str) -> str | None:
    if parse_kpi(value) is None:
        return ('must be "<PromQL using $revision> <op> <number>" with op one of <, <=, >, >= (e.g. '
                f"max(model_quality{{revision_name='$revision'}}) >= 0.9); found {shown(value)}")
    return None


ROLLOUT: dict[str, Check] = {
    "canary-percent": _number(0, integer=True),
    "stable-revision": _non_empty,
    "step": _percent_step,
}
# `rollout.<domain>/kpi.<name>`: a KPI the canary must hold, measured per revision (see `parse_kpi`).
ROLLOUT_PREFIXES: dict[str, Check] = {"kpi.": _kpi}

# Knative autoscaling annotations, kebab-case (current) and camelCase (legacy) spellings.
AUTOSCALING_SPELLINGS: dict[str, str] = {
    "minScale": "min-scale",
    "maxScale": "max-scale",
    "initialScale": "initial-scale",
    "targetUtilizationPercentage": "target-utilization-percentage",
    "panicWindowPercentage": "panic-window-percentage",
    "panicThresholdPercentage": "panic-threshold-percentage",
    "targetBurstCapacity": "target-burst-capacity",
    "scaleDownDelay": "scale-down-delay",
    "metricAggregationAlgorithm": "metric-aggregation-algorithm",
    "activationScale": "activation-scale",
}
AUTOSCALING: dict[str, Check] = {
    "min-scale": _number(0, integer=True),
    "max-scale": _number(0, integer=True),
    "initial-scale": _number(0, integer=True),
    "activation-scale": _number(1, integer=True),
    "target": _number(0.01),
    "target-utilization-percentage": _number(0.01),
    "panic-window-percentage": _number(1),
    "panic-threshold-percentage": _number(110),
    "target-burst-capacity": _number(-1),
    "metric": _one_of("concurrency", "rps", "cpu", "memory"),
    "class": _one_of("kpa.autoscaling.knative.dev", "hpa.autoscaling.knative.dev"),
    "window": _duration,
    "scale-down-delay": _duration,
    "scale-to-zero-pod-retention-period": _duration,
    "metric-aggregation-algorithm": _one_of("linear", "weightedExponential"),
}
AUTOSCALING_PREFIX = "autoscaling.knative.dev/"


@dataclass(frozen=True)
class AnnotationKeys:
    """The product's annotation keys for one annotation domain (stack config `annotationDomain`)."""

    domain: str = "apexlogic.com"

    @property
    def finops(self) -> str:
        return f"finops.{self.domain}/"

    @property
    def security(self) -> str:
        return f"security.{self.domain}/"

    @property
    def rollout(self) -> str:
        return f"rollout.{self.domain}/"

    def finops_key(self, name: str) -> str:
        return self.finops + name

    def security_key(self, name: str) -> str:
        return self.security + name

    def rollout_key(self, name: str) -> str:
        return self.rollout + name

    def data_classification(self) -> str:
        return self.security + "data-classification"


def check_annotations(
    annotations: dict[str, str], keys: AnnotationKeys, classification_levels: list[str]
) -> list[tuple[str, str]]:
    """(annotation key, error) for every annotation our product or Knative would misread."""
    problems: list[tuple[str, str]] = []
    for key, value in annotations.items():
        if not isinstance(value, str):
            hint = "" if is_sensitive([key]) else f": \"{shown(value, 40)}\""
            problems.append((key, f"annotation values must be strings (quote it{hint})"))
            continue
        check = _check_for(key, keys, classification_levels)
        if check is _UNKNOWN:
            problems.append((key, _unknown_message(key, keys)))
        elif check is not None and (message := check(value)):
            problems.append((key, message))
    problems.extend(_spelling_conflicts(annotations))
    return problems


_UNKNOWN: Check = lambda value: None  # noqa: E731 - a unique marker


def _check_for(key: str, keys: AnnotationKeys, levels: list[str]) -> Check | None:
    if key.startswith(keys.finops):
        return FINOPS.get(key[len(keys.finops) :], _UNKNOWN)
    if key.startswith(keys.security):
        name = key[len(keys.security) :]
        if name == "data-classification":
            return _one_of(*levels)
        if name in SECURITY_FIXED:
            return SECURITY_FIXED[name]
        for prefix, check in SECURITY_PREFIXES.items():
            if name.startswith(prefix):
                return check
        return _UNKNOWN
    if key.startswith(keys.rollout):
        name = key[len(keys.rollout) :]
        if name.startswith("kpi.") and not KPI_NAME.fullmatch(name[len("kpi."):]):
            return lambda value: "KPI names are lower-case letters, digits and '-' (rollout.<domain>/kpi.<name>)"
        return ROLLOUT.get(name) or next((c for p, c in ROLLOUT_PREFIXES.items() if name.startswith(p)), _UNKNOWN)
    if key.startswith(AUTOSCALING_PREFIX):
        name = key[len(AUTOSCALING_PREFIX) :]
        return AUTOSCALING.get(AUTOSCALING_SPELLINGS.get(name, name), _UNKNOWN)
    return None


def _unknown_message(key: str, keys: AnnotationKeys) -> str:
    if key.startswith(AUTOSCALING_PREFIX):
        known = sorted(AUTOSCALING) + sorted(AUTOSCALING_SPELLINGS)
        return f"unknown Knative autoscaling annotation; allowed: {', '.join(known)}"
    for prefix, table in ((keys.finops, FINOPS), (keys.rollout, {**ROLLOUT, "kpi.<name>": _kpi})):
        if key.startswith(prefix):
            return f"unknown annotation; allowed under {prefix}: {', '.join(sorted(table))}"
    allowed = ["data-classification", *sorted(SECURITY_FIXED), "signature-bundle.<container>", "exception*"]
    return f"unknown annotation; allowed under {keys.security}: {', '.join(allowed)}"


def _spelling_conflicts(annotations: dict[str, str]) -> list[tuple[str, str]]:
    problems = []
    for legacy, current in AUTOSCALING_SPELLINGS.items():
        old, new = AUTOSCALING_PREFIX + legacy, AUTOSCALING_PREFIX + current
        if old in annotations and new in annotations and annotations[old] != annotations[new]:
            problems.append(
                (new, f"conflicts with {old} ({shown(annotations[old])} vs {shown(annotations[new])}); "
                      "keep one spelling")
            )
    return problems


def autoscaling_value(annotations: dict[str, str], name: str) -> str | None:
    """Read an autoscaling annotation by its kebab-case name, accepting the legacy camelCase spelling too."""
    current = annotations.get(AUTOSCALING_PREFIX + name)
    if current is not None:
        return current
    legacy = {v: k for k, v in AUTOSCALING_SPELLINGS.items()}.get(name)
    return annotations.get(AUTOSCALING_PREFIX + legacy) if legacy else None
