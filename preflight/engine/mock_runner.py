"""Run the Pulumi program under the Pulumi SDK's own mocks and record every registered resource.

This is the heart of the offline engine (no CLI, no cloud account). The cloud is mocked; our program, components and
the Pulumi SDK run for real. Preview semantics are kept: a mocked create returns its inputs as outputs and nothing
else, so values computed by the cloud (ARNs, versions, ids) stay unknown exactly as in `pulumi preview`; secrets stay
wrapped and reach the record as `guardrails_core.values.Secret`.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from google.protobuf import json_format, struct_pb2
from guardrails_core.values import UNKNOWN_SENTINEL, from_wire
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.engine.base import PlannedResource, attach_sources


class _StateMocks(pulumi.runtime.Mocks):
    def __init__(self, preview: bool) -> None:
        self.preview = preview

    @staticmethod
    def computed(type_: str, name: str) -> dict[str, str]:
        """What the mocked cloud fills in at an update (ARNs, a published version); the inputs win over it."""
        state = {"arn": f"arn:mock:{type_}:{name}"}
        if type_ == "aws:lambda/function:Function":
            state["version"] = "2"
        return state

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        # Preview: no id and only the inputs come back, like a create in `pulumi preview`.
        if self.preview:
            return None, dict(args.inputs)
        return f"{args.name}-id", {**self.computed(args.typ, args.name), **args.inputs}

    def registered_state(self, type_: str, name: str, inputs: struct_pb2.Struct) -> tuple[str | None, Any]:
        """`new_resource` on the wire: the id and state for a registration's inputs as the engine sent them."""
        if self.preview:
            return None, inputs
        state = struct_pb2.Struct()
        state.update(self.computed(type_, name))
        state.MergeFrom(inputs)
        return f"{name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


STACK_TYPE = "pulumi:pulumi:Stack"


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _StateMocks, stack_config: dict[str, Any], preview: bool) -> None:
        super().__init__(mocks)
        self.records: list[PlannedResource] = []
        self.stack_config = stack_config
        self.preview = preview
        self.mocks: _StateMocks = mocks
        self.default_providers: dict[str, PlannedResource] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does (resource.NewURN): the qualified type chains the parents' types, except the root
        # Stack's. The SDK mock keeps only the parent's last type and includes the Stack; URNs must match the CLI.
        if parent:
            qualified = parent.split("::")[2]
            if qualified != STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def _default_provider(self, type_token: str, version: str) -> str:
        """The engine registers a default provider per package and version; so do we, with its stack config."""
        package = type_token.split(":", 1)[0]
        name = "default" + ("_" + version.replace(".", "_") if version else "")
        key = f"{package}/{name}"
        if key not in self.default_providers:
            inputs: dict[str, Any] = {k.split(":", 1)[1]: v for k, v in engine_config(self.stack_config).items()
                                      if k.startswith(f"{package}:")}
            if version:
                inputs["version"] = version
            urn = "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(),
                                              f"pulumi:providers:{package}", name])
            self.default_providers[key] = PlannedResource(urn=urn, type=f"pulumi:providers:{package}", name=name,
                                                          custom=True, parent=None, provider=None, inputs=inputs)
        provider = self.default_providers[key]
        return f"{provider.urn}::{UNKNOWN_SENTINEL if self.preview else name + '-id'}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        # The SDK's MockMonitor would deserialise the inputs into SDK values for `Mocks.new_resource` and serialise
        # the answer back (~10% of a mock run), and the record needs them once more in our own form (UNKNOWN, Secret
        # kept). A mocked create answers its inputs (plus, for an update, what the cloud computes), so the state is
        # made on the wire from the request's own Struct and the inputs are converted once, for the record. Nothing is
        # kept in `self.resources`: that table only serves `get`/`exists` of mocked resources, which programs run by
        # preflight never call.
        urn = self.make_urn(request.parent, request.type, request.name)
        id_, state = self.mocks.registered_state(request.type, request.name, request.object)
        self.records.append(
            PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                provider=request.provider or (self._default_provider(request.type, request.version)
                                              if request.custom else None),
                inputs=from_wire(json_format.MessageToDict(request.object)),
            )
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=state)


def engine_config(config: dict[str, Any]) -> dict[str, str]:
    """Stack-file config → what the engine hands the program: strings, objects as JSON."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            out[key] = "[secret]"  # ciphertext needs the passphrase; the offline engine never decrypts
        elif isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value)
    return out


def run_program(
    project_dir: Path, stack: str, config: dict[str, Any], *, project: str, preview: bool = True
) -> list[PlannedResource]:
    """Run `<project_dir>/__main__.py` for `stack` under mocks; raises what the program raises."""
    mocks = _StateMocks(preview)
    monitor = _RecordingMonitor(mocks, config, preview)
    pulumi.runtime.set_all_config(engine_config(config), [k for k, v in config.items() if isinstance(v, dict)
                                                          and set(v) == {"secure"}])
    ROOT.set(None)  # a fresh root Stack resource per run (runs may follow each other in one process)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    main = Path(project_dir) / "__main__.py"
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(main), run_name="__main__")))
    except pulumi.RunError as exc:  # the program's own clear message (e.g. invalid declarations)
        raise ProgramFailed(str(exc), monitor.records) from exc
    except Exception as exc:
        raise ProgramFailed(f"the program crashed: {exc.__class__.__name__}: {exc}", monitor.records) from exc
    return attach_sources([*monitor.default_providers.values(), *monitor.records])


class ProgramFailed(Exception):
    """The program stopped with an error; `registered` is what it had registered until then."""

    def __init__(self, message: str, registered: list[PlannedResource]) -> None:
        super().__init__(message)
        self.registered = registered
