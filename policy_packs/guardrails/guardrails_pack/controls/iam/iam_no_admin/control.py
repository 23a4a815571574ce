"""iam.no-admin: no administrator or full-IAM permissions on workload roles and policies."""

from collections.abc import Iterator

from guardrails_core.types import IAM_ROLE_POLICY_ATTACHMENT
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.iam import IAM_DOCUMENT_TYPES, managed_policy_arns, parsed_permission_documents, statement_grants
from guardrails_pack.props import describe, props_of

ADMIN_MANAGED_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    for where, arn in managed_policy_arns(ctx.resource_type, props):
        if is_unknown(arn):
            yield f"{where} is unknown at preview, so it cannot be shown not to be an admin policy"
        elif not isinstance(arn, str):
            yield f"{where} must be a policy ARN string, got {describe(arn)}"
        elif arn.rsplit("/", 1)[-1] in ADMIN_MANAGED_POLICIES:
            yield f"{where} attaches {arn.rsplit('/', 1)[-1]}"
    documents, unknown = parsed_permission_documents(ctx.resource_type, props)
    for where in unknown:
        yield f"{where} is unknown at preview, so it cannot be shown to grant no admin rights"
    for where, doc in documents:
        for stmt in doc.allows():
            on_everything = "*" in stmt.resources or bool(stmt.not_resources)
            if statement_grants(stmt, "anyservice:AnyAction") and on_everything:
                yield f"{where}.Statement[{stmt.index}] grants every action on every resource (*:*)"
            elif statement_grants(stmt, "iam:CreateUser") and statement_grants(stmt, "iam:AttachRolePolicy"):
                yield f"{where}.Statement[{stmt.index}] grants full IAM (iam:*)"


CONTROL = ResourceControl(
    id="iam.no-admin",
    description="No role, inline policy or policy attachment grants administrator access (`*` on `*`, "
    "AdministratorAccess, PowerUserAccess) or full IAM (iam:*, IAMFullAccess).",
    severity="critical",
    remediation_steps="Replace the statement or attachment with the specific actions and resource ARNs the "
    "function needs (start from AWSLambdaBasicExecutionRole and add statements in the function spec).",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    peer_ids=("CKV_AWS_62", "CKV_AWS_274", "CKV2_AWS_56", "CKV2_AWS_40"),
    resource_types=(*IAM_DOCUMENT_TYPES, IAM_ROLE_POLICY_ATTACHMENT),
    check=check,
)
