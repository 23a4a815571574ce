"""gitops.source-provenance: every workload resource records the Git declaration it came from."""

import re
from collections.abc import Iterator

from guardrails_core.source import SOURCE_KEY
from guardrails_core.types import KNATIVE_SERVICE
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import AWS_TAGGABLE_TYPES, metadata_of
from guardrails_pack.props import describe, props_of

SOURCE_FORMAT = re.compile(r"^[A-Za-z0-9._/-]+\.ya?ml:[1-9][0-9]*$")


def check(ctx: ResourceContext) -> Iterator[str]:
    value = reveal(metadata_of(ctx.resource_type, props_of(ctx)).get(SOURCE_KEY))
    where = "annotation" if ctx.resource_type == KNATIVE_SERVICE else "tag"
    if value is None:
        yield f"no {SOURCE_KEY} {where}: the resource cannot be traced to a declaration in Git"
    elif is_unknown(value):
        yield f"the {SOURCE_KEY} {where} is unknown at preview; it must be the literal <file>:<line>"
    elif not isinstance(value, str) or not SOURCE_FORMAT.match(value) or ".." in value.split("/"):
        yield f"{SOURCE_KEY} = {describe(value)} is not a repo-relative <path>.yaml:<line>"


CONTROL = ResourceControl(
    id="gitops.source-provenance",
    description=f"Knative Services (annotation) and taggable AWS resources (tag) carry `{SOURCE_KEY}: "
    "<repo-relative file>.yaml:<line>`, tying each resource to its reviewed declaration in Git.",
    severity="medium",
    remediation_steps="Declare the workload in services/*.yaml and deploy it through the components (they add "
    "the annotation/tag); do not create workload resources by hand in __main__.py.",
    url="https://opengitops.dev/",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE, *AWS_TAGGABLE_TYPES),
    check=check,
)
