"""What the Kubernetes API server and Knative's webhook check beyond the CRD's OpenAPI schema.

The schema says "string" or "integer"; the API server also checks names (DNS-1123/1035), label and annotation key
syntax, quantities, port ranges and env names, and Knative's webhook adds one container port, traffic targets and
the timeout/concurrency ranges. A declaration that would be refused at `kubectl apply` is refused here, with the
field named. Every pattern is matched with `fullmatch` (Python's `$` also matches before a trailing newline).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from components.specs.errors import shown

Problem = tuple[list[str | int], str]  # (field path relative to the checked object, message)

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# resource.Quantity's grammar (k8s.io/apimachinery/pkg/api/resource), ASCII digits only.
_QUANTITY = re.compile(r"\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][-+]?[0-9]+)?")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a C identifier: what every shell and runtime can read
ANNOTATIONS_MAX_BYTES = 256 * 1024  # apimachinery's TotalAnnotationSizeLimitB
CONTAINER_CONCURRENCY_MAX = 1000  # Knative's webhook: 0 (unlimited) .. 1000
TIMEOUT_SECONDS_MAX = 600  # Knative's default max-revision-timeout-seconds


def qualified_name_problem(key: object) -> str | None:
    """Label/annotation key syntax: `[prefix/]name`, prefix a DNS-1123 subdomain ≤253, name ≤63 [A-Za-z0-9-_.]."""
    if not isinstance(key, str) or not key:
        return f"keys must be non-empty strings, found {shown(key)}"
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return f"key prefix must be a DNS-1123 subdomain (lowercase, digits, '-', '.'; ≤253), found {shown(key)}"
    if len(name) > 63 or not _NAME_PART.fullmatch(name):
        return (f"key name must be ≤63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric, "
                f"found {shown(key)}")
    return None


def label_value_problem(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        return f"label values must be strings of ≤63 [A-Za-z0-9-_.], found {shown(value)}"
    return None


def labels_problems(labels: dict[str, Any]) -> Iterator[Problem]:
    for key, value in labels.items():
        if problem := qualified_name_problem(key) or label_value_problem(value):
            yield [key], problem


def annotations_problems(annotations: dict[str, Any]) -> Iterator[Problem]:
    total = 0
    for key, value in annotations.items():
        if problem := qualified_name_problem(key):
            yield [key], problem
        total += len(str(key).encode()) + len(str(value).encode())
    if total > ANNOTATIONS_MAX_BYTES:
        yield [], f"annotations total {total:,} bytes; the API server allows {ANNOTATIONS_MAX_BYTES:,}"


def quantity_problem(value: object) -> str | None:
    """A non-negative Kubernetes quantity (YAML numbers are accepted as the API server does)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"must be a quantity such as 500m, 1, 2Gi; found {shown(value)}"
    text = value if isinstance(value, str) else repr(value)
    if not _QUANTITY.fullmatch(text) or text in ("inf", "nan"):
        return f"must be a non-negative quantity such as 500m, 1, 2Gi (ASCII digits); found {shown(value)}"
    return None


def template_spec_problems(spec: dict[str, Any]) -> Iterator[Problem]:
    """Knative's webhook checks on `spec.template.spec` (paths relative to it)."""
    concurrency = spec.get("containerConcurrency")
    if _is_int(concurrency) and not 0 <= concurrency <= CONTAINER_CONCURRENCY_MAX:
        yield ["containerConcurrency"], f"must be 0 (unlimited) .. {CONTAINER_CONCURRENCY_MAX}, found {concurrency}"
    for name in ("timeoutSeconds", "responseStartTimeoutSeconds", "idleTimeoutSeconds"):
        value = spec.get(name)
        if _is_int(value) and not 0 <= value <= TIMEOUT_SECONDS_MAX:
            yield [name], f"must be 0 .. {TIMEOUT_SECONDS_MAX} seconds (Knative's max-revision-timeout), found {value}"
    containers = spec.get("containers")
    if containers is None or (isinstance(containers, list) and not containers):
        yield ["containers"], "at least one container is required"
        return
    if not isinstance(containers, list):
        return  # the schema reported the type
    with_ports = [i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("ports")]
    if len(containers) > 1 and len(with_ports) != 1:
        yield ["containers"], (f"with several containers exactly one must declare a port (the serving container), "
                               f"found {len(with_ports)}")
    for i, container in enumerate(containers):
        if isinstance(container, dict):
            for path, message in _container_problems(container):
                yield ["containers", i, *path], message


def _container_problems(container: dict[str, Any]) -> Iterator[Problem]:
    name = container.get("name")
    if isinstance(name, str) and not DNS1123_LABEL.fullmatch(name):
        yield ["name"], f"must be a DNS-1123 label, found {shown(name)}"
    ports = container.get("ports")
    if isinstance(ports, list):
        if len(ports) > 1:
            yield ["ports"], f"Knative serves one port per revision; found {len(ports)}"
        for j, port in enumerate(ports):
            if not isinstance(port, dict):
                continue  # the schema reported the type
            number = port.get("containerPort")
            if number is None:
                yield ["ports", j, "containerPort"], "required: the port number, 1..65535"
            elif _is_int(number) and not 1 <= number <= 65535:
                yield ["ports", j, "containerPort"], f"must be 1..65535, found {number}"
    env = container.get("env")
    if isinstance(env, list):
        seen: set[str] = set()
        for j, var in enumerate(env):
            name = var.get("name") if isinstance(var, dict) else None
            if not isinstance(name, str):
                continue
            if not ENV_NAME.fullmatch(name):
                yield ["env", j, "name"], f"must be a C identifier ([A-Za-z_][A-Za-z0-9_]*), found {shown(name)}"
            elif name in seen:
                yield ["env", j, "name"], f"{name!r} is set twice"
            seen.add(name)
    resources = container.get("resources")
    if isinstance(resources, dict):
        for section in ("requests", "limits"):
            values = resources.get(section)
            if isinstance(values, dict):
                for key, value in values.items():
                    if problem := quantity_problem(value):
                        yield ["resources", section, key], problem


def traffic_problems(traffic: list[Any]) -> Iterator[Problem]:
    """Knative's route checks: every target names a revision or the latest one; percents 0..100 adding to 100."""
    total = 0
    for i, target in enumerate(traffic):
        if not isinstance(target, dict):
            continue
        has_revision = bool(target.get("revisionName"))
        latest = target.get("latestRevision")
        if not has_revision and latest is not True:
            yield [i], "a traffic target needs revisionName or latestRevision: true"
        elif has_revision and latest is True:
            yield [i], "revisionName and latestRevision: true are mutually exclusive"
        percent = target.get("percent")
        if _is_int(percent):
            if not 0 <= percent <= 100:
                yield [i, "percent"], f"must be 0..100, found {percent}"
            total += percent
    if traffic and total != 100:
        yield [], f"traffic percentages must add up to 100, found {total}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
