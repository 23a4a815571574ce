"""Where each kind of service is observed: a registry keyed by the declaration's kind.

`SOURCES[kind](context)` returns a reader `(name, declaration file, window) -> ObservedService`. Lambda reads
CloudWatch (`cloudwatch.py`); Knative reads Prometheus (`prometheus.py`, `--prometheus URL`; without a URL every
Knative figure is missing with the reason). A source that cannot reach its backend raises `SourceError` (observe
exits 2 and writes nothing). Another backend is one more `@register(kind)` factory here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.observe.model import Measurement, ObservedService, Source, Window

Reader = Callable[[str, str, Window], ObservedService]


class SourceError(Exception):
    """The metrics backend is unreachable or refused us, or is not configured: exit 2, nothing written."""


@dataclass(frozen=True)
class ObserveContext:
    project_dir: Path
    stack: str
    settings: Any  # StackSettings
    stack_config: dict[str, Any]  # the raw config of stacks/Pulumi.<stack>.yaml
    prometheus_url: str | None = None
    declarations: dict[str, Any] = field(default_factory=dict)  # name -> components.specs.loader.Declaration

    def aws_region(self) -> str:
        region = self.stack_config.get("aws:region") or self.settings.aws_region
        if not region:
            raise SourceError(f"stacks/Pulumi.{self.stack}.yaml: no aws:region (nor guardrails:awsRegion): the "
                              "region to read CloudWatch in")
        return str(region)


SOURCES: dict[str, Callable[[ObserveContext], Reader]] = {}


def register(kind: str) -> Callable[[Callable[[ObserveContext], Reader]], Callable[[ObserveContext], Reader]]:
    def add(factory: Callable[[ObserveContext], Reader]) -> Callable[[ObserveContext], Reader]:
        SOURCES[kind] = factory
        return factory

    return add


def all_missing(name: str, kind: str, declaration: str, window: Window, source: Source, reason: str
                ) -> ObservedService:
    def gone(unit: str) -> Measurement:
        return Measurement(None, unit, source, "", window, reason)

    return ObservedService(name=name, kind=kind, declaration=declaration, window=window,  # type: ignore[arg-type]
                           requests_per_hour=gone("requests/hour"), error_rate=gone("ratio"),
                           latency_p50_ms=gone("ms"), latency_p99_ms=gone("ms"), peak_concurrency=gone("concurrent"))


@register("lambda")
def cloudwatch_source(context: ObserveContext) -> Reader:
    from preflight.observe.cloudwatch import CloudWatchError, CloudWatchReader, cloudwatch_client

    region = context.aws_region()
    try:
        reader = CloudWatchReader(cloudwatch_client(region), region)
    except Exception as exc:  # noqa: BLE001 - a bad endpoint URL or profile is a configuration error
        raise SourceError(f"CloudWatch client for {region}: {type(exc).__name__}: {str(exc)[:200]}") from None

    def read(name: str, declaration: str, window: Window) -> ObservedService:
        try:
            return reader.observe(name, declaration, window)
        except CloudWatchError as exc:
            raise SourceError(str(exc)) from None

    return read


@register("knative")
def prometheus_source(context: ObserveContext) -> Reader:
    if not context.prometheus_url:
        def missing(name: str, declaration: str, window: Window) -> ObservedService:
            return all_missing(name, "knative", declaration, window, "prometheus",
                               "no Prometheus URL configured (--prometheus URL)")

        return missing
    from preflight.observe.prometheus import PrometheusClient, PrometheusError, observe_knative

    try:
        client = PrometheusClient(context.prometheus_url)
        client.check()
    except PrometheusError as exc:
        raise SourceError(str(exc)) from None

    def read(name: str, declaration: str, window: Window) -> ObservedService:
        found = context.declarations.get(name)
        if found is None:
            return all_missing(name, "knative", declaration, window, "prometheus",
                               f"no Knative declaration named {name!r} was loaded")
        try:
            return observe_knative(found, client, window, namespace=context.settings.namespace)
        except PrometheusError as exc:
            raise SourceError(str(exc)) from None

    return read
