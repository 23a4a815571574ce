"""ServerlessFunction: an AWS Lambda function with a least-privilege role, a managed log group and a `live` alias."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from guardrails_core.source import SOURCE_KEY
from guardrails_core.types import (
    FUNCTION_COMPONENT,
    IAM_ROLE_POLICY,
    LAMBDA_ALIAS,
    LAMBDA_FUNCTION,
    LAMBDA_PC_CONFIG,
    LOG_GROUP,
)

from components.labels import governance_pairs, tag_value
from components.specs.function import FunctionSpec

TYPE_TOKEN = FUNCTION_COMPONENT

# Where each rendered property comes from in the declaration: (resource type, top-level property) -> field path.
# Reports use it to point a finding about a rendered property at the line the user wrote.
FIELD_ORIGINS: dict[tuple[str, str], str] = {
    **{(LAMBDA_FUNCTION, prop): field for prop, field in {
        "memorySize": "spec.memoryMib", "timeout": "spec.timeoutSeconds", "runtime": "spec.runtime",
        "handler": "spec.handler", "architectures": "spec.architecture", "environment": "spec.environment",
        "reservedConcurrentExecutions": "spec.reservedConcurrency", "tracingConfig": "spec.tracing",
        "deadLetterConfig": "spec.deadLetterTarget", "kmsKeyArn": "spec.kmsKeyArn", "vpcConfig": "spec.vpc",
        "loggingConfig": "spec.logLevel", "code": "spec.code", "imageUri": "spec.code", "packageType": "spec.code",
        "ephemeralStorage": "spec.ephemeralStorageMib", "description": "spec.description",
        "tags": "metadata.annotations",
    }.items()},
    (LOG_GROUP, "retentionInDays"): "spec.logRetentionDays",
    (LOG_GROUP, "kmsKeyId"): "spec.logKmsKeyArn",
    (IAM_ROLE_POLICY, "policy"): "spec.iamStatements",
    (LAMBDA_PC_CONFIG, "provisionedConcurrentExecutions"): "spec.provisionedConcurrency",
    (LAMBDA_ALIAS, "routingConfig"): "spec.canary",
}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
XRAY_WRITE = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass
class ServerlessFunctionArgs:
    spec: FunctionSpec
    environment: str
    project_dir: Path
    default_tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    declaration: dict | None = None  # Declaration.component_inputs(): the component's own inputs


def function_tags(args: ServerlessFunctionArgs) -> dict[str, str]:
    spec = args.spec
    pairs = governance_pairs(
        environment=args.environment,
        cost_center=spec.cost_center,
        project_id=spec.project_id,
        owner=spec.owner,
        data_classification=spec.data_classification,
        default_tags=args.default_tags,
    )
    pairs["pci-scope"] = "true" if spec.pci_scope else "false"
    if spec.compliance_scope:
        pairs["compliance-scope"] = " ".join(spec.compliance_scope)
    pairs["managed-by"] = "pulumi"
    if args.source:
        pairs[SOURCE_KEY] = args.source
    return {key: tag_value(value) for key, value in pairs.items()}


def managed_policy_arns(spec: FunctionSpec) -> list[str]:
    arns = [BASIC_EXECUTION]
    if spec.body.vpc is not None:
        arns.append(VPC_EXECUTION)
    if spec.body.tracing == "Active":
        arns.append(XRAY_WRITE)
    return arns


def inline_policy(spec: FunctionSpec) -> dict[str, Any] | None:
    """Declared statements plus what the function's own settings need (DLQ publish, env decryption)."""
    body = spec.body
    statements: list[dict[str, Any]] = []
    for s in body.iam_statements:
        statement: dict[str, Any] = {"Effect": s.effect, "Action": list(s.actions), "Resource": list(s.resources)}
        if s.conditions:
            statement["Condition"] = s.conditions
        statements.append(statement)
    if body.dead_letter_target:
        action = "sqs:SendMessage" if ":sqs:" in body.dead_letter_target else "sns:Publish"
        statements.append({"Effect": "Allow", "Action": [action], "Resource": [body.dead_letter_target]})
    if body.kms_key_arn:
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [body.kms_key_arn]})
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


AWS_EXTRA_HINT = "pip install 'serverless-guardrails[aws]'"


def aws_provider_installed() -> bool:
    """pulumi-aws is the `[aws]` extra: a Knative-only install has no Lambda functions to deploy and skips it.
    Imported here, on first need (about a second that Knative-only programs never pay)."""
    try:
        _aws()
    except ImportError:
        return False
    return True


def _aws():
    return importlib.import_module("pulumi_aws")


class ServerlessFunction(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServerlessFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, args.declaration, opts)
        aws = _aws()
        spec, body = args.spec, args.spec.body
        child = pulumi.ResourceOptions(parent=self)
        tags = function_tags(args)

        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(TRUST_POLICY),
            description=f"Execution role of Lambda function {spec.name}",
            tags=tags,
            opts=child,
        )
        for arn in managed_policy_arns(spec):
            aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}", role=self.role.name, policy_arn=arn, opts=child
            )
        policy = inline_policy(spec)
        if policy is not None:
            aws.iam.RolePolicy(f"{name}-inline", role=self.role.id, policy=json.dumps(policy), opts=child)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{spec.name}",
            retention_in_days=body.log_retention_days,
            kms_key_id=body.log_kms_key_arn,
            tags=tags,
            opts=child,
        )

        code_args: dict[str, Any]
        if body.code.image is not None:
            code_args = {"package_type": "Image", "image_uri": body.code.image}
        else:
            code_args = {
                "package_type": "Zip",
                "code": pulumi.FileArchive(str(args.project_dir / body.code.path)),
                "runtime": body.runtime,
                "handler": body.handler,
            }
        self.function = aws.lambda_.Function(
            name,
            name=spec.name,
            description=body.description,
            role=self.role.arn,
            memory_size=body.memory_mib,
            timeout=body.timeout_seconds,
            architectures=[body.architecture],
            ephemeral_storage={"size": body.ephemeral_storage_mib},
            environment={"variables": dict(body.environment)} if body.environment else None,
            reserved_concurrent_executions=body.reserved_concurrency,
            tracing_config={"mode": body.tracing},
            dead_letter_config={"target_arn": body.dead_letter_target} if body.dead_letter_target else None,
            kms_key_arn=body.kms_key_arn,
            vpc_config=(
                {"subnet_ids": body.vpc.subnet_ids, "security_group_ids": body.vpc.security_group_ids}
                if body.vpc
                else None
            ),
            logging_config={
                "log_format": "JSON",
                "log_group": self.log_group.name,
                "application_log_level": body.log_level,
                "system_log_level": "INFO",
            },
            publish=True,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]),
            **code_args,
        )

        if body.canary is not None:
            # Canary: the alias stays on the stable version and sends `weight` of traffic to the new one.
            weight = body.canary.weight
            alias_version: pulumi.Input[str] = body.canary.stable_version
            routing: pulumi.Input[Any] | None = self.function.version.apply(
                lambda version: {"additional_version_weights": {version: weight}}
            )
        else:
            alias_version, routing = self.function.version, None
        self.alias = aws.lambda_.Alias(
            f"{name}-live",
            name="live",
            function_name=self.function.name,
            function_version=alias_version,
            routing_config=routing,
            opts=child,
        )
        if body.provisioned_concurrency:
            aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=self.function.name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=body.provisioned_concurrency,
                opts=child,
            )
        self.register_outputs({"function_name": spec.name, "alias_arn": self.alias.arn, "role_arn": self.role.arn})
