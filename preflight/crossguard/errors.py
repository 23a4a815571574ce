"""Errors of the CrossGuard driver. Every one names the pack and what was being done (fail closed)."""

from __future__ import annotations

from guardrails_core.values import WireFormatError  # noqa: F401 (re-exported: raised by the wire codec)


class CrossGuardError(Exception):
    """Base class: anything that stops a policy pack from giving a trustworthy answer."""

    def __init__(self, pack: str, call: str, detail: str) -> None:
        self.pack = pack
        self.call = call
        self.detail = detail
        super().__init__(f"policy pack {pack!r}: {call}: {detail}")


class PackLayoutError(CrossGuardError):
    """The pack directory is not a Python policy pack (missing PulumiPolicy.yaml / __main__.py, bad runtime)."""


class PluginStartError(CrossGuardError):
    """The pack process did not come up: crashed, printed no port, or took too long."""


class PluginCallError(CrossGuardError):
    """A gRPC call failed: an error status, a deadline, or the process died underneath it."""


class PolicyConfigError(CrossGuardError):
    """Policy config that the engine would refuse (unknown policy, bad enforcement level, schema mismatch)."""


