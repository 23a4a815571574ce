"""sc.vuln-gate: the declared Trivy/CycloneDX report has no finding that the stack's block rules forbid for
this service (ranked by severity, AV:N, fix availability, exposure and data classification)."""

from collections.abc import Iterator

from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_supply_chain.controls_support import SUPPORTED_TYPES, control_messages


def check(ctx: ResourceContext) -> Iterator[str]:
    yield from control_messages(ctx, "sc.vuln-gate", ctx.project_dir)


CONTROL = ResourceControl(
    id="sc.vuln-gate",
    description="Vulnerabilities in the service's declared scan report are ranked in the service's context; "
    "those matching `supply_chain.vulnerability_gate.block` (default: fixable critical in a public "
    "confidential/restricted service) block. A declared report that is missing or unreadable also blocks.",
    severity="critical",
    remediation_steps="Upgrade the named package to the fixed version and re-scan (`trivy image --format json "
    "-o report.json IMAGE@DIGEST`), or make the service cluster-local "
    "(`networking.knative.dev/visibility: cluster-local`) if it is not meant to be public.",
    url="https://trivy.dev/latest/docs/configuration/reporting/",
    peer_ids=("trivy:--exit-code --severity CRITICAL --ignore-unfixed", "anchor:img.vuln-scan-fresh"),
    resource_types=SUPPORTED_TYPES,
    check=check,
)
