"""AWS Lambda function declarations (`kind: Function`), our own format. The JSON Schema in
`schemas/function-spec.schema.json` is generated from these models: `python -m components.specs.function`.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from guardrails_core.safe_input import UnsafeInputError, resolve_inside
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.specs import kubernetes as k8s
from components.specs.annotations import KPI_NAME, AnnotationKeys, check_annotations
from components.specs.errors import DeclarationError, format_path, is_sensitive, shown
from components.specs.images import image_problem
from components.specs.yaml_source import SourceDocument

API_VERSION = "serverless-guardrails.dev/v1alpha1"
KIND = "Function"
# CloudWatch Logs accepts only these retention values.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)


_DLQ_ARN = r"^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$"
# Keys the Lambda API refuses in Environment.Variables (the runtime sets them), and its 4 KB limit on all of them.
RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
ENV_MAX_BYTES = 4096


class _Strict(BaseModel):
    # allow_inf_nan=False: "nan" and "1e999" are not numbers any AWS API takes.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              allow_inf_nan=False)


class Code(_Strict):
    """Exactly one of `path` (a folder in the repo, zipped) or `image` (a container image pinned by digest)."""

    path: str | None = Field(None, description="Folder relative to the repository root; zipped at deploy time")
    image: str | None = Field(None, description="Container image reference pinned by digest (@sha256:...)")

    @model_validator(mode="after")
    def _exactly_one(self) -> Code:
        if (self.path is None) == (self.image is None):
            raise ValueError("set exactly one of code.path (zip from a folder) or code.image (image by digest)")
        if self.image is not None:
            if problem := image_problem(self.image):
                raise ValueError(problem)
            if "@sha256:" not in self.image:
                raise ValueError(f"code.image must be pinned by digest (…@sha256:<64 hex>), found {shown(self.image)}")
        if self.path is not None and (self.path.startswith("/") or ".." in self.path.split("/")):
            raise ValueError(f"code.path must be relative to the repository root without '..', "
                             f"found {shown(self.path)}")
        if self.path is not None and (not self.path.strip() or posixpath.normpath(self.path) == "."):
            raise ValueError("code.path must name the function's own folder, not the repository root "
                             f"(found {shown(self.path)}; a real `up` would zip the whole repository)")
        return self


class IamStatement(_Strict):
    effect: Literal["Allow", "Deny"] = "Allow"
    actions: Annotated[list[Annotated[str, Field(pattern=r"^([a-z0-9-]+:[A-Za-z0-9*]+|\*)$")]], Field(min_length=1)]
    resources: Annotated[list[str], Field(min_length=1)]
    conditions: dict[str, dict[str, Any]] | None = None


class Vpc(_Strict):
    subnet_ids: Annotated[list[str], Field(min_length=1)]
    security_group_ids: Annotated[list[str], Field(min_length=1)]


# CloudWatch's statistics: the standard ones, or a percentile p0..p100 (extended statistics).
_STATISTIC = re.compile(r"^(SampleCount|Average|Sum|Minimum|Maximum|p(100|[0-9]{1,2}(\.[0-9]{1,2})?))$")
_PLACEHOLDER = re.compile(r"\$[A-Za-z_]+")
KPI_PLACEHOLDERS = ("$function", "$version")


class LambdaKpi(_Strict):
    """A KPI the canary must hold, read from CloudWatch per version: the Lambda form of the Knative annotation
    `rollout.<domain>/kpi.<name>: '<PromQL using $revision> <op> <threshold>'`. In dimension values `$function` is
    the function's name and `$version` the version (the stable's, then the canary's)."""

    name: Annotated[str, Field(pattern=f"^{KPI_NAME.pattern}$", description="lower-case letters, digits and '-'")]
    namespace: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^:]")]
    metric: Annotated[str, Field(min_length=1, max_length=255)]
    statistic: str = Field("Average", description="SampleCount, Average, Sum, Minimum, Maximum or p0..p100")
    dimensions: Annotated[dict[Annotated[str, Field(min_length=1, max_length=255)],
                               Annotated[str, Field(min_length=1, max_length=1024)]],
                          Field(min_length=1, max_length=30)]
    op: Literal["<", "<=", ">", ">="] = Field(description="the canary's samples must satisfy `value <op> threshold`")
    threshold: float

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, value: str) -> str:
        if not _STATISTIC.match(value):
            raise ValueError("must be a CloudWatch statistic: SampleCount, Average, Sum, Minimum, Maximum or a "
                             "percentile p0..p100 (e.g. p99)")
        return value

    @field_validator("dimensions")
    @classmethod
    def _per_version(cls, dims: dict[str, str]) -> dict[str, str]:
        unknown = sorted({p for v in dims.values() for p in _PLACEHOLDER.findall(v)} - set(KPI_PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder {', '.join(unknown)}; allowed: {', '.join(KPI_PLACEHOLDERS)}")
        # Without $version both versions would read the same series: the test would compare nothing.
        if not any("$version" in v for v in dims.values()):
            raise ValueError("a dimension value must contain $version (e.g. ExecutedVersion: $version), so the "
                             "stable and the canary version are read apart")
        return dims


class LambdaCanary(_Strict):
    """Weighted alias routing: `weight` of traffic to the new version, the rest to `stableVersion`."""

    stable_version: Annotated[str, Field(pattern=r"^[0-9]+$")]
    weight: Annotated[float, Field(ge=0.0, le=1.0)]
    kpis: Annotated[list[LambdaKpi], Field(max_length=20)] = []

    @field_validator("kpis")
    @classmethod
    def _unique_names(cls, kpis: list[LambdaKpi]) -> list[LambdaKpi]:
        names = [k.name for k in kpis]
        if dup := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"KPI names must be unique; {', '.join(dup)} declared more than once")
        return kpis


class FunctionBody(_Strict):
    description: str | None = Field(None, max_length=256)
    runtime: str | None = Field(None, description="Lambda runtime id, e.g. python3.12 (omit for container images)")
    handler: str | None = Field(None, description="module.function for zip packages")
    code: Code
    memory_mib: Annotated[int, Field(ge=128, le=10240)] = 512
    timeout_seconds: Annotated[int, Field(ge=1, le=900)] = 30
    architecture: Literal["x86_64", "arm64"] = "arm64"
    ephemeral_storage_mib: Annotated[int, Field(ge=512, le=10240)] = 512
    environment: dict[Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9_]*$")], str] = {}
    reserved_concurrency: Annotated[int, Field(ge=0)] | None = None
    provisioned_concurrency: Annotated[int, Field(ge=0)] = 0
    tracing: Literal["Active", "PassThrough"] = "Active"
    dead_letter_target: Annotated[str, Field(pattern=_DLQ_ARN)] | None = None
    kms_key_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:kms:")] | None = None
    vpc: Vpc | None = None
    log_retention_days: int = 30
    log_kms_key_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:kms:")] | None = None
    log_level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] = "INFO"
    iam_statements: list[IamStatement] = []
    trigger: Literal["http", "queue", "event", "timer", "storage", "orchestration", "other"] = "http"
    canary: LambdaCanary | None = None

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch's values {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @field_validator("environment")
    @classmethod
    def _lambda_env(cls, env: dict[str, str]) -> dict[str, str]:
        # Messages name keys only, never values (they may be secrets).
        if reserved := sorted(k for k in env if k in RESERVED_ENV):
            raise ValueError(f"{', '.join(reserved)}: reserved by the Lambda runtime (set by AWS, refused by the API)")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
        if size > ENV_MAX_BYTES:
            raise ValueError(f"environment variables total {size:,} bytes; Lambda allows {ENV_MAX_BYTES:,}")
        return env

    @model_validator(mode="after")
    def _zip_needs_runtime(self) -> FunctionBody:
        if self.code.path is not None and (not self.runtime or not self.handler):
            raise ValueError("a zip package (code.path) needs both runtime and handler")
        if self.handler is not None and not (self.runtime or "").startswith("provided") and (
            "." not in self.handler.strip(".") or self.handler != self.handler.strip()
        ):
            raise ValueError(f"handler must be module.function (e.g. app.handler), found {shown(self.handler)}")
        if self.code.image is not None and (self.runtime or self.handler):
            raise ValueError("a container image (code.image) takes no runtime/handler (set them in the image)")
        return self


class FunctionMetadata(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9-_]{1,64}$")]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class FunctionDeclaration(_Strict):
    api_version: Literal["serverless-guardrails.dev/v1alpha1"]
    kind: Literal["Function"]
    metadata: FunctionMetadata
    spec: FunctionBody


class FunctionSpec(BaseModel):
    """What the ServerlessFunction component needs from a validated declaration."""

    model_config = ConfigDict(frozen=True)
    name: str
    body: FunctionBody
    annotations: dict[str, str]
    cost_center: str | None
    project_id: str | None
    owner: str | None
    data_classification: str | None
    pci_scope: bool
    compliance_scope: list[str]


def parse_function(
    doc: SourceDocument, keys: AnnotationKeys, levels: list[str], project_dir: Path
) -> tuple[FunctionSpec | None, list[DeclarationError]]:
    errors: list[DeclarationError] = []
    try:
        decl = FunctionDeclaration.model_validate(doc.data)
    except ValidationError as exc:
        for e in exc.errors():
            path = [p for p in e["loc"]]
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                message = "unknown field (a typo?); see components/specs/schemas/function-spec.schema.json"
            elif "input" in e and not isinstance(e["input"], dict | list) and not is_sensitive(path):
                message += f" (found {shown(e['input'])})"
            errors.append(DeclarationError(doc.file, doc.line_of(path), format_path(path), message))
        return None, errors
    for key, problem in check_annotations(decl.metadata.annotations, keys, levels):
        path = ["metadata", "annotations", key]
        errors.append(DeclarationError(doc.file, doc.line_of(path), format_path(path), problem))
    for sub, problem in k8s.annotations_problems(decl.metadata.annotations):
        path = ["metadata", "annotations", *sub]
        errors.append(DeclarationError(doc.file, doc.line_of(path), format_path(path), problem))
    if decl.spec.code.path is not None:
        try:
            resolve_inside(project_dir, decl.spec.code.path, kind="dir")
        except UnsafeInputError as exc:
            path = ["spec", "code", "path"]
            errors.append(DeclarationError(doc.file, doc.line_of(path), format_path(path),
                                           f"folder {shown(decl.spec.code.path)} {exc}"))
    if errors:
        return None, errors
    ann = decl.metadata.annotations
    scope = [p.strip() for p in ann.get(keys.security_key("compliance-scope"), "").split(",") if p.strip()]
    pci = ann.get(keys.security_key("pci-scope")) == "true"
    if pci and "pci" not in scope:
        scope.append("pci")
    return FunctionSpec(
        name=decl.metadata.name,
        body=decl.spec,
        annotations=dict(ann),
        cost_center=ann.get(keys.finops_key("cost-center")),
        project_id=ann.get(keys.finops_key("project-id")),
        owner=ann.get(keys.finops_key("owner")),
        data_classification=ann.get(keys.data_classification()),
        pci_scope=pci,
        compliance_scope=scope,
    ), []


def json_schema() -> dict[str, Any]:
    schema = FunctionDeclaration.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "serverless-guardrails Function declaration"
    return schema


SCHEMA_PATH = Path(__file__).parent / "schemas" / "function-spec.schema.json"

if __name__ == "__main__":
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA_PATH}")
