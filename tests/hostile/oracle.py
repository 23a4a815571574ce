"""An independent judge of accepted declarations for the fuzz suite: a short re-statement of the rules of the
classes in issue 11, written without the product's code, so a rule the loader forgets shows up as
"invalid accepted" instead of agreeing with itself."""

from __future__ import annotations

import math
import re
from typing import Any

_DNS1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_ASCII_INT = re.compile(r"-?[0-9]+")
_ASCII_NUMBER = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUANTITY = re.compile(r"\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][-+]?[0-9]+)?")
_INTEGER_ANNOTATIONS = ("min-scale", "max-scale", "minScale", "maxScale", "initial-scale", "initialScale")
_NUMBER_ANNOTATIONS = ("target", "expected-requests-per-month", "expected-p50-latency-ms", "canary-percent")
_RESERVED = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
             "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "LAMBDA_TASK_ROOT"}


def _annotation_problems(annotations: Any) -> list[str]:
    problems = []
    for key, value in (annotations or {}).items():
        name = str(key).rsplit("/", 1)[-1]
        if not isinstance(value, str):
            problems.append(f"annotation {key} is not a string")
        elif name in _INTEGER_ANNOTATIONS and not _ASCII_INT.fullmatch(value):
            problems.append(f"annotation {key}={value!r} is not an ASCII integer")
        elif name in _NUMBER_ANNOTATIONS and (not _ASCII_NUMBER.fullmatch(value) or not math.isfinite(float(value))):
            problems.append(f"annotation {key}={value!r} is not a finite ASCII number")
    return problems


def knative_problems(doc: dict[str, Any]) -> list[str]:
    meta = doc.get("metadata") or {}
    problems = []
    if not isinstance(meta.get("name"), str) or not _DNS1035.fullmatch(meta["name"]):
        problems.append("metadata.name is not a DNS-1035 label")
    if meta.get("namespace") is not None and not _DNS1123.fullmatch(str(meta["namespace"])):
        problems.append("metadata.namespace is not a DNS-1123 label")
    problems += _annotation_problems(meta.get("annotations"))
    template = (doc.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    if set(tmeta) - {"name", "namespace", "labels", "annotations", "finalizers"}:
        problems.append(f"template metadata has unknown fields {sorted(set(tmeta))}")
    problems += _annotation_problems(tmeta.get("annotations"))
    for where in (meta, tmeta):
        for value in (where.get("labels") or {}).values():
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
                problems.append(f"label value {value!r} is invalid")
    spec = template.get("spec") or {}
    cc, timeout = spec.get("containerConcurrency"), spec.get("timeoutSeconds")
    if cc is not None and not (isinstance(cc, int) and 0 <= cc <= 1000):
        problems.append(f"containerConcurrency {cc!r}")
    if timeout is not None and not (isinstance(timeout, int) and 0 <= timeout <= 600):
        problems.append(f"timeoutSeconds {timeout!r}")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        problems.append("no containers")
        return problems
    for c in containers:
        for port in c.get("ports") or []:
            number = port.get("containerPort")
            if not isinstance(number, int) or not 1 <= number <= 65535:
                problems.append(f"containerPort {number!r}")
        names = [e.get("name") for e in c.get("env") or []]
        if len(set(names)) != len(names) or not all(isinstance(n, str) and _C_IDENT.fullmatch(n) for n in names):
            problems.append(f"env names {names!r}")
        if not isinstance(c.get("image"), str) or c["image"] != c["image"].strip():
            problems.append(f"image {c.get('image')!r}")
        for section in ("limits", "requests"):
            for value in ((c.get("resources") or {}).get(section) or {}).values():
                text = value if isinstance(value, str) else repr(value)
                if not _QUANTITY.fullmatch(text):
                    problems.append(f"quantity {value!r}")
    return problems


def function_problems(doc: dict[str, Any]) -> list[str]:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    problems = _annotation_problems(meta.get("annotations"))
    if not isinstance(meta.get("name"), str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", meta["name"]):
        problems.append("metadata.name")
    env = spec.get("environment") or {}
    if _RESERVED & set(env):
        problems.append("reserved env key")
    if sum(len(str(k).encode()) + len(str(v).encode()) for k, v in env.items()) > 4096:
        problems.append("env over 4 KB")
    if not all(isinstance(k, str) and _C_IDENT.fullmatch(k) for k in env):
        problems.append("env name")
    handler = spec.get("handler")
    if handler is not None and "." not in str(handler).strip("."):
        problems.append(f"handler {handler!r}")
    path = (spec.get("code") or {}).get("path")
    if path is not None and str(path).strip() in ("", ".", "./"):
        problems.append(f"code.path {path!r}")
    for key in ("memoryMib", "timeoutSeconds", "ephemeralStorageMib"):
        value = spec.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{key} {value!r}")
    return problems


def problems(doc: dict[str, Any]) -> list[str]:
    if doc.get("kind") == "Function":
        return function_problems(doc)
    return knative_problems(doc)
