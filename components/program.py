"""The Pulumi program: stack settings + declarations → components. `__main__.py` only calls `run`."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path

import pulumi
from guardrails_core.settings import (
    CONFIG_NAMESPACE,
    StackConfigError,
    StackSettings,
    config_key_lines,
    settings_from_config,
    stack_file,
    to_camel,
)

from components.knative_service import KnativeService, KnativeServiceArgs
from components.serverless_function import (
    AWS_EXTRA_HINT,
    ServerlessFunction,
    ServerlessFunctionArgs,
    aws_provider_installed,
)
from components.specs import Declaration, DeclarationErrors, load_declarations


def settings_from_pulumi_config(project_dir: Path) -> StackSettings:
    """Read every `guardrails:*` key the engine passes to the program (objects arrive as JSON strings); errors name
    the stack's config file as the core finds it (stackConfigDir, preflight's --config-file) and the key's line."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    raw: dict[str, str] = {}
    for name in StackSettings.model_fields:
        key = to_camel(name)
        value = config.get(key)
        if value is not None:
            raw[f"{CONFIG_NAMESPACE}:{key}"] = value
    path = stack_file(project_dir, pulumi.get_stack())
    return settings_from_config(raw, _shown(path, project_dir), key_lines=lambda: config_key_lines(path))


def _shown(path: Path, project_dir: Path) -> str:
    """A project file by its path in the project (as the declarations' errors name theirs), any other in full."""
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)


# preflight's offline engine may run the program in n processes at once, each registering every n-th declaration
# ("i/n"). Declarations are independent components, so the union is the same plan. Never set by `pulumi`.
SHARD_ENV = "GUARDRAILS_PROGRAM_SHARD"


def shard() -> tuple[int, int]:
    raw = os.environ.get(SHARD_ENV, "0/1")
    try:
        index, count = (int(part) for part in raw.split("/"))
    except ValueError:
        raise pulumi.RunError(f"{SHARD_ENV}={raw!r}: expected i/n with 0 <= i < n") from None
    if not 0 <= index < count:
        raise pulumi.RunError(f"{SHARD_ENV}={raw!r}: expected i/n with 0 <= i < n")
    return index, count


# preflight's offline engine has already loaded and validated the declarations (for its report's source map): it
# hands them to its program processes in a file named here, so a run reads and parses them once, not once per
# process. The file is written by `write_declarations` in a private temporary folder of the same run; it is a pickle
# because it holds the typed specs, and anyone able to set this process's environment could run code anyway.
# Never set by `pulumi`: under the CLI the program loads the declarations itself.
DECLARATIONS_ENV = "GUARDRAILS_DECLARATIONS_FILE"


def write_declarations(path: Path, project_dir: Path, stack: str, declarations: list[Declaration]) -> None:
    """Write what `declarations_for` reads. The parsed YAML node trees (for line look-ups in reports) are left
    out: the program never needs them, and they are ~80% of the bytes and most of the (un)pickling time."""
    payload = {"project_dir": str(Path(project_dir).resolve()), "stack": stack,
               "declarations": [replace(d, origin=None, overlay=None) for d in declarations]}
    path.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def declarations_for(project_dir: Path, stack: str, settings: StackSettings) -> list[Declaration]:
    """The declarations handed over by preflight (DECLARATIONS_ENV) when they are for this project and stack,
    else loaded from the project (validation errors raise DeclarationErrors)."""
    handed = os.environ.get(DECLARATIONS_ENV)
    if not handed:
        return load_declarations(project_dir, stack, settings)
    try:
        payload = pickle.loads(Path(handed).read_bytes())  # noqa: S301 - written by this run's preflight (above)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise pulumi.RunError(f"{DECLARATIONS_ENV}={handed}: cannot read the declarations preflight handed over "
                              f"({exc.__class__.__name__}: {exc})") from None
    expected = (str(Path(project_dir).resolve()), stack)
    if not isinstance(payload, dict) or (payload.get("project_dir"), payload.get("stack")) != expected:
        raise pulumi.RunError(f"{DECLARATIONS_ENV}={handed}: the declarations are not for project {expected[0]} "
                              f"and stack {stack!r}")
    return payload["declarations"]


def instantiate(declarations: list[Declaration], settings: StackSettings, project_dir: Path) -> dict[str, dict]:
    """Create one component per declaration of an enabled platform; returns what the stack exports."""
    exported: dict[str, dict] = {}
    index, count = shard()
    functions = [d for d in declarations if d.kind == "lambda" and d.kind in settings.platforms]
    if functions and not aws_provider_installed():
        names = ", ".join(d.file for d in functions[:3]) + (" …" if len(functions) > 3 else "")
        raise pulumi.RunError(f"{names}: Lambda functions need the AWS provider, which is not installed "
                              f"({AWS_EXTRA_HINT}; or leave lambda out of guardrails:platforms)")
    for decl in declarations[index::count]:
        if decl.kind not in settings.platforms:
            pulumi.log.info(f"{decl.source}: {decl.kind} {decl.name!r} skipped: platform {decl.kind} is not enabled "
                            f"in this stack (guardrails:platforms = {settings.platforms})")
            continue
        if decl.kind == "knative":
            component = KnativeService(decl.name, KnativeServiceArgs(
                spec=decl.spec, environment=settings.environment, default_namespace=settings.namespace,
                default_tags=settings.default_tags, source=decl.source, declaration=decl.component_inputs()))
            exported[decl.name] = {"kind": "knative", "namespace": component.namespace, "source": decl.source}
        else:
            ServerlessFunction(decl.name, ServerlessFunctionArgs(
                spec=decl.spec, environment=settings.environment, project_dir=project_dir,
                default_tags=settings.default_tags, source=decl.source, declaration=decl.component_inputs()))
            exported[decl.name] = {"kind": "lambda", "source": decl.source}
    return exported


def run(project_dir: Path) -> None:
    try:
        settings = settings_from_pulumi_config(project_dir)
        declarations = declarations_for(project_dir, pulumi.get_stack(), settings)
    except (DeclarationErrors, StackConfigError) as exc:
        # RunError: the engine prints the message (no traceback) and registers nothing.
        raise pulumi.RunError(str(exc)) from None
    pulumi.export("services", instantiate(declarations, settings, project_dir))
