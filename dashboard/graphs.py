"""Building graph payloads from Django settings: the one place views, consumers, tasks and
commands call into graph/."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

import networkx as nx
from django.conf import settings

from dashboard import metrics
from graph.build import build_graph, build_node_graph, gc_paused
from graph.cytoscape import to_config
from graph.health import DEFAULT_TOLERANCES, HealthConfig, Rule
from graph.kiali_params import KialiRequest
from graph.layout import add_positions
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusError, PrometheusSettings
from graph.promql import eq
from graph.sources import dialect_named
from graph.sources.istio.dialect import ISTIO


def prometheus(timeout: float | None = None) -> Prometheus:
    """The client for the configured Prometheus (one per distinct configuration); with
    `timeout`, one that gives up sooner than the configured timeout."""
    configured = float(settings.PROMETHEUS_TIMEOUT)
    return client_for(PrometheusSettings(
        url=settings.PROMETHEUS_URL, token=settings.PROMETHEUS_TOKEN,
        ca_file=settings.PROMETHEUS_CA, verify=settings.PROMETHEUS_VERIFY,
        timeout=configured if timeout is None else min(timeout, configured),
    ))


@lru_cache(maxsize=4)
def client_for(prometheus_settings: PrometheusSettings) -> Prometheus:
    return Prometheus(prometheus_settings)


def mesh_config() -> MeshConfig:
    accessible = settings.MESHLENS_ACCESSIBLE_NAMESPACES
    return MeshConfig(
        cluster_name=settings.MESHLENS_CLUSTER_NAME,
        accessible=frozenset(accessible) if accessible else None,
        query_scope=tuple(settings.MESHLENS_QUERY_SCOPE),
        dialects=tuple(settings.MESHLENS_DIALECTS),
        default_namespace=settings.MESHLENS_TRACES_NAMESPACE,
    )


def health_config() -> HealthConfig:
    """The tolerance rules edited in the admin, then Kiali's defaults for everything else."""
    from dashboard.models import HealthRule

    rules = [r.to_rule() for r in
             HealthRule.objects.filter(enabled=True).prefetch_related("tolerances")]
    return HealthConfig((*rules, Rule(DEFAULT_TOLERANCES)))


def counted(build: Callable[[], nx.MultiDiGraph],
            serialise: Callable[[nx.MultiDiGraph], dict[str, Any]],
            record: bool = True) -> dict[str, Any]:
    """build() then serialise() it, with the collector held off; with `record`, the build
    is counted in /metrics (in Redis: the command line goes without)."""
    with gc_paused():
        start = time.perf_counter()
        try:
            g = build()
        except PrometheusError:
            if record:
                metrics.build_failed()
            raise
        built = time.perf_counter()
        payload = serialise(g)
        end = time.perf_counter()
        if record:
            metrics.record_build(g.graph.get("timings"), end - built, end - start)
        return payload


def graph_payload(options: GraphOptions,
                  previous: Mapping[str, Mapping[str, float]] | None = None,
                  record: bool = True) -> dict[str, Any]:
    """The /api/v1/graph body for these options (queries Prometheus). A big graph comes
    laid out (node `position`s); `previous`, the positions of the scope's last graph, keeps
    its nodes where they were."""
    health = health_config()

    def serialise(g: nx.MultiDiGraph) -> dict[str, Any]:
        payload = to_config(g)
        add_positions(payload["elements"], previous)
        return payload

    return counted(lambda: build_graph(prometheus(), options, mesh_config(), health),
                   serialise, record)


def namespaces(lookback_s: int = 3600, timeout: float | None = None) -> list[str]:
    """Namespaces seen in the telemetry of the configured dialects within the last hour,
    within the query scope."""
    now = int(time.time())
    prom = prometheus(timeout)
    mesh = mesh_config()
    scope = mesh.scope()
    found: set[str] = set()
    for name in mesh.dialects:
        discovery = dialect_named(name).discovery
        series = [scope.selector(metric) for metric in discovery.metrics]
        for label in discovery.labels:
            found.update(prom.label_values(label, series, now - lookback_s, now))
        if discovery.default_when_unnamed:
            unnamed = [scope.selector(metric, *(eq(label, "") for label in discovery.labels))
                       for metric in discovery.metrics]
            if prom.label_values("__name__", unnamed, now - lookback_s, now):
                found.add(mesh.default_namespace)
    found.discard("unknown")
    return sorted(found)


def kiali_payload(request: KialiRequest) -> dict[str, Any]:
    """The body Kiali's graph API would give for this request: Kiali's route reads Istio
    telemetry, whatever dialects are configured."""
    health = health_config()
    mesh = replace(mesh_config(), dialects=(ISTIO.name,))

    def build() -> nx.MultiDiGraph:
        if request.target is None:
            return build_graph(prometheus(), request.options, mesh, health)
        return build_node_graph(prometheus(), request.options, request.target, mesh, health)

    return counted(build, lambda g: to_config(g, extras=False, edge_health=request.health))
