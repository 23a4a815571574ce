"""Who can invoke a Lambda function (permissions, function URLs) and the log retention values AWS accepts.

Values may be UNKNOWN (preview-time), Secret, wire sentinels or pulumi-policy's own wrappers; nothing here
prints a secret. Bad shapes raise PropertyError naming the field, so the control fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guardrails_core.values import UNKNOWN, is_unknown, reveal

from guardrails_pack.props import PropertyError, as_int, describe


def lambda_name(props: Mapping[str, Any], fallback: str) -> Any:
    """The function's physical name (`name`), else the Pulumi resource name."""
    name = reveal(props.get("name"))
    return fallback if name is None else name


def public_permission_problem(props: Mapping[str, Any]) -> str | None:
    """Why this Permission makes the function public, or None. Shared with dc.confidential-no-public-lambda."""
    principal = reveal(props.get("principal"))
    if is_unknown(principal):
        return "principal is unknown at preview, so the permission cannot be shown not to be public"
    if not isinstance(principal, str):
        return f"principal must be a string (\"*\", an account id, an ARN or a service), got {describe(principal)}"
    if principal.strip() in ("*", "AWS:*", "arn:aws:iam::*:root"):
        if reveal(props.get("principalOrgId")):
            return None  # `*` narrowed to one AWS Organization is not public
        return f"principal {principal!r} lets anyone invoke the function"
    return None


def open_url_problem(props: Mapping[str, Any]) -> str | None:
    """Why this FunctionUrl is open to the internet, or None. Shared with dc.confidential-no-public-lambda."""
    auth = reveal(props.get("authorizationType"))
    if is_unknown(auth):
        return "authorizationType is unknown at preview; declare AWS_IAM"
    if auth == "NONE":
        return "authorizationType is NONE: anyone on the internet can invoke the function"
    if auth != "AWS_IAM":
        return f"authorizationType must be AWS_IAM or NONE, got {describe(auth)}"
    return None


CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653)


def log_retention(props: Mapping[str, Any]) -> Any:
    """retentionInDays as an int, None when absent/0 (never expires), UNKNOWN when unknown at preview."""
    raw = props.get("retentionInDays")
    if is_unknown(raw):
        return UNKNOWN
    value = as_int(raw, "retentionInDays")
    if value is not None and value != 0 and value not in CLOUDWATCH_RETENTION_DAYS:
        raise PropertyError(f"retentionInDays {value} is not a CloudWatch retention value "
                            f"(allowed: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))})")
    return None if value in (None, 0) else value
