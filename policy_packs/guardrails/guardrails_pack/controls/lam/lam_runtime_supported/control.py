"""lam.runtime-supported: the runtime is in the stack's allow-list and not past its AWS deprecation date."""

import datetime as dt
from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown, reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.policy_exceptions import reference_date
from guardrails_pack.props import describe, props_of

# Deprecation dates from the AWS Lambda runtimes page (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
# Overridable per stack through the control option `deprecated_runtimes` when AWS publishes new dates.
DEPRECATED_RUNTIMES: dict[str, str] = {
    "python2.7": "2021-07-15", "python3.6": "2022-07-18", "python3.7": "2023-12-04", "python3.8": "2024-10-14",
    "python3.9": "2025-12-15", "nodejs10.x": "2021-07-30", "nodejs12.x": "2023-03-31",
    "nodejs14.x": "2023-12-04", "nodejs16.x": "2024-06-12", "nodejs18.x": "2025-09-01", "java8": "2024-01-08",
    "go1.x": "2024-01-08", "provided": "2024-01-08", "ruby2.7": "2023-12-07", "ruby3.2": "2026-03-31",
    "dotnetcore3.1": "2023-04-03", "dotnet6": "2024-12-20", "dotnet7": "2024-05-14",
}


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    runtime = reveal(props.get("runtime"))
    package_type = reveal(props.get("packageType")) or "Zip"
    if runtime is None:
        if package_type != "Image":
            yield "runtime is not set for a Zip package; declare one from guardrails:allowedRuntimes"
        return
    if is_unknown(runtime):
        yield "runtime is unknown at preview; declare it in the function spec"
        return
    if not isinstance(runtime, str):
        yield f"runtime must be a string such as \"python3.12\", got {describe(runtime)}"
        return
    allowed = ctx.settings.allowed_runtimes
    if runtime not in allowed:
        yield f"runtime {runtime!r} is not in guardrails:allowedRuntimes ({', '.join(allowed)})"
    table = ctx.option("deprecated_runtimes")
    if not isinstance(table, dict):
        raise ValueError("option deprecated_runtimes must map runtime -> ISO date")
    if runtime in table:
        deprecated_on = dt.date.fromisoformat(str(table[runtime]))
        today = reference_date(ctx.option("reference_date"))
        if deprecated_on <= today:
            yield (f"runtime {runtime!r} was deprecated by AWS on {deprecated_on.isoformat()}: no security "
                   "patches, and updates will be blocked")


CONTROL = ResourceControl(
    id="lam.runtime-supported",
    description="The Lambda runtime is in the stack allow-list (`allowed_runtimes`) and has not reached its "
    "AWS deprecation date.",
    severity="medium",
    remediation_steps="Move the function to a supported runtime from guardrails:allowedRuntimes (e.g. "
    "python3.12) and redeploy; or ask the platform team to extend the allow-list.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
    peer_ids=("aws-config:lambda-function-settings-check",),
    # Every runtime on Checkov's forbidden list is outside the default allowedRuntimes or in DEPRECATED_RUNTIMES.
    stricter_than=("CKV_AWS_363",),
    resource_types=(LAMBDA_FUNCTION,),
    config_schema={
        "deprecated_runtimes": {"type": "object", "default": DEPRECATED_RUNTIMES,
                                "description": "runtime -> ISO date AWS deprecated it"},
        "reference_date": {"type": "string", "default": "",
                           "description": "ISO date used as 'today' (empty = the real date)"},
    },
    check=check,
)
