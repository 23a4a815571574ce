"""dc.no-debug-logging-confidential: sensitive workloads do not log at DEBUG/TRACE nor carry PII env names."""

from collections.abc import Iterator
from typing import Any

from guardrails_core.types import KNATIVE_SERVICE, LAMBDA_FUNCTION
from guardrails_core.values import reveal
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.env_secrets import env_variables, pii_looking
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import as_list, as_mapping, get_path, props_of

VERBOSE_LEVELS = ("DEBUG", "TRACE")
LOG_LEVEL_NAMES = ("LOG_LEVEL", "LOGLEVEL", "LOGGING_LEVEL", "POWERTOOLS_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL")


def _env_pairs(ctx: ResourceContext, props: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(where, name, value) for every environment variable of the function or the ksvc containers."""
    if ctx.resource_type == LAMBDA_FUNCTION:
        variables = env_variables(props) or {}
        return [(f"environment.variables.{k}", str(k), v) for k, v in variables.items()]
    out = []
    containers = as_list(get_path(props, "spec.template.spec.containers"), "spec.template.spec.containers")
    for i, container in enumerate(containers):
        base = f"spec.template.spec.containers[{i}].env"
        for j, item in enumerate(as_list(as_mapping(container, base[:-4]).get("env"), base)):
            item = as_mapping(item, f"{base}[{j}]")
            out.append((f"{base}[{j}]", str(item.get("name")), item.get("value")))
    return out


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    if not (data.sensitive or data.unknown):
        return
    level = data.level or "unknown-classification"
    if ctx.resource_type == LAMBDA_FUNCTION:
        app_level = reveal(get_path(props, "loggingConfig.applicationLogLevel"))
        if isinstance(app_level, str) and app_level.upper() in VERBOSE_LEVELS:
            yield f"{level} workload logs at loggingConfig.applicationLogLevel={app_level}; use INFO or higher"
    for where, name, value in _env_pairs(ctx, props):
        value = reveal(value)
        if name.upper() in LOG_LEVEL_NAMES and isinstance(value, str) and value.upper() in VERBOSE_LEVELS:
            yield f"{level} workload sets {where} ({name}) to {value}; use INFO or higher"
        if pii_looking(name):
            yield f"{level} workload has a PII-looking environment variable {name!r} ({where})"


CONTROL = ResourceControl(
    id="dc.no-debug-logging-confidential",
    description="Confidential/restricted Lambda functions and Knative Services log at INFO or above "
    "(loggingConfig.applicationLogLevel, LOG_LEVEL env) and carry no PII-looking environment variable names.",
    severity="low",
    remediation_steps="Set loggingConfig.applicationLogLevel (or LOG_LEVEL) to INFO/WARN; move personal data out "
    "of configuration (read it from the data store at run time, never from env).",
    url="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html",
    peer_ids=(),
    framework="GDPR",
    resource_types=(LAMBDA_FUNCTION, KNATIVE_SERVICE),
    check=check,
)
