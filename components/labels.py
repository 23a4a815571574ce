"""Labels and tags derived from a declaration's FinOps/security annotations plus the stack's defaults."""

from __future__ import annotations

import re

_LABEL_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_TAG_BAD = re.compile(r"[^\w .:/=+\-@]+")


def label_value(value: str) -> str:
    """A Kubernetes-valid label value (≤63, alphanumeric ends); invalid characters become '-'."""
    cleaned = _LABEL_BAD.sub("-", value)[:63].strip("-_.")
    return cleaned


def tag_value(value: str) -> str:
    """An AWS-valid tag value (≤256, allowed characters only)."""
    return _TAG_BAD.sub("-", value)[:256]


def governance_pairs(
    *,
    environment: str,
    cost_center: str | None,
    project_id: str | None,
    owner: str | None,
    data_classification: str | None,
    default_tags: dict[str, str],
) -> dict[str, str]:
    """The key/value pairs every resource carries: stack defaults first, the declaration wins."""
    pairs = dict(default_tags)
    pairs["environment"] = environment
    for key, value in (
        ("cost-center", cost_center),
        ("project-id", project_id),
        ("owner", owner),
        ("data-classification", data_classification),
    ):
        if value:
            pairs[key] = value
    return pairs
