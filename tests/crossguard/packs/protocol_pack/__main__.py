"""Protocol-fidelity pack: a small real pulumi_policy pack whose policies each probe one part of the protocol.

Resource types select behaviour, so one process serves every test:
- any type: `no-public-visibility` (mandatory, high) flags props.visibility == config.forbidden (default "public").
- `test:index:Arn`: `role-arn-format` reads props.roleArn (an unknown at preview -> UnknownValueError).
- `test:index:Secretive`: `secret-seen-as-plaintext` reports what type the password arrived as in Analyze.
- any type: `require-managed-by` (remediate) wants tags.managed-by; its remediation adds it.
- `test:index:Boom`: `raises-on-boom` raises RuntimeError (a policy bug).
- `test:index:Hang`: `hangs-on-hang` sleeps far beyond any call timeout.
- `test:index:Echo`: `echo-config` reports its config, stack, project, dry-run and stack tags as JSON.
- `test:index:Log`: `log-probe` logs via pulumi.log (stderr) and via Engine.Log at the engine address.
- stack: `stack-resource-count` (advisory, medium) reports every resource it saw and flags > maxResources.
"""

import json
import sys
import time

import grpc
import pulumi
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)


def no_public(args, report_violation):
    forbidden = (args.get_config() or {}).get("forbidden", "public")
    if args.props.get("visibility") == forbidden:
        report_violation(f"visibility is {forbidden!r}")


def role_arn_format(args, report_violation):
    if args.resource_type != "test:index:Arn":
        return
    if not str(args.props["roleArn"]).startswith("arn:aws:iam::"):
        report_violation("roleArn is not an IAM role ARN")


def secret_seen(args, report_violation):
    if args.resource_type != "test:index:Secretive":
        return
    value = args.props["password"]
    # Never echo the value; report only what the policy could observe about it.
    report_violation(f"password arrived as {type(value).__name__}, length {len(value)}")


def require_managed_by(args, report_violation):
    tags = args.props.get("tags") or {}
    if tags.get("managed-by") != "pulumi":
        report_violation("tags.managed-by must be 'pulumi'")


def add_managed_by(args):
    props = args.props
    tags = dict(props.get("tags") or {})
    if tags.get("managed-by") == "pulumi":
        return None
    tags["managed-by"] = "pulumi"
    props["tags"] = tags
    return props


def raises_on_boom(args, report_violation):
    if args.resource_type == "test:index:Boom":
        raise RuntimeError("policy bug: boom")


def hangs_on_hang(args, report_violation):
    if args.resource_type == "test:index:Hang":
        time.sleep(600)


def echo_config(args, report_violation):
    if args.resource_type != "test:index:Echo":
        return
    report_violation(json.dumps({
        "config": dict(args.get_config() or {}),
        "stack": pulumi.get_stack(),
        "project": pulumi.get_project(),
        "organization": pulumi.get_organization(),
        "dry_run": pulumi.runtime.is_dry_run(),
        "stack_tags": dict(args.stack_tags),
        "pulumi_config": pulumi.Config("app").get("greeting"),
        "options_parent": args.opts.parent,
        "provider": None if args.provider is None else [args.provider.urn, args.provider.resource_type,
                                                        args.provider.name, dict(args.provider.props)],
    }, sort_keys=True))


def log_probe(args, report_violation):
    if args.resource_type != "test:index:Log":
        return
    pulumi.log.warn(f"log-probe saw {args.name}")
    engine = engine_pb2_grpc.EngineStub(grpc.insecure_channel(sys.argv[1]))
    engine.Log(engine_pb2.LogRequest(severity=engine_pb2.WARNING, message=f"engine-log {args.name}", urn=args.urn))


def stack_count(args, report_violation):
    limit = (args.get_config() or {}).get("maxResources", 3)
    seen = sorted(
        f"{r.name}<{r.parent.name if r.parent else ''}>"
        + (f"[{','.join(d.name for d in r.dependencies)}]" if r.dependencies else "")
        + "".join(f"{{{k}:{','.join(d.name for d in v)}}}" for k, v in sorted(r.property_dependencies.items()))
        for r in args.resources
    )
    if len(args.resources) > limit:
        report_violation(f"{len(args.resources)} resources > {limit}: {', '.join(seen)}")


PolicyPack(
    name="protocol-pack",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[
        ResourceValidationPolicy(
            name="no-public-visibility",
            description="Resources must not be public.",
            enforcement_level=EnforcementLevel.MANDATORY,
            severity=Severity.HIGH,
            config_schema=PolicyConfigSchema(properties={"forbidden": {"type": "string", "default": "public"}}),
            validate=no_public,
        ),
        ResourceValidationPolicy(
            name="role-arn-format",
            description="roleArn must be an IAM role ARN.",
            severity=Severity.MEDIUM,
            validate=role_arn_format,
        ),
        ResourceValidationPolicy(
            name="secret-seen-as-plaintext",
            description="Probe: how a secret input reaches Analyze.",
            severity=Severity.LOW,
            validate=secret_seen,
        ),
        ResourceValidationPolicy(
            name="require-managed-by",
            description="Resources carry tags.managed-by=pulumi.",
            enforcement_level=EnforcementLevel.REMEDIATE,
            severity=Severity.LOW,
            validate=require_managed_by,
            remediate=add_managed_by,
        ),
        ResourceValidationPolicy(
            name="raises-on-boom",
            description="A policy with a bug.",
            validate=raises_on_boom,
        ),
        ResourceValidationPolicy(
            name="hangs-on-hang",
            description="A policy that never returns.",
            validate=hangs_on_hang,
        ),
        ResourceValidationPolicy(
            name="echo-config",
            description="Probe: what config and stack a policy sees.",
            config_schema=PolicyConfigSchema(properties={
                "settings": {"type": "object"},
                "level": {"type": "integer", "minimum": 0, "default": 1},
            }),
            validate=echo_config,
        ),
        ResourceValidationPolicy(
            name="log-probe",
            description="Probe: logging from a policy.",
            validate=log_probe,
        ),
        StackValidationPolicy(
            name="stack-resource-count",
            description="A stack holds at most maxResources resources.",
            severity=Severity.MEDIUM,
            config_schema=PolicyConfigSchema(properties={"maxResources": {"type": "integer", "default": 3}}),
            validate=stack_count,
        ),
    ],
)
