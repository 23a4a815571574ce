"""kn.flag-gated-fields: PodSpec fields behind a Knative feature flag are used only when the cluster enables it."""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, get_in, is_list, pod_security_context, pod_volumes
from guardrails_pack.control import ResourceControl

POD_FIELDS = {
    "affinity": "kubernetes.podspec-affinity",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "schedulerName": "kubernetes.podspec-schedulername",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "initContainers": "kubernetes.podspec-init-containers",
}
VOLUME_FLAGS = {
    "emptyDir": "kubernetes.podspec-emptydir",
    "persistentVolumeClaim": "kubernetes.podspec-persistent-volume-claim",
    "hostPath": "kubernetes.podspec-hostpath",
}
# Pod-level securityContext fields Knative accepts without kubernetes.podspec-securitycontext (low confidence:
# taken from an old fieldmask.go; re-check against the Serving version you run).
UNGATED_POD_SECURITY = frozenset({"runAsNonRoot", "seccompProfile"})
ADD_CAPABILITIES = "kubernetes.containerspec-addcapabilities"
# Knative's defaults for flags that are on unless the cluster turns them off.
ENABLED_BY_DEFAULT = {"kubernetes.podspec-emptydir": "enabled"}


def check(ctx: ResourceContext) -> Iterator[str]:
    flags = dict(ENABLED_BY_DEFAULT)
    flags.update(ctx.settings.knative_feature_flags)

    def gate(flag: str, what: str) -> Iterator[str]:
        if flags.get(flag, "disabled") not in ("enabled", "allowed"):
            yield (f"{what} needs the Knative feature flag {flag}, which is {flags.get(flag, 'disabled')} for this "
                   "stack (guardrails:knativeFeatureFlags); the deploy would fail at apply")

    spec = ctx.pod_spec()
    for field, flag in POD_FIELDS.items():
        if field in spec and spec[field] not in (None, [], {}):
            yield from gate(flag, f"spec.template.spec.{field}")
    extra = sorted(k for k in pod_security_context(spec) if k not in UNGATED_POD_SECURITY)
    if extra:
        fields = ", ".join(extra)
        yield from gate("kubernetes.podspec-securitycontext", f"spec.template.spec.securityContext ({fields})")
    for path, volume in pod_volumes(spec):
        for source, flag in VOLUME_FLAGS.items():
            if source in volume:
                yield from gate(flag, f"{path} ({source})")
    for ref in ctx.containers():
        added = ref.get("securityContext.capabilities.add", [])
        if is_list(added) and len(added) > 0:
            yield from gate(ADD_CAPABILITIES, f"{ref.label} securityContext.capabilities.add")
        if get_in(ref.container, "env") and any(
            get_in(e, "valueFrom.fieldRef") is not None for e in ref.container["env"]
        ):
            yield from gate("kubernetes.podspec-fieldref", f"{ref.label} env valueFrom.fieldRef")


CONTROL = ResourceControl(
    id="kn.flag-gated-fields",
    description="PodSpec fields gated by Knative feature flags are used only when the target cluster enables them.",
    severity="medium",
    remediation_steps="Remove the field, or enable the flag in the cluster's config-features and record it in "
    "guardrails:knativeFeatureFlags for this stack.",
    url="https://knative.dev/docs/serving/configuration/feature-flags/",
    peer_ids=(),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
