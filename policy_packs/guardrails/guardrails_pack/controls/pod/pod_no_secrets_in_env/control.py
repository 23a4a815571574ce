"""pod.no-secrets-in-env: no secretKeyRef/secretRef env and no literal secret-looking env values.

Values are never echoed in messages (they may be real secrets).
"""

import re
from collections.abc import Iterator

from guardrails_pack.context import KNATIVE_SERVICE, ResourceContext, container_list, get_in
from guardrails_pack.control import ResourceControl

SECRET_NAME = re.compile(
    r"(passw(or)?d|passwd|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|client[_-]?secret)",
    re.IGNORECASE,
)
SECRET_VALUE = [
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b")),
]


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
            if SECRET_NAME.search(name) and text.strip():
                yield f"{where} looks like a credential set as a literal value; use a secret volume or a secret store"
                continue
            for what, pattern in SECRET_VALUE:
                if pattern.search(text):
                    yield f"{where} value looks like {what}; never put credentials in the manifest"
                    break
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
