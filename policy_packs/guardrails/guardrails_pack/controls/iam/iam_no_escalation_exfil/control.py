"""iam.no-escalation-exfil: no privilege-escalation actions, and no credential/data reads on every resource."""

from collections.abc import Iterator

from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.iam import IAM_DOCUMENT_TYPES, parsed_permission_documents, statement_grants
from guardrails_pack.props import props_of

# Actions that let the holder grant itself more rights (Rhino Security's IAM escalation paths, Checkov 286/287).
ESCALATION_ACTIONS = (
    "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy", "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup", "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary",
    "lambda:UpdateFunctionConfiguration", "lambda:AddPermission",
)
# Safe with a scoped resource, dangerous on "*": role passing, code replacement, credential and data reads.
WILDCARD_SENSITIVE_ACTIONS = (
    "iam:PassRole", "sts:AssumeRole", "lambda:UpdateFunctionCode", "lambda:CreateFunction",
    "secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "kms:Decrypt", "s3:GetObject", "dynamodb:Scan", "ec2:CreateSnapshot", "rds:CreateDBSnapshot",
)


def check(ctx: ResourceContext) -> Iterator[str]:
    documents, unknown = parsed_permission_documents(ctx.resource_type, props_of(ctx))
    for where in unknown:
        yield f"{where} is unknown at preview, so it cannot be shown to grant no escalation path"
    for where, doc in documents:
        for stmt in doc.allows():
            at = f"{where}.Statement[{stmt.index}]"
            escalations = [a for a in ESCALATION_ACTIONS if statement_grants(stmt, a)]
            if escalations:
                yield f"{at} allows privilege escalation: {', '.join(escalations)}"
            if "*" in stmt.resources or stmt.not_resources:
                broad = [a for a in WILDCARD_SENSITIVE_ACTIONS if statement_grants(stmt, a)]
                if broad:
                    yield f"{at} allows {', '.join(broad)} on Resource \"*\" (escalation or data exfiltration)"


CONTROL = ResourceControl(
    id="iam.no-escalation-exfil",
    description="Permission policies grant no privilege-escalation actions (iam:CreatePolicyVersion, "
    "iam:Attach*/Put*Policy, iam:CreateAccessKey, ...) and no iam:PassRole, sts:AssumeRole, secret, "
    "parameter, KMS or data reads on Resource \"*\".",
    severity="high",
    remediation_steps="Remove the IAM write actions from workload roles (manage IAM in the platform stack), and "
    "scope iam:PassRole, secret/parameter reads and kms:Decrypt to the exact ARNs the function needs.",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    peer_ids=("CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290"),
    resource_types=IAM_DOCUMENT_TYPES,
    check=check,
)
