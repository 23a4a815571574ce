"""Drive one or more policy packs over a planned set of resources, in the engine's order.

GetAnalyzerInfo → Configure → Analyze (each resource) → AnalyzeStack → Remediate (only when some policy is at
`remediate`; results are shown, never applied). Every failure becomes an entry in `errors` (which blocks the
gate) naming pack and call; nothing is silently skipped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from preflight.crossguard.client import DEFAULT_CALL_TIMEOUT_S, AnalyzerClient, NotApplicable, PackInfo
from preflight.crossguard.errors import CrossGuardError, PluginCallError
from preflight.crossguard.plugin import DEFAULT_START_TIMEOUT_S, LogEntry, PolicyPackProcess, config_string
from preflight.crossguard.policy_config import PolicyConfigEntry
from preflight.engine.base import PlannedResource, PolicyFinding, Remediation


@dataclass
class PackRun:
    """Everything one pack said about one plan."""

    pack: str
    findings: list[PolicyFinding] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)


class SharedWork:
    """Resources handed out one at a time to several sessions of one pack (each in its own thread): a process that
    is busy with AnalyzeStack or slower calls simply takes fewer, so the processes finish together."""

    def __init__(self, resources: Iterable[PlannedResource]) -> None:
        self._items = iter(list(resources))
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[PlannedResource]:
        return self

    def __next__(self) -> PlannedResource:
        with self._lock:
            return next(self._items)


class PackSession:
    """A started pack with its info loaded; reuse it for many plans (the fixture runner does)."""

    def __init__(
        self,
        pack_dir: str | os.PathLike[str],
        *,
        stack: str,
        project: str,
        dry_run: bool = True,
        organization: str | None = None,
        stack_config: Mapping[str, Any] | None = None,
        stack_tags: Mapping[str, str] | None = None,
        python: str | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
        call_timeout: float = DEFAULT_CALL_TIMEOUT_S,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.process = PolicyPackProcess(
            pack_dir, project=project, stack=stack, dry_run=dry_run, organization=organization,
            stack_config=stack_config, python=python, start_timeout=start_timeout, extra_env=extra_env,
        )
        self._stack_args = {"stack": stack, "project": project, "organization": organization or "",
                            "dry_run": dry_run, "tags": dict(stack_tags or {}),
                            "config": {k: config_string(v) for k, v in (stack_config or {}).items()}}
        self.call_timeout = call_timeout
        self.client: AnalyzerClient | None = None
        self.info: PackInfo | None = None

    def __enter__(self) -> PackSession:
        try:
            self.process.start()
            self.client = AnalyzerClient(self.process, call_timeout=self.call_timeout)
            self.info = self.client.get_analyzer_info()
            self.client.configure_stack(**self._stack_args)
        except BaseException:
            self.process.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.process.close()

    @property
    def pack_name(self) -> str:
        return self.info.name if self.info else self.process.pack_label

    def run(
        self,
        resources: Sequence[PlannedResource],
        config: Mapping[str, Any] | None = None,
        *,
        dependencies: Mapping[str, Sequence[str]] | None = None,
        property_dependencies: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        part: tuple[int, int] = (0, 1),
        stack_config: Mapping[str, Any] | None = None,
        work: SharedWork | None = None,
        on_analyzed: Callable[[], None] | None = None,
    ) -> PackRun:
        """Configure, then Analyze each resource, AnalyzeStack, and Remediate where a policy is at remediate.

        `dependencies` / `property_dependencies` (by URN) go into AnalyzeStack when known.
        `part=(i, n)`: this session analyses/remediates every n-th resource starting at i, and only part 0 runs
        AnalyzeStack (over all resources) — n sessions of one pack then split a large plan across cores.
        `work`: instead of every n-th resource, this session analyses what it takes from a queue shared with the
        other sessions, and part 0 sends AnalyzeStack first (the others meanwhile take the per-resource calls).
        `stack_config` replaces the stack config (ConfigureStack) for this and later runs.
        `on_analyzed` is called after each resource's Analyze (progress counts; called from this session's thread)."""
        assert self.client is not None, "use PackSession as a context manager"
        client = self.client
        if stack_config is not None:
            self._stack_args["config"] = {k: config_string(v) for k, v in stack_config.items()}
            client.configure_stack(**self._stack_args)
        result = PackRun(self.pack_name)
        mark = self.process.log_mark()
        try:
            self._run_calls(client, resources, config, result, dependencies or {}, property_dependencies or {},
                            part, work, on_analyzed)
        finally:
            self.process.settle_stderr()
            result.logs = self.process.logs_since(mark)
            result.errors.extend(
                f"policy pack {self.pack_name!r}: logged error: {entry.message}"
                for entry in result.logs if entry.severity == "error"
            )
        return result

    def _run_calls(
        self, client: AnalyzerClient, resources: Sequence[PlannedResource], config: Mapping[str, Any] | None,
        result: PackRun, dependencies: Mapping[str, Sequence[str]],
        property_dependencies: Mapping[str, Mapping[str, Sequence[str]]],
        part: tuple[int, int] = (0, 1),
        work: SharedWork | None = None,
        on_analyzed: Callable[[], None] | None = None,
    ) -> None:
        client.set_provider_resources(resources)
        index, count = part
        try:
            effective = client.configure(config)
        except CrossGuardError as exc:
            result.errors.append(str(exc))
            return  # without the intended config the answers would not mean what the caller thinks

        stack_first = work is not None and index == 0
        if stack_first and not self._analyze_stack(client, resources, result, dependencies, property_dependencies):
            return
        mine: list[PlannedResource] = []
        for resource in work if work is not None else list(resources)[index::count]:
            mine.append(resource)
            try:
                outcome = client.analyze(resource)
            except PluginCallError as exc:
                if not self.process.is_alive():
                    result.errors.append(str(exc))
                    return  # every further call would fail the same way
                if "no answer within" in exc.detail:
                    result.errors.append(str(exc))  # a hang: isolating would hang once per policy
                    continue
                # pulumi_policy runs all policies in one Analyze call, so one raising policy hides the others'
                # findings for this resource. Re-run each policy alone to name the culprit and keep the rest.
                self._isolate(client, resource, effective, result)
                continue
            result.findings.extend(outcome.findings)
            result.not_applicable.extend(outcome.not_applicable)
            if on_analyzed is not None:
                on_analyzed()

        if index == 0 and not stack_first and not self._analyze_stack(client, resources, result, dependencies,
                                                                      property_dependencies):
            return

        if any(entry.enforcement_level == "remediate" for entry in effective.values()):
            for resource in mine:
                try:
                    result.remediations.extend(client.remediate(resource))
                except PluginCallError as exc:
                    result.errors.append(str(exc))
                    if not self.process.is_alive():
                        return


    def _analyze_stack(
        self, client: AnalyzerClient, resources: Sequence[PlannedResource], result: PackRun,
        dependencies: Mapping[str, Sequence[str]], property_dependencies: Mapping[str, Mapping[str, Sequence[str]]],
    ) -> bool:
        """AnalyzeStack into `result`; False when the pack process died (every further call would fail)."""
        try:
            stack_outcome = client.analyze_stack(resources, dependencies=dependencies,
                                                 property_dependencies=property_dependencies)
        except PluginCallError as exc:
            result.errors.append(str(exc))
            return self.process.is_alive()
        result.findings.extend(stack_outcome.findings)
        result.not_applicable.extend(stack_outcome.not_applicable)
        return True

    def _isolate(
        self, client: AnalyzerClient, resource: PlannedResource, effective: dict[str, PolicyConfigEntry],
        result: PackRun,
    ) -> None:
        assert self.info is not None
        active = [name for name, meta in self.info.policies.items()
                  if meta.policy_type == "resource" and effective[name].enforcement_level != "disabled"]
        try:
            for name in active:
                alone = {other: entry if other == name else PolicyConfigEntry("disabled", entry.properties)
                         for other, entry in effective.items()}
                client.configure_effective(alone)
                try:
                    outcome = client.analyze(resource)
                except PluginCallError as exc:
                    result.errors.append(f"policy pack {self.pack_name!r}: policy {name!r}: "
                                         f"Analyze({resource.urn}) failed: {exc.detail}")
                    if not self.process.is_alive():
                        return
                    continue
                result.findings.extend(outcome.findings)
                result.not_applicable.extend(outcome.not_applicable)
        except CrossGuardError as exc:
            result.errors.append(f"{exc} (while isolating the failing policy for {resource.urn})")
        finally:
            if self.process.is_alive():
                try:
                    client.configure_effective(effective)
                except CrossGuardError as exc:
                    result.errors.append(f"{exc} (restoring the policy config)")


def analyze_plan(
    pack_dir: str | os.PathLike[str],
    resources: Sequence[PlannedResource],
    *,
    stack: str,
    project: str,
    config: Mapping[str, Any] | None = None,
    dry_run: bool = True,
    timeout: float = DEFAULT_CALL_TIMEOUT_S,
    start_timeout: float = DEFAULT_START_TIMEOUT_S,
    organization: str | None = None,
    stack_config: Mapping[str, Any] | None = None,
    stack_tags: Mapping[str, str] | None = None,
    python: str | None = None,
) -> tuple[list[PolicyFinding], list[Remediation], list[str]]:
    """Run one pack over a plan. `config` is the policy config map ({policy|"all": level | {enforcementLevel?,
    ...props}}); `stack_config` is the stack's config (PULUMI_CONFIG, e.g. {"guardrails:environment": "prod"});
    `timeout` applies to each gRPC call. Returns (findings, remediations, errors)."""
    run = run_pack(pack_dir, resources, stack=stack, project=project, config=config, dry_run=dry_run,
                   timeout=timeout, start_timeout=start_timeout, organization=organization,
                   stack_config=stack_config, stack_tags=stack_tags, python=python)
    return run.findings, run.remediations, run.errors


def run_pack(
    pack_dir: str | os.PathLike[str],
    resources: Sequence[PlannedResource],
    *,
    stack: str,
    project: str,
    config: Mapping[str, Any] | None = None,
    dry_run: bool = True,
    timeout: float = DEFAULT_CALL_TIMEOUT_S,
    start_timeout: float = DEFAULT_START_TIMEOUT_S,
    organization: str | None = None,
    stack_config: Mapping[str, Any] | None = None,
    stack_tags: Mapping[str, str] | None = None,
    python: str | None = None,
) -> PackRun:
    """Like `analyze_plan` but returns the full `PackRun` (not-applicable reasons, logs)."""
    label = Path(pack_dir).name
    try:
        with PackSession(pack_dir, stack=stack, project=project, dry_run=dry_run, organization=organization,
                         stack_config=stack_config, stack_tags=stack_tags, python=python,
                         start_timeout=start_timeout, call_timeout=timeout) as session:
            return session.run(resources, config)
    except CrossGuardError as exc:
        return PackRun(label, errors=[str(exc)])


def analyze_plan_multi(
    pack_dirs: Sequence[str | os.PathLike[str]],
    resources: Sequence[PlannedResource],
    *,
    stack: str,
    project: str,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> tuple[list[PolicyFinding], list[Remediation], list[str]]:
    """Run several packs (one process each, one after another), like repeated `--policy-pack` flags.

    configs: pack directory name (or path as given) -> that pack's policy config. Packs are keyed by
    their directory because the engine keys `--policy-pack-config` files by position, and names are only
    known after starting the pack.
    """
    findings: list[PolicyFinding] = []
    remediations: list[Remediation] = []
    errors: list[str] = []
    configs = configs or {}
    seen_names: dict[str, str] = {}
    for pack_dir in pack_dirs:
        key = str(pack_dir)
        config = configs.get(key, configs.get(Path(pack_dir).name))
        run = run_pack(pack_dir, resources, stack=stack, project=project, config=config, **kwargs)
        if run.pack in seen_names:
            # The engine dedupes packs by name (pulumi-policy#386): two packs with one name is a setup error.
            errors.append(f"policy pack {run.pack!r}: loaded twice ({seen_names[run.pack]} and {key})")
        seen_names[run.pack] = key
        findings.extend(run.findings)
        remediations.extend(run.remediations)
        errors.extend(run.errors)
    unknown = set(configs) - {str(p) for p in pack_dirs} - {Path(p).name for p in pack_dirs}
    if unknown:
        errors.append(f"policy config given for packs that were not run: {', '.join(sorted(unknown))}")
    return findings, remediations, errors
