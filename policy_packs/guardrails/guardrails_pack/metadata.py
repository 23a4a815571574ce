"""Tags, labels and annotations of rendered resources, and the data classification they declare.

Values may be UNKNOWN (preview-time), Secret, wire sentinels or pulumi-policy's own wrappers; nothing here
prints a secret. Bad shapes raise PropertyError naming the field, so the control fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from guardrails_core.types import (
    IAM_POLICY,
    IAM_ROLE,
    KNATIVE_SERVICE,
    LAMBDA_FUNCTION,
    LOG_GROUP,
)
from guardrails_core.values import is_unknown, reveal

from guardrails_pack.props import as_mapping, get_path

# AWS resources that carry `tags` (the children of ServerlessFunction plus the ones users add).
AWS_TAGGABLE_TYPES = (LAMBDA_FUNCTION, IAM_ROLE, IAM_POLICY, LOG_GROUP)


CLASSIFIED_WORKLOAD_TYPES = (KNATIVE_SERVICE, LAMBDA_FUNCTION)


CLASSIFICATION_KEY = "data-classification"


COMPLIANCE_SCOPE_KEY = "compliance-scope"


PCI_SCOPE_KEY = "pci-scope"


KNOWN_COMPLIANCE_SCOPES = ("gdpr", "hipaa", "pci")


SENSITIVE_LEVELS = ("confidential", "restricted")


def aws_tags(props: Mapping[str, Any]) -> dict[str, Any]:
    """`tags` of an AWS resource (values may be UNKNOWN / secret). Non-object tags → PropertyError."""
    tags = props.get("tags")
    if is_unknown(tags):
        return {}
    return as_mapping(tags, "tags")


def ksvc_labels(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "metadata.labels"), "metadata.labels")


def ksvc_annotations(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "metadata.annotations"), "metadata.annotations")


def ksvc_template_annotations(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_mapping(get_path(props, "spec.template.metadata.annotations"),
                      "spec.template.metadata.annotations")


def metadata_of(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """The key/value metadata a resource carries: ksvc labels + annotations, or AWS tags.

    Labels win over annotations on a ksvc (the component writes both from the same source).
    """
    if resource_type == KNATIVE_SERVICE:
        return {**ksvc_annotations(props), **ksvc_labels(props)}
    return aws_tags(props)


def lookup(meta: Mapping[str, Any], key: str, domain: str, prefix: str | None = None) -> Any:
    """A value by its plain key (`data-classification`) or its domain annotation (`security.D/...`)."""
    if key in meta:
        return meta[key]
    if prefix is not None:
        return meta.get(f"{prefix}.{domain}/{key}")
    return None


@dataclass(frozen=True)
class Classification:
    """What a workload declares about its data."""

    level: str | None  # None when missing; may be any string (validated by dc.label-required)
    scopes: tuple[str, ...]  # lower-case compliance scopes, e.g. ("gdpr", "hipaa")
    pci: bool
    unknown: bool = False  # a classification value was unknown at preview
    problems: tuple[str, ...] = field(default_factory=tuple)  # malformed values, already worded

    @property
    def sensitive(self) -> bool:
        return self.level in SENSITIVE_LEVELS

    def has(self, scope: str) -> bool:
        return scope in self.scopes or (scope == "pci" and self.pci)


def _split_scopes(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in re.split(r"[\s,]+", raw) if part.strip())


def classification_of(resource_type: str, props: Mapping[str, Any], domain: str) -> Classification:
    """Read data class, compliance scope and PCI scope from labels/annotations (ksvc) or tags (AWS)."""
    meta = metadata_of(resource_type, props)
    problems: list[str] = []
    unknown = False

    def text(key: str) -> str | None:
        nonlocal unknown
        value = reveal(lookup(meta, key, domain, prefix="security"))
        if value is None:
            return None
        if is_unknown(value):
            unknown = True
            return None
        if not isinstance(value, str):
            problems.append(f"`{key}` must be a string, got {type(value).__name__}")
            return None
        return value.strip()

    level = text(CLASSIFICATION_KEY)
    scopes_raw = text(COMPLIANCE_SCOPE_KEY)
    pci_raw = text(PCI_SCOPE_KEY)
    if pci_raw is not None and pci_raw.lower() not in ("true", "false"):
        problems.append(f"`{PCI_SCOPE_KEY}` must be \"true\" or \"false\", got {pci_raw!r}")
    pci = pci_raw is not None and pci_raw.lower() == "true"
    scopes = _split_scopes(scopes_raw) if scopes_raw else ()
    return Classification(level=level.lower() if level else level, scopes=scopes,
                          pci=pci or "pci" in scopes, unknown=unknown, problems=tuple(problems))
