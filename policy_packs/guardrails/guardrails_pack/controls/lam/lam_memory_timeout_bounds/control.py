"""lam.memory-timeout-bounds: memorySize and timeout are declared and within the environment caps."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.props import as_int, props_of

# Hard AWS bounds, whatever the stack says.
MEMORY_RANGE = (128, 10240)
TIMEOUT_RANGE = (1, 900)


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    limits = ctx.settings.limits
    for field_name, cap, cap_key, bounds, unit in (
        ("memorySize", limits.lambda_memory_mib, "lambda_memory_mib", MEMORY_RANGE, "MiB"),
        ("timeout", limits.lambda_timeout_seconds, "lambda_timeout_seconds", TIMEOUT_RANGE, "s"),
    ):
        raw = props.get(field_name)
        if is_unknown(raw):
            yield f"{field_name} is unknown at preview; declare it in the function spec"
            continue
        value = as_int(raw, field_name)
        if value is None:
            yield f"{field_name} is not set (AWS default applies silently); declare it, at most {cap} {unit}"
        elif not bounds[0] <= value <= bounds[1]:
            yield f"{field_name} {value} {unit} is outside the AWS range {bounds[0]}..{bounds[1]}"
        elif value > cap:
            yield f"{field_name} {value} {unit} exceeds the {ctx.environment} cap limits.{cap_key}={cap}"


CONTROL = ResourceControl(
    id="lam.memory-timeout-bounds",
    description="Lambda memorySize and timeout are declared explicitly and do not exceed the stack caps "
    "`limits.lambda_memory_mib` and `limits.lambda_timeout_seconds` (cost and blast radius).",
    severity="medium",
    remediation_steps="Declare `memorySize` and `timeout` in the function spec, sized from measured p99 "
    "duration and memory (e.g. AWS Lambda Power Tuning), within guardrails:limits for the stack.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
    peer_ids=("aws-config:lambda-function-settings-check",),
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
