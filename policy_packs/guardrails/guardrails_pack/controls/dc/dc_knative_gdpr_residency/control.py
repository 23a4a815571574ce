"""dc.knative-gdpr-residency: a GDPR-scoped Knative Service runs only on a cluster in an allowed GDPR region.

The cluster's region is stack configuration (`guardrails:clusterRegion`), compared with
`guardrails:dataClassification.gdprRegions` (AWS names by default; add your cloud's EU region names, e.g.
`europe-west1`, if the cluster is elsewhere). An undeclared cluster region, or a compliance scope unknown at
preview, is a violation (fail closed). Lambda and log groups are `dc.gdpr-region-residency`.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import classification_of


def check(ctx: ResourceContext) -> Iterator[str]:
    data = classification_of(KNATIVE_SERVICE, ctx.props, ctx.annotation_domain)
    if not (data.has("gdpr") or data.unknown):
        return
    allowed = ctx.settings.data_classification.gdpr_regions
    region = ctx.settings.cluster_region
    why = "is GDPR-scoped" if data.has("gdpr") else "has a compliance scope unknown at preview"
    if region is None:
        yield (f"the Service {why} but the stack does not declare its cluster's region (guardrails:clusterRegion); "
               f"allowed: {', '.join(allowed)}")
    elif region not in allowed:
        yield (f"the Service {why} but the stack's cluster runs in {region!r} (guardrails:clusterRegion); "
               f"allowed: {', '.join(allowed)}")


CONTROL = ResourceControl(
    id="dc.knative-gdpr-residency",
    description="Knative Services whose compliance-scope includes gdpr deploy only to a cluster whose region "
    "(guardrails:clusterRegion) is in data_classification.gdpr_regions.",
    severity="high",
    remediation_steps="Deploy the service through a stack whose cluster is in an EU region and declare it in "
    "guardrails:clusterRegion, or remove gdpr from compliance-scope if the workload holds no personal data.",
    url="https://eur-lex.europa.eu/eli/reg/2016/679/oj",
    framework="GDPR",
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
