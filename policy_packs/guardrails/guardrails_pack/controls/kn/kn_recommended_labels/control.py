"""kn.recommended-labels: app.kubernetes.io/{name,part-of,managed-by} on the ksvc and its template."""

from collections.abc import Iterator
from typing import Any

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, annotation, get_in, label, mapping_at
from guardrails_pack.control import ResourceControl
from guardrails_pack.remediation import editable_props

RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by")
WHERE = ("metadata.labels", "spec.template.metadata.labels")


def check(ctx: ResourceContext) -> Iterator[str]:
    for where in WHERE:
        labels = mapping_at(ctx.props, where)
        missing = [key for key in RECOMMENDED if key not in labels or not str(labels[key]).strip()]
        if missing:
            yield f"{where} is missing {', '.join(missing)}"


def default_labels(ctx: ResourceContext) -> dict[str, str]:
    name = str(get_in(ctx.props, "metadata.name", ctx.name))
    part_of = (annotation(ctx.props, ctx.domain_key("finops", "project-id")) or label(ctx.props, "project-id")
               or ctx.settings.default_tags.get("project-id") or name)
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": part_of,
            "app.kubernetes.io/managed-by": "pulumi"}


def remediate(ctx: ResourceContext) -> dict[str, Any] | None:
    props = editable_props(ctx)
    defaults = default_labels(ctx)
    changed = False
    for where in WHERE:
        node: dict[str, Any] = props
        for key in where.split("."):
            node = node.setdefault(key, {}) if isinstance(node.get(key), dict) or key not in node else node[key]
            if not isinstance(node, dict):
                return None
        for key, value in defaults.items():
            if not str(node.get(key) or "").strip():
                node[key] = value
                changed = True
    return props if changed else None


CONTROL = ResourceControl(
    id="kn.recommended-labels",
    description="The ksvc and its revision template carry app.kubernetes.io/name, /part-of and /managed-by.",
    severity="low",
    remediation_steps="Add the recommended labels (the pack adds them itself at enforcement `remediate`).",
    url="https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/",
    # Polaris' metadataAndInstanceMismatched (instance label = name) and kube-score's label-values (valid values)
    # are other label rules: not claimed.
    peer_ids=("pulumi-cp:kubernetes-configure-recommended-labels",),
    # Kyverno's sample require-labels wants app.kubernetes.io/name only (tag.required-keys is its exact
    # counterpart, with the label list as stack setting); this control requires three recommended labels.
    stricter_than=("kyverno:best-practices/require-labels",),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
    remediate=remediate,
)
