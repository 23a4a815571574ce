"""CrossGuard driver: start Python policy packs as analyzer plugins and drive them over the real gRPC protocol.

Public entry points:
- `analyze_plan(pack_dir, resources, *, stack, project, config, ...) -> (findings, remediations, errors)`
- `analyze_plan_multi(pack_dirs, resources, *, stack, project, configs, ...)`
- `PackSession` (one process reused for many plans), `AnalyzerClient`, `PolicyPackProcess`
- `fixtures.run_control_fixtures(...)` (kyverno-test style control fixtures)
"""

from preflight.crossguard.client import AnalyzerClient, PackInfo, PolicyMeta, is_preview_unknown
from preflight.crossguard.errors import (
    CrossGuardError,
    PackLayoutError,
    PluginCallError,
    PluginStartError,
    PolicyConfigError,
)
from preflight.crossguard.plugin import LogEntry, PolicyPackProcess
from preflight.crossguard.run import PackRun, PackSession, analyze_plan, analyze_plan_multi, run_pack

__all__ = [
    "AnalyzerClient",
    "CrossGuardError",
    "LogEntry",
    "PackInfo",
    "PackLayoutError",
    "PackRun",
    "PackSession",
    "PluginCallError",
    "PluginStartError",
    "PolicyConfigError",
    "PolicyMeta",
    "PolicyPackProcess",
    "analyze_plan",
    "analyze_plan_multi",
    "is_preview_unknown",
    "run_pack",
]
