"""iam.no-wildcards: no wildcard actions, and no `Resource: "*"` for actions that can be scoped."""

from collections.abc import Iterator

from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.iam import IAM_DOCUMENT_TYPES, action_matches, parsed_permission_documents
from guardrails_pack.props import props_of

# Actions AWS does not let you scope to a resource ARN (they need Resource "*"), the ones Lambda needs.
UNRESTRICTABLE_ACTIONS = [
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "cloudwatch:PutMetricData",
    "logs:DescribeLogGroups", "sts:GetCallerIdentity", "ecr:GetAuthorizationToken", "kms:ListAliases",
    "s3:ListAllMyBuckets", "ssm:DescribeParameters",
]


def check(ctx: ResourceContext) -> Iterator[str]:
    documents, _unknown = parsed_permission_documents(ctx.resource_type, props_of(ctx))
    # Unknown parts are reported by iam.no-admin / iam.no-escalation-exfil; this control judges what is known.
    free = [str(a) for a in ctx.option("unrestrictable_actions")]
    for where, doc in documents:
        for stmt in doc.allows():
            at = f"{where}.Statement[{stmt.index}]"
            for action in stmt.actions:
                if action == "*" or action.endswith(":*"):
                    yield f"{at} uses wildcard action {action!r}; list the actions the function calls"
            if stmt.not_actions:
                yield f"{at} uses NotAction, which allows every other action (including future ones)"
            if "*" in stmt.resources or stmt.not_resources:
                scoped = [a for a in stmt.actions if not any(action_matches(a, f) for f in free)]
                if scoped and not stmt.has_condition:
                    yield (f"{at} grants {', '.join(sorted(scoped))} on Resource \"*\"; name the resource ARNs "
                           "(these actions can be scoped)")


CONTROL = ResourceControl(
    id="iam.no-wildcards",
    description="Permission policies use no wildcard actions (`*`, `service:*`, NotAction) and no "
    "`Resource: \"*\"` for actions that support resource-level scoping (unless a Condition narrows them).",
    severity="high",
    remediation_steps="Replace `service:*` with the exact API calls the function makes and `*` resources "
    "with ARNs (bucket/prefix, table, queue, secret). Only the few unscopable actions (X-Ray, VPC ENI "
    "management, PutMetricData) may keep Resource \"*\".",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    peer_ids=("CKV_AWS_63", "CKV_AWS_355"),
    resource_types=IAM_DOCUMENT_TYPES,
    config_schema={"unrestrictable_actions": {
        "type": "array", "items": {"type": "string"}, "default": UNRESTRICTABLE_ACTIONS,
        "description": "actions allowed on Resource \"*\" (AWS offers no resource-level scoping for them)"}},
    check=check,
)
