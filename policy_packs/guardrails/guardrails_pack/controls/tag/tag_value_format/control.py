"""tag.value-format: tag/label values match the stack's `tag_rules` regexes (e.g. cost-center format)."""

import re
from collections.abc import Iterator

from guardrails_core.types import KNATIVE_SERVICE
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import AWS_TAGGABLE_TYPES, aws_tags, ksvc_labels
from guardrails_pack.props import SettingsError, describe, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    present = ksvc_labels(props) if ctx.resource_type == KNATIVE_SERVICE else aws_tags(props)
    where = "metadata.labels" if ctx.resource_type == KNATIVE_SERVICE else "tags"
    for key, pattern in sorted(ctx.settings.tag_rules.items()):
        try:
            rule = re.compile(pattern)
        except re.error as exc:
            raise SettingsError(f"stack setting tag_rules[{key!r}] is not a valid regex: {exc}") from exc
        if key not in present:
            continue  # absence is tag.required-keys' job
        value = reveal(present[key])
        if is_unknown(value):
            yield f"{where}[{key!r}] is unknown at preview, so it cannot be checked against {pattern!r}"
        elif not isinstance(value, str) or not rule.fullmatch(value):
            yield f"{where}[{key!r}] = {describe(value)} does not match tag_rules[{key!r}] = {pattern!r}"


CONTROL = ResourceControl(
    id="tag.value-format",
    description="Tag and label values match the regexes in `tag_rules` (e.g. cost-center `^[A-Z]+-[A-Za-z-]+$`, "
    "environment ∈ dev|staging|prod), so cost reports group correctly.",
    severity="low",
    remediation_steps="Fix the value in the service file's finops annotations (or guardrails:defaultTags) to "
    "match guardrails:tagRules; ask FinOps for the valid cost-center codes.",
    url="https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/tagging-best-practices.html",
    # Not claimed: kube-score's label-values (Kubernetes label syntax), Polaris' metadataAndInstanceMismatched
    # (instance label equals the name), Kyverno's metadata-match-regex (also fails when the label is absent, which
    # is tag.required-keys' job here).
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE, *AWS_TAGGABLE_TYPES),
    check=check,
)
