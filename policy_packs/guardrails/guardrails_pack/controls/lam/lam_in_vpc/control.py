"""lam.in-vpc: functions touching confidential or restricted data run inside a VPC."""

from collections.abc import Iterator

from guardrails_core.types import LAMBDA_FUNCTION
from guardrails_core.values import is_unknown
from guardrails_pack.context import ResourceContext
from guardrails_pack.control import ResourceControl
from guardrails_pack.metadata import classification_of
from guardrails_pack.props import as_list, get_path, props_of


def check(ctx: ResourceContext) -> Iterator[str]:
    props = props_of(ctx)
    data = classification_of(ctx.resource_type, props, ctx.annotation_domain)
    if not (data.sensitive or data.unknown):
        return  # public/internal functions may use the Lambda-managed network
    subnets = get_path(props, "vpcConfig.subnetIds")
    groups = get_path(props, "vpcConfig.securityGroupIds")
    for field_name, value in (("vpcConfig.subnetIds", subnets), ("vpcConfig.securityGroupIds", groups)):
        if is_unknown(value):
            continue  # created in the same update: set
        if not as_list(value, field_name):
            yield (f"the function handles {data.level or 'unclassified (unknown)'} data but {field_name} is "
                   "empty: attach it to private subnets and a security group")


CONTROL = ResourceControl(
    id="lam.in-vpc",
    description="Lambda functions that handle confidential or restricted data run inside a VPC "
    "(vpcConfig with subnets and security groups), so their egress is controlled.",
    severity="high",  # the Lambda side of egress control for confidential data (pod.confidential-egress)
    remediation_steps="Add `vpcConfig: {subnetIds: [...private subnets...], securityGroupIds: [...]}` and the "
    "AWSLambdaVPCAccessExecutionRole policy; reach AWS APIs through VPC endpoints.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
    peer_ids=(),  # CKV_AWS_117 / AWS Config lambda-inside-vpc want every function in a VPC: see peer_gaps.py
    resource_types=(LAMBDA_FUNCTION,),
    check=check,
)
