"""sc.vuln-report-fresh: the declared vulnerability report is younger than
`supply_chain.vulnerability_gate.max_report_age_days` (and not dated in the future)."""

from collections.abc import Iterator

from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_supply_chain.controls_support import SUPPORTED_TYPES, control_messages


def check(ctx: ResourceContext) -> Iterator[str]:
    yield from control_messages(ctx, "sc.vuln-report-fresh", ctx.project_dir)


CONTROL = ResourceControl(
    id="sc.vuln-report-fresh",
    description="A vulnerability report older than the configured age says nothing about CVEs published since; "
    "it must be regenerated.",
    severity="high",
    remediation_steps="Re-scan the exact digest in CI and commit the new report (Trivy `CreatedAt` / CycloneDX "
    "`metadata.timestamp` is the age used).",
    url="https://trivy.dev/latest/docs/configuration/reporting/",
    peer_ids=("kyverno:other/require-vulnerability-scan", "CKV_AWS_163", "anchor:img.vuln-scan-fresh"),
    resource_types=SUPPORTED_TYPES,
    check=check,
)
