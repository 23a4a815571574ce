"""pod.no-secrets-in-env: no secretKeyRef/secretRef env and no literal secret-looking env values.

Values are never echoed in messages (they may be real secrets). What a secret-looking name or value is comes from
the pack's one table (`guardrails_pack.env_secrets`, shared with the Lambda controls).
"""

from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_list, get_in
from guardrails_pack.control import ResourceControl
from guardrails_pack.env_secrets import literal_credential, secret_value_kind


def check(ctx: ResourceContext) -> Iterator[str]:
    for ref in ctx.containers():
        env = container_list(ref, "env")
        for index in range(len(env)):
            item = env[index]
            name = str(get_in(item, "name", ""))
            where = f"{ref.label} env[{index}] {name!r}"
            if get_in(item, "valueFrom.secretKeyRef") is not None:
                yield f"{where} reads a Secret into an env var; mount it as a secret volume instead"
                continue
            value = get_in(item, "value")
            if value is None:
                continue
            text = str(value)
            if literal_credential(name, text):
                yield f"{where} looks like a credential set as a literal value; use a secret volume or a secret store"
            elif (what := secret_value_kind(text)) is not None:
                yield f"{where} value looks like {what}; never put credentials in the manifest"
        env_from = container_list(ref, "envFrom")
        for index in range(len(env_from)):
            if get_in(env_from[index], "secretRef") is not None:
                yield f"{ref.label} envFrom[{index}] loads a whole Secret into env vars; mount it as a volume"


CONTROL = ResourceControl(
    id="pod.no-secrets-in-env",
    description="No Secret-backed env vars and no literal credentials (by name or value) in container env.",
    severity="medium",
    remediation_steps="Mount Secrets as volumes (or use a secret store CSI driver); remove literal credentials "
    "from env and rotate any that were committed.",
    url="https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    # Polaris' sensitiveContainerEnvVar looks at env names/values (a private key in a literal value) and accepts
    # secretKeyRef, the opposite emphasis: not claimed.
    peer_ids=("CKV_K8S_35", "kyverno:other/disallow-secrets-from-env-vars"),
    resource_types=(KNATIVE_SERVICE,),
    check=check,
)
