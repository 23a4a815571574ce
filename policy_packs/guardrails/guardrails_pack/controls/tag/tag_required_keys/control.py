"""tag.required-keys: FinOps tags/labels are present on every workload resource; remediation adds defaults."""

import copy
from collections.abc import Iterator
from typing import Any

from guardrails_core.values import plain as wire_plain
from guardrails_pack.aws_helpers import (
    AWS_TAGGABLE_TYPES,
    KNATIVE_SERVICE,
    aws_tags,
    ksvc_labels,
    props_of,
    reveal,
)
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl


def _present(resource_type: str, props: dict[str, Any]) -> dict[str, Any]:
    return ksvc_labels(props) if resource_type == KNATIVE_SERVICE else aws_tags(props)


def _missing(ctx: ResourceContext) -> list[str]:
    present = _present(ctx.resource_type, props_of(ctx))
    out = []
    for key in ctx.settings.required_tags:
        value = reveal(present.get(key))
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(key)
    return out


def check(ctx: ResourceContext) -> Iterator[str]:
    where = "metadata.labels" if ctx.resource_type == KNATIVE_SERVICE else "tags"
    for key in _missing(ctx):
        hint = " (guardrails:defaultTags has a value; remediation adds it)" if key in ctx.settings.default_tags \
            else ""
        yield f"{where} has no {key!r} (required by guardrails:requiredTags){hint}"


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    """Add the missing required keys that have a value in settings.default_tags; None when nothing to add."""
    additions = {k: ctx.settings.default_tags[k] for k in _missing(ctx) if k in ctx.settings.default_tags}
    if not additions:
        return None
    props = copy.deepcopy(wire_plain(ctx.props))
    if ctx.resource_type == KNATIVE_SERVICE:
        metadata = props.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), **additions}
    else:
        props["tags"] = {**(props.get("tags") or {}), **additions}
    return props


CONTROL = ResourceControl(
    id="tag.required-keys",
    description="Knative Services (metadata.labels) and taggable AWS resources (tags) carry every key in "
    "`required_tags` (cost-center, project-id, owner, ...). Remediation fills them from `default_tags`.",
    severity="high",
    remediation_steps="Add the missing keys as finops annotations in the service file (the components turn them "
    "into labels/tags) or set guardrails:defaultTags for the stack; run with enforcement `remediate` to "
    "have the pack add the defaults.",
    url="https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/tagging-best-practices.html",
    peer_ids=("kyverno:kubecost/require-kubecost-labels", "kyverno:best-practices/require-labels",
              "aws-config:required-tags", "pulumi-ex:aws-ts-tags"),
    resource_types=(KNATIVE_SERVICE, *AWS_TAGGABLE_TYPES),
    check=check,
    remediate=remediate,
)
