"""Kiali's graph API parameters, read into Meshlens options with Kiali's defaults.

/api/namespaces/graph and the node-graph routes take Kiali's names (graphType,
injectServiceNodes, boxBy, ...) and defaults (10m, service nodes off, every appender).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graph import ids
from graph.options import (
    RATES_GRPC,
    RATES_HTTP,
    RATES_TCP,
    RESPONSE_TIMES,
    THROUGHPUTS,
    GraphOptions,
    MeshConfig,
    OptionError,
    Rates,
    parse_bool,
    parse_box_by,
    parse_choice,
    parse_duration,
    parse_name,
    parse_namespaces,
    parse_query_time,
    shown,
)
from graph.sources.dialect import NodeTarget

AMBIENT = ("none", "total", "waypoint", "ztunnel")
GRAPH_TYPES = ("workload", "app", "versionedApp", "service")
KNOWN = {"namespaces", "graphType", "duration", "queryTime", "appenders", "injectServiceNodes",
         "includeIdleEdges", "boxBy", "responseTime", "throughputType", "rateHttp", "rateGrpc",
         "rateTcp", "ambientTraffic", "clusterName", "configVendor", "telemetryVendor",
         "refreshInterval"}


class ForbiddenNamespace(OptionError):
    """The request names a namespace the user may not see (Kiali answers 403)."""


@dataclass(frozen=True)
class KialiRequest:
    options: GraphOptions
    target: NodeTarget | None  # set for node graphs
    health: bool  # the health appender: healthStatus on edges


def parse(params: Mapping[str, str], path: Mapping[str, str], mesh: MeshConfig) -> KialiRequest:
    for name in params:
        if name not in KNOWN:
            raise OptionError(name, f"unknown parameter; Kiali's are {', '.join(sorted(KNOWN))}")
    graph_type = params.get("graphType") or ids.WORKLOAD
    if graph_type not in GRAPH_TYPES:
        raise OptionError("graphType",
                          f"{shown(graph_type)} is not one of {', '.join(GRAPH_TYPES)}")
    if path.get("app") and graph_type not in (ids.APP, ids.VERSIONED_APP):
        raise OptionError("graphType", f"{shown(graph_type)}: an app node graph needs app or "
                                       "versionedApp")
    segments = path_segments(path)
    namespaces = ((segments["namespace"],) if "namespace" in segments
                  else parse_namespaces(params.get("namespaces")))
    check_accessible(namespaces, mesh)
    appenders = None
    if "appenders" in params:
        appenders = frozenset(a.strip() for a in params["appenders"].split(",") if a.strip())
    options = GraphOptions(
        namespaces=namespaces, graph_type=graph_type,
        duration=parse_duration(params.get("duration"), "duration", default=600),
        query_time=parse_query_time(params.get("queryTime"), "queryTime"),
        inject_service_nodes=(graph_type == ids.SERVICE or parse_bool(
            params.get("injectServiceNodes"), "injectServiceNodes", False)),
        include_idle_edges=parse_bool(params.get("includeIdleEdges"), "includeIdleEdges", False),
        include_idle_nodes=appenders is None or "idleNode" in appenders,
        rates=Rates(
            http=parse_choice(params.get("rateHttp"), "rateHttp", RATES_HTTP, "requests"),
            grpc=parse_choice(params.get("rateGrpc"), "rateGrpc", RATES_GRPC, "requests"),
            tcp=parse_choice(params.get("rateTcp"), "rateTcp", RATES_TCP, "sent"),
            ambient=parse_choice(params.get("ambientTraffic"), "ambientTraffic", AMBIENT, "total"),
        ),
        box_by=parse_box_by(params.get("boxBy"), "boxBy"),
        response_time=parse_choice(params.get("responseTime"), "responseTime", RESPONSE_TIMES,
                                   "95"),
        throughput=parse_choice(params.get("throughputType"), "throughputType", THROUGHPUTS,
                                "response"),
        appenders=appenders,
    )
    # Checked on every route, though only node graphs read it: no parameter passes unchecked.
    cluster = params.get("clusterName")
    cluster = parse_name(cluster, "clusterName", "cluster") if cluster else ids.UNKNOWN
    target = None
    if any(segments.get(k) for k in ("workload", "app", "service")):
        target = NodeTarget(namespace=namespaces[0], workload=segments.get("workload", ""),
                            app=segments.get("app", ""), version=segments.get("version", ""),
                            service=segments.get("service", ""), cluster=cluster)
    return KialiRequest(options, target, health=appenders is None or "health" in appenders)


def path_segments(path: Mapping[str, str]) -> dict[str, str]:
    """The node-graph route's names (namespace, workload, service, app, version), each
    checked to be a Kubernetes name of its kind; the error names the segment."""
    return {kind: parse_name(value, kind, kind) for kind, value in path.items()}


def check_accessible(namespaces: tuple[str, ...], mesh: MeshConfig) -> None:
    if mesh.accessible is None:
        return
    visible = {ns for _, ns in mesh.accessible}
    for ns in namespaces:
        if ns not in visible:
            raise ForbiddenNamespace("namespaces", f"namespace {ns!r} is not accessible")
