"""pod.cpu-limit-stance: a CPU limit is required, forbidden or optional, per environment.

Anchors disagree (Checkov CKV_K8S_11 and Polaris require a limit, Kyverno forbid-cpu-limits forbids it), so the
stance is an option per environment.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext
from guardrails_pack.control import ResourceControl

STANCES = ("require", "forbid", "any")


def check(ctx: ResourceContext) -> Iterator[str]:
    stances = ctx.option("stanceByEnvironment")
    stance = stances[ctx.environment] if ctx.environment in stances else "any"
    if stance not in STANCES:
        raise ValueError(f"option stanceByEnvironment.{ctx.environment}={stance!r}; allowed: {', '.join(STANCES)}")
    for ref in ctx.containers():
        has_limit = ref.get("resources.limits.cpu") is not None
        if stance == "require" and not has_limit:
            yield f"{ref.label} has no resources.limits.cpu ({ctx.environment} requires one)"
        if stance == "forbid" and has_limit:
            yield f"{ref.label} sets resources.limits.cpu ({ctx.environment} forbids CPU limits: throttling)"


CONTROL = ResourceControl(
    id="pod.cpu-limit-stance",
    description="CPU limits follow the environment's stance (required, forbidden or optional).",
    severity="low",
    remediation_steps="Add or remove resources.limits.cpu to match the stance for this environment "
    "(policy option stanceByEnvironment).",
    url="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
    peer_ids=("CKV_K8S_11", "kyverno:other/forbid-cpu-limits", "polaris:cpuLimitsMissing"),
    config_schema={"stanceByEnvironment": {
        "type": "object", "additionalProperties": {"enum": list(STANCES)},
        "default": {"local": "any", "dev": "any", "staging": "require", "prod": "require"},
        "description": "require | forbid | any, per environment"}},
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
