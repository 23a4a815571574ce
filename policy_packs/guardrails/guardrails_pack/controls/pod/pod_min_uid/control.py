"""pod.min-uid: this stack's own UID floor (runAsUser >= minUid when set) and no GID 0.

A policy choice, not a Pod Security Standards rule: a high UID keeps container users apart from host users if a
container escapes. It claims no peer id: Checkov's CKV_K8S_40 and kube-score also fail an unset UID, which we leave
to `pod.run-as-non-root`.
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ControlInputError, ResourceContext, effective_security_value
from guardrails_pack.control import ResourceControl


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ControlInputError(f"{where} must be an integer (found {value!r})")
    return int(value)


def check(ctx: ResourceContext) -> Iterator[str]:
    spec = ctx.pod_spec()
    min_uid = int(ctx.option("minUid"))
    for ref in ctx.containers():
        uid = effective_security_value(spec, ref, "runAsUser")
        if uid is not None and _int(uid, f"{ref.path}.securityContext.runAsUser") < min_uid:
            yield f"{ref.label} runAsUser {int(uid)} is below this stack's minimum {min_uid} (minUid)"
        gid = effective_security_value(spec, ref, "runAsGroup")
        if gid is not None and _int(gid, f"{ref.path}.securityContext.runAsGroup") == 0:
            yield f"{ref.label} runs with GID 0 (runAsGroup: 0)"


CONTROL = ResourceControl(
    id="pod.min-uid",
    description="A runAsUser, when set, is at least the stack's minUid (default 10000); runAsGroup is not 0.",
    severity="medium",
    remediation_steps="Use a UID >= 10000 (or the stack's minUid) and a non-zero GID; build the image with that USER.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    config_schema={"minUid": {"type": "integer", "minimum": 1, "default": 10000,
                              "description": "lowest runAsUser accepted when one is set"}},
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
