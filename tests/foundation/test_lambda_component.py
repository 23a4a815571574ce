"""ServerlessFunction: function, least-privilege role, log group, live alias, tags — under Pulumi mocks."""

from __future__ import annotations

import json

from guardrails_core.values import UNKNOWN

from tests.foundation.helpers import REPO, by_type, make_project, run

FUNCTION = "aws:lambda/function:Function"


def test_dev_stack_registers_the_lambda_family():
    resources = run(REPO, "dev")
    children = {r.type for r in resources if r.parent and "ServerlessFunction" in r.parent}
    assert children == {
        FUNCTION,
        "aws:iam/role:Role",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:lambda/alias:Alias",
    }


def test_function_inputs_and_preview_unknowns():
    resources = run(REPO, "dev")
    fn = by_type(resources, FUNCTION)[0].inputs
    assert fn["name"] == "embeddings-batch"
    assert fn["runtime"] == "python3.12" and fn["handler"] == "app.handler" and fn["packageType"] == "Zip"
    assert fn["memorySize"] == 1024 and fn["timeout"] == 60 and fn["architectures"] == ["arm64"]
    assert fn["reservedConcurrentExecutions"] == 10
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert fn["deadLetterConfig"] == {"targetArn": "arn:aws:sqs:eu-west-1:123456789012:embeddings-batch-dlq"}
    assert fn["environment"] == {"variables": {"MODEL_NAME": "text-embedding-small", "LOG_FORMAT": "json"}}
    assert fn["loggingConfig"]["logGroup"] == "/aws/lambda/embeddings-batch"
    assert fn["role"] is UNKNOWN  # the role ARN is computed by AWS: unknown at preview, as in `pulumi preview`
    assert fn["code"]["path"].endswith("functions/embeddings_batch")
    assert fn["tags"] == {
        "owner": "ml-platform",
        "managed-by": "pulumi",
        "environment": "dev",
        "cost-center": "AI-Product-X",
        "project-id": "project-nova",
        "data-classification": "internal",
        "pci-scope": "false",
        "serverless-guardrails.dev/source": "services/embeddings-batch.yaml:2",
    }


def test_role_trusts_only_lambda_and_gets_least_privilege():
    resources = run(REPO, "dev")
    role = by_type(resources, "aws:iam/role:Role")[0].inputs
    trust = json.loads(role["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attached = sorted(r.inputs["policyArn"] for r in by_type(resources,
                                                             "aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
    assert attached == [
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]
    inline = json.loads(by_type(resources, "aws:iam/rolePolicy:RolePolicy")[0].inputs["policy"])
    assert inline["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::nova-embeddings-input/*"]},
        {"Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": ["arn:aws:sqs:eu-west-1:123456789012:embeddings-batch-dlq"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt"],
         "Resource": ["arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"]},
    ]


def test_log_group_retention_and_alias():
    resources = run(REPO, "dev")
    log_group = by_type(resources, "aws:cloudwatch/logGroup:LogGroup")[0].inputs
    assert log_group["name"] == "/aws/lambda/embeddings-batch" and log_group["retentionInDays"] == 30
    alias = by_type(resources, "aws:lambda/alias:Alias")[0].inputs
    assert alias["name"] == "live" and alias["functionName"] == "embeddings-batch"
    assert alias["functionVersion"] is UNKNOWN and "routingConfig" not in alias


LAMBDA_CANARY = """\
apiVersion: serverless-guardrails.dev/v1alpha1
kind: Function
metadata:
  name: scorer
  annotations:
    finops.apexlogic.com/cost-center: "AI-Product-X"
spec:
  code:
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/scorer@sha256:{digest}
  canary:
    stableVersion: "7"
    weight: 0.1
  provisionedConcurrency: 2
"""


def test_lambda_canary_routes_weight_to_the_new_version(tmp_path):
    project = make_project(tmp_path, {"scorer.yaml": LAMBDA_CANARY.replace("{digest}", "a" * 64)})
    resources = run(project, "dev", preview=False)
    alias = by_type(resources, "aws:lambda/alias:Alias")[0].inputs
    assert alias["functionVersion"] == "7"
    assert alias["routingConfig"] == {"additionalVersionWeights": {"2": 0.1}}  # "2": the mocked new version
    fn = by_type(resources, FUNCTION)[0].inputs
    assert fn["packageType"] == "Image" and "runtime" not in fn
    provisioned = by_type(resources, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert provisioned[0].inputs["provisionedConcurrentExecutions"] == 2
    assert provisioned[0].inputs["qualifier"] == "live"
