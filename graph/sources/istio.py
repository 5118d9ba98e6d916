"""The Istio telemetry dialect: which queries to run, and how their rows become traffic.

Kiali reads, per namespace, (0) source-reported requests that never reached a workload,
(1) destination-reported inbound traffic and (2) source-reported outbound traffic, and
drops the duplicates that both reporters send. Meshlens asks the same questions with one
broad query per kind over all requested namespaces (a regex matcher) and splits the rows
per namespace here, which gives Kiali's graph at a fraction of the Prometheus cost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graph import ids, traffic
from graph.options import GraphOptions, MeshConfig, Rates
from graph.prometheus import Query, Row, joined_sum

REQUESTS = "istio_requests_total"
REQUEST_MESSAGES = "istio_request_messages_total"
RESPONSE_MESSAGES = "istio_response_messages_total"
TCP_SENT = "istio_tcp_sent_bytes_total"
TCP_RECEIVED = "istio_tcp_received_bytes_total"

EDGE_LABELS = (
    "source_cluster", "source_workload_namespace", "source_workload", "source_canonical_service",
    "source_canonical_revision", "destination_cluster", "destination_service_namespace",
    "destination_service", "destination_service_name", "destination_workload_namespace",
    "destination_workload", "destination_canonical_service", "destination_canonical_revision",
)
REQUEST_LABELS = EDGE_LABELS + (
    "request_protocol", "response_code", "grpc_response_status", "response_flags")
TCP_LABELS = ("app",) + EDGE_LABELS + ("response_flags",)

EGRESS_HOST = "istio-egressgateway.istio-system.svc.cluster.local"
BAD_SERVICE = re.compile(r"^\d+\.\d+\.\d+\.\d+(:\d+)?$")

# The three kinds of namespace query, in the order Kiali applies them.
UNSERVICED, INBOUND, OUTBOUND = "unserviced", "inbound", "outbound"


@dataclass(frozen=True)
class NamespaceQuery:
    metric: str
    kind: str
    query: Query


def metrics_for(options: GraphOptions) -> list[str]:
    rates = options.rates
    metrics = []
    if rates.http == "requests" or rates.grpc == "requests":
        metrics.append(REQUESTS)
    metrics += {"received": [RESPONSE_MESSAGES], "sent": [REQUEST_MESSAGES],
                "total": [REQUEST_MESSAGES, RESPONSE_MESSAGES]}.get(rates.grpc, [])
    # L4 telemetry is reported backwards (istio/istio#32399): "sent" reads received bytes.
    metrics += {"received": [TCP_SENT], "sent": [TCP_RECEIVED],
                "total": [TCP_RECEIVED, TCP_SENT]}.get(rates.tcp, [])
    return metrics


def labels_for(metric: str) -> tuple[str, ...]:
    if metric == REQUESTS:
        return REQUEST_LABELS
    if metric.startswith("istio_tcp"):
        return TCP_LABELS
    return EDGE_LABELS


def matcher(label: str, namespaces: Sequence[str]) -> str:
    if len(namespaces) == 1:
        return f'{label}="{namespaces[0]}"'
    return f'{label}=~"{"|".join(namespaces)}"'


def reporter(kind: str, rates: Rates) -> str:
    """Kiali's reporter matcher: with ambient telemetry, waypoints report too."""
    if rates.ambient in ("waypoint", "total"):
        return f'reporter=~"waypoint|{kind}"'
    return f'reporter="{kind}"'


def tcp_app_filter(rates: Rates) -> str:
    """TCP metrics: leave out ztunnel's own series unless ztunnel traffic is wanted."""
    return 'app!="ztunnel",' if rates.ambient in ("waypoint", "none") else ""


def promql(metric: str, selector: str, options: GraphOptions, mesh: MeshConfig) -> Query:
    """Kiali's rate query: sum by the metric's labels, idle edges dropped unless asked."""
    idle = "" if options.include_idle_edges else " > 0"
    labels = labels_for(metric)
    rates = joined_sum(f"rate({metric}{{{selector}}} [{options.duration}s])", labels)
    return Query(with_scope(f"round({rates}{idle},0.001)", mesh), labels, joined=True)


def with_scope(promql: str, mesh: MeshConfig) -> str:
    """Kiali's query scope: `label="value",` first in every selector."""
    if not mesh.query_scope:
        return promql
    scope = "".join(f'{name}="{value}",' for name, value in mesh.query_scope)
    return promql.replace("{", "{" + scope)


def namespace_queries(options: GraphOptions, mesh: MeshConfig) -> list[NamespaceQuery]:
    """The queries of a namespace graph over all of options.namespaces."""
    ns = options.namespaces
    ns_group = ns[0] if len(ns) == 1 else f"({'|'.join(ns)})"
    source, dest = reporter("source", options.rates), reporter("destination", options.rates)
    out = []
    for metric in metrics_for(options):
        app = tcp_app_filter(options.rates) if metric.startswith("istio_tcp") else ""
        selectors = {
            UNSERVICED: (
                f'{app}{source},destination_workload_namespace="unknown",'
                f'destination_workload="unknown",'
                f'destination_service=~"^.+\\\\.{ns_group}\\\\..+$"'
            ),
            INBOUND: f'{app}{dest},{matcher("destination_workload_namespace", ns)}',
            OUTBOUND: f'{app}{source},{matcher("source_workload_namespace", ns)}',
        }
        for kind, selector in selectors.items():
            out.append(NamespaceQuery(metric, kind, promql(metric, selector, options, mesh)))
    return out


def rows_by_namespace(query: NamespaceQuery, rows: Sequence[Row],
                      namespaces: Sequence[str]) -> dict[str, list[Row]]:
    """The rows of a broad query split as Kiali's per-namespace queries would return them,
    in one pass."""
    labels = query.query.labels
    out: dict[str, list[Row]] = {ns: [] for ns in namespaces}
    if query.kind in (INBOUND, OUTBOUND):
        i = labels.index("destination_workload_namespace" if query.kind == INBOUND
                         else "source_workload_namespace")
        for row in rows:
            bucket = out.get(row[0][i])
            if bucket is not None:
                bucket.append(row)
        return out
    src_ns = labels.index("source_workload_namespace")
    svc = labels.index("destination_service")
    for namespace in namespaces:
        host = re.compile(rf"^.+\.{re.escape(namespace)}\..+$")
        out[namespace] = [r for r in rows if r[0][src_ns] != namespace and host.match(r[0][svc])]
    return out


def response_code(protocol: str, code: str, grpc_status: str) -> str:
    """Kiali's backward-compatible code: "-" for no response, the gRPC status for gRPC."""
    if code == "0":
        return "-"
    if protocol != traffic.GRPC or traffic.is_http_error(code) or grpc_status == "":
        return code
    return grpc_status


def is_bad_source(cluster: str, cluster_ok: bool, ns: str, wl: str, app: str) -> bool:
    if ids.is_ok(ns) and not ids.is_ok(wl) and not ids.is_ok(app):
        return True
    return ids.is_ok(ns) and cluster_ok and not ids.is_ok(cluster)


def is_bad_dest(cluster: str, cluster_ok: bool, svc_ns: str, svc: str, svc_name: str,
                wl: str) -> bool:
    if (not ids.is_ok(wl) and ids.is_ok(svc) and svc == svc_name
            and BAD_SERVICE.match(svc_name)):
        return True
    return ids.is_ok(svc_ns) and cluster_ok and not ids.is_ok(cluster)


# (cluster, service namespace, service, workload namespace, workload, app, version): the
# arguments of ids.node_id and traffic.add_node, without the graph type.
NodeLabels = tuple[str, str, str, str, str, str, str]



@dataclass(frozen=True, slots=True)
class Endpoints:
    source: NodeLabels
    dest: NodeLabels

    def service(self) -> NodeLabels:
        """The labels of the destination's service node, as injected between the two."""
        cluster, namespace, name = self.dest[:3]
        return (cluster, namespace, name, "", "", "", "")


def endpoints(values: Sequence[str]) -> Endpoints | None:
    """Source and destination of a row's first thirteen values (istio.EDGE_LABELS), as the
    traffic builder reads them; None for the telemetry it drops."""
    (s_cl, s_ns, s_wl, s_app, s_ver, d_cl, d_svc_ns, d_svc, d_svc_name, d_wl_ns, d_wl, d_app,
     d_ver) = values[:13]
    source_cluster = s_cl or ids.UNKNOWN
    dest_cluster = d_cl or ids.UNKNOWN
    if is_bad_source(source_cluster, s_cl != "", s_ns, s_wl, s_app):
        return None
    if d_svc == EGRESS_HOST and d_svc == d_svc_name:
        dest_cluster, d_svc_ns, d_svc_name = source_cluster, "istio-system", "istio-egressgateway"
        d_wl_ns, d_wl, d_app, d_ver = ("istio-system", "istio-egressgateway",
                                       "istio-egressgateway", "latest")
    elif not ids.is_ok(dest_cluster) and ids.is_ok(source_cluster) and ids.is_ok(d_svc_ns):
        dest_cluster = source_cluster  # istio/istio#29373
    if is_bad_dest(dest_cluster, d_cl != "", d_svc_ns, d_svc, d_svc_name, d_wl):
        return None
    return Endpoints((source_cluster, s_ns, "", s_ns, s_wl, s_app, s_ver),
                     (dest_cluster, d_svc_ns, d_svc_name, d_wl_ns, d_wl, d_app, d_ver))


PASSTHROUGH = "PassthroughCluster"


def injects_service(service_name: str, dest_node_type: str) -> bool:
    """Whether a service node goes between caller and destination (Kiali's rule)."""
    return (ids.is_ok(service_name) and service_name != PASSTHROUGH
            and dest_node_type != ids.NODE_SERVICE)


@dataclass(frozen=True, slots=True)
class RowEdge:
    """What every row with the same thirteen edge labels shares: its nodes, the injected
    service node if any, and the destination service for destServices."""

    source: NodeLabels
    dest: NodeLabels
    source_id: str
    dest_id: str
    service_id: str | None
    host: str


def edge_nodes(ends: Endpoints, graph_type: str,
               inject: bool) -> tuple[ids.NodeId, ids.NodeId, ids.NodeId | None]:
    """The source, destination and (when one goes between them) service node of a row's
    endpoints; raises ids.NodeIdError for telemetry that names no node."""
    source = ids.node_id(*ends.source, graph_type)
    dest = ids.node_id(*ends.dest, graph_type)
    service = None
    if inject and injects_service(ends.dest[2], dest.node_type):
        service = ids.node_id(*ends.service(), graph_type)
    return source, dest, service


class TrafficBuilder:
    """Applies query rows to one namespace's traffic map, skipping duplicate series."""

    def __init__(self, options: GraphOptions) -> None:
        self.options = options
        self.graph_type = options.graph_type
        self.inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        self.g = traffic.TrafficMap()
        self.row_edges: dict[tuple[str, ...], RowEdge | None] = {}

    def apply(self, metric: str, rows: Iterable[Row]) -> None:
        protocol = traffic.TCP if metric.startswith("istio_tcp") else traffic.GRPC
        is_requests = metric == REQUESTS
        skip_grpc = is_requests and self.options.rates.grpc != "requests"
        skip_http = is_requests and self.options.rates.http != "requests"
        labels = labels_for(metric)
        offset = 1 if protocol == traffic.TCP and not is_requests else 0
        flags_at = labels.index("response_flags") if protocol == traffic.TCP else -1
        for values, value in rows:
            flags = ""
            code = ""
            if is_requests:
                protocol, raw_code, grpc_status, flags = values[13:17]
                if (skip_grpc and protocol == traffic.GRPC) or (
                        skip_http and protocol == traffic.HTTP):
                    continue
                if protocol not in (traffic.HTTP, traffic.GRPC):
                    continue
                code = response_code(protocol, raw_code, grpc_status)
            elif flags_at >= 0:
                flags = values[flags_at]
            key = values[offset:offset + 13]
            edge = self.row_edges.get(key, False)
            if edge is False:
                edge = self.row_edges[key] = self.resolve(key)
            if edge is not None:
                self.add(metric, protocol, value, code, flags, edge)

    def resolve(self, values: tuple[str, ...]) -> RowEdge | None:
        """The nodes of a row, added to the map; None for telemetry Kiali drops."""
        ends = endpoints(values)
        if ends is None:
            return None
        try:
            source, dest, service = edge_nodes(ends, self.graph_type, self.inject)
        except ids.NodeIdError:
            return None
        traffic.place_node(self.g, source, ends.source, self.graph_type)
        traffic.place_node(self.g, dest, ends.dest, self.graph_type)
        if service is not None:
            traffic.place_node(self.g, service, ends.service(), self.graph_type)
            self.g.nodes[service.id]["md"]["isInjected"] = True
        host = values[EDGE_LABELS.index("destination_service")]
        return RowEdge(ends.source, ends.dest, source.id, dest.id,
                       service.id if service else None, host)

    def add(self, metric: str, protocol: str, value: float, code: str, flags: str,
            edge: RowEdge) -> None:
        # Both reporters send the same series: count each (metric, source, destination,
        # code, flags, host) once per edge, as Kiali's time-series hash does.
        series = (metric, edge.source, edge.dest, code, flags, edge.host)
        dest_service = edge.dest[:3]
        if edge.service_id is not None:
            if self.add_edge(edge.source_id, edge.service_id, protocol, value, code, flags,
                             edge.host, series):
                self.add_dest_service(edge.service_id, dest_service)
                self.add_edge(edge.service_id, edge.dest_id, protocol, value, code, flags,
                              edge.host, series)
                self.add_dest_service(edge.dest_id, dest_service)
        elif self.add_edge(edge.source_id, edge.dest_id, protocol, value, code, flags, edge.host,
                           series):
            self.add_dest_service(edge.dest_id, dest_service)

    def add_edge(self, source_id: str, dest_id: str, protocol: str, value: float, code: str,
                 flags: str, host: str, series: tuple[object, ...]) -> bool:
        edge = self.g.edge_data(source_id, dest_id, protocol)
        if series in edge["ts_hashes"]:
            return False  # the other reporter's copy of a series already counted
        edge["ts_hashes"].add(series)
        nodes = self.g.nodes
        traffic.add_traffic(nodes[source_id]["md"], nodes[dest_id]["md"], edge["md"], protocol,
                            value, code, flags, host)
        return True

    def add_dest_service(self, node_id: str, service: tuple[str, ...]) -> None:
        if ids.is_ok(service[2]):
            self.g.nodes[node_id]["md"].setdefault("destServices", {})[service] = True


def namespace_traffic(
    options: GraphOptions, queries: Sequence[NamespaceQuery], results: Sequence[list[Row]],
) -> dict[str, traffic.TrafficMap]:
    """One traffic map per requested namespace, built as Kiali builds them."""
    split = [rows_by_namespace(q, rows, options.namespaces)
             for q, rows in zip(queries, results, strict=True)]
    maps = {}
    for namespace in options.namespaces:
        builder = TrafficBuilder(options)
        for query, by_namespace in zip(queries, split, strict=True):
            builder.apply(query.metric, by_namespace[namespace])
        maps[namespace] = builder.g
    return maps
