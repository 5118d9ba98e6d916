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
from functools import lru_cache

from graph import ids, traffic
from graph.options import GraphOptions, MeshConfig, Rates
from graph.prometheus import KEY_SEPARATOR, Query, Row, joined_sum
from graph.promql import Matcher, alternation, any_of, eq, matches, ne

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


def reporter(kind: str, rates: Rates) -> Matcher:
    """Kiali's reporter matcher: with ambient telemetry, waypoints report too."""
    if rates.ambient in ("waypoint", "total"):
        return any_of("reporter", ("waypoint", kind))
    return eq("reporter", kind)


def tcp_app_filter(rates: Rates) -> tuple[Matcher, ...]:
    """TCP metrics: leave out ztunnel's own series unless ztunnel traffic is wanted."""
    return (ne("app", "ztunnel"),) if rates.ambient in ("waypoint", "none") else ()


def promql(metric: str, matchers: Sequence[Matcher], options: GraphOptions,
           mesh: MeshConfig) -> Query:
    """Kiali's rate query: sum by the metric's labels, idle edges dropped unless asked."""
    idle = "" if options.include_idle_edges else " > 0"
    labels = labels_for(metric)
    selector = mesh.scope().selector(metric, *matchers)
    rates = joined_sum(f"rate({selector} [{options.duration}s])", labels)
    return Query(f"round({rates}{idle},0.001)", labels, joined=True)


def namespace_queries(options: GraphOptions, mesh: MeshConfig) -> list[NamespaceQuery]:
    """The queries of a namespace graph over all of options.namespaces."""
    ns = options.namespaces
    source, dest = reporter("source", options.rates), reporter("destination", options.rates)
    out = []
    for metric in metrics_for(options):
        app = tcp_app_filter(options.rates) if metric.startswith("istio_tcp") else ()
        selectors = {
            UNSERVICED: (
                *app, source, eq("destination_workload_namespace", "unknown"),
                eq("destination_workload", "unknown"),
                matches("destination_service", rf"^.+\.{alternation(ns)}\..+$"),
            ),
            INBOUND: (*app, dest, any_of("destination_workload_namespace", ns)),
            OUTBOUND: (*app, source, any_of("source_workload_namespace", ns)),
        }
        for kind, matchers in selectors.items():
            out.append(NamespaceQuery(metric, kind, promql(metric, matchers, options, mesh)))
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

    ends: Endpoints
    source_node: ids.NodeId
    dest_node: ids.NodeId
    service_node: ids.NodeId | None
    host: str
    key: str  # the two ends' labels in one string (strings keep their hash: fast keys)

    @property
    def service_id(self) -> str | None:
        return self.service_node.id if self.service_node else None


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


@lru_cache(maxsize=1 << 16)
def row_edge(values: tuple[str, ...], graph_type: str, inject: bool) -> RowEdge | None:
    """The nodes a row's thirteen edge labels (EDGE_LABELS) name; None for telemetry Kiali
    drops. Cached across builds: a mesh sends the same edges tick after tick."""
    ends = endpoints(values)
    if ends is None:
        return None
    try:
        source, dest, service = edge_nodes(ends, graph_type, inject)
    except ids.NodeIdError:
        return None
    return RowEdge(ends, source, dest, service, values[EDGE_LABELS.index("destination_service")],
                   KEY_SEPARATOR.join((*ends.source, *ends.dest)))


# What a row adds, worked out once per distinct row: (edge, series, hop, protocol, the
# rates its source, destination and edge add to, its responses key, code, flags, host).
# The series is Kiali's time-series hash: rows with equal series (both reporters' copies)
# count once. The hop names the edges a row is drawn on (same ends, same protocol). Both
# are strings, whose hashes Python keeps.
RowPlan = tuple[RowEdge, str, str, str, str, tuple[str, ...], tuple[str, ...], str, str, str,
                str]


class PlanCache:
    """Row plans by row values, per metric and graph options, kept across builds (the
    same rows come back every refresh) and dropped whole when they grow past `limit`
    (about 2 kB each: the bench's 1,000-workload mesh has 13,000 distinct rows). A plan
    made again after a drop equals the old one, so a build going on meanwhile is not
    disturbed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tables: dict[tuple[object, ...], dict[tuple[str, ...], RowPlan | None]] = {}
        self.size = 0

    def table(self, key: tuple[object, ...]) -> dict[tuple[str, ...], RowPlan | None]:
        if self.size > self.limit:
            self.tables = {}
            self.size = 0
        return self.tables.setdefault(key, {})

    def counted(self, count: int) -> None:
        self.size += count


PLANS = PlanCache(limit=100_000)


class TrafficBuilder:
    """Applies query rows to one namespace's traffic map, skipping duplicate series."""

    def __init__(self, options: GraphOptions) -> None:
        self.options = options
        self.graph_type = options.graph_type
        self.inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        self.g = traffic.TrafficMap()
        # Series already counted (both reporters send each one).
        self.seen: set[str] = set()
        # hop -> the hops a row's traffic is counted on:
        # (source md, destination md, edge md) for caller -> [service ->] destination.
        self.hops: dict[str, tuple[tuple[traffic.Metadata, ...], ...]] = {}

    def apply(self, metric: str, rows: Iterable[Row]) -> None:
        rates = self.options.rates
        table = PLANS.table((metric, self.graph_type, self.inject, rates.http, rates.grpc))
        seen, all_hops = self.seen, self.hops
        made = 0
        for values, value in rows:
            plan = table.get(values, False)
            if plan is False:
                plan = table[values] = self.plan(metric, values)
                made += 1
            if plan is None:
                continue
            edge, series, hop, protocol, out_key, dest_keys, edge_keys, responses_key, code, \
                flags, host = plan
            if series in seen:
                continue  # the other reporter's copy of a series already counted
            seen.add(series)
            hops = all_hops.get(hop)
            if hops is None:
                hops = all_hops[hop] = self.place(edge, protocol)
            if value <= 0:
                continue
            for source_md, dest_md, edge_md in hops:
                source_md[out_key] = source_md.get(out_key, 0.0) + value
                for key in dest_keys:
                    dest_md[key] = dest_md.get(key, 0.0) + value
                for key in edge_keys:
                    edge_md[key] = edge_md.get(key, 0.0) + value
                responses = edge_md.get(responses_key)
                if responses is None:
                    responses = edge_md[responses_key] = {}
                detail = responses.get(code)
                if detail is None:
                    detail = responses[code] = {"flags": {}, "hosts": {}}
                if flags:
                    by_flag = detail["flags"]
                    by_flag[flags] = by_flag.get(flags, 0.0) + value
                if host:
                    by_host = detail["hosts"]
                    by_host[host] = by_host.get(host, 0.0) + value
        PLANS.counted(made)

    def plan(self, metric: str, values: tuple[str, ...]) -> RowPlan | None:
        """What a row adds; None for a row Kiali drops."""
        is_requests = metric == REQUESTS
        code = flags = ""
        if is_requests:
            protocol, raw_code, grpc_status, flags = values[13:17]
            rates = self.options.rates
            if protocol not in (traffic.HTTP, traffic.GRPC) or (
                    protocol == traffic.GRPC and rates.grpc != "requests") or (
                    protocol == traffic.HTTP and rates.http != "requests"):
                return None
            code = response_code(protocol, raw_code, grpc_status)
            key = values[:13]
        elif metric.startswith("istio_tcp"):
            protocol = traffic.TCP
            flags = values[TCP_LABELS.index("response_flags")]
            key = values[1:14]
        else:
            protocol = traffic.GRPC
            key = values[:13]
        edge = row_edge(key, self.graph_type, self.inject)
        if edge is None:
            return None
        hop = f"{edge.key}{KEY_SEPARATOR}{protocol}"
        # Kiali's time-series hash (metric, source, destination, code, flags, host), kept
        # per edge: one per protocol.
        series = KEY_SEPARATOR.join((metric, hop, code, flags, edge.host))
        counted = "-" if protocol == traffic.TCP else code
        out_key, dest_keys, edge_keys = traffic.rate_keys(protocol, counted)
        return (edge, series, hop, protocol, out_key, dest_keys, edge_keys,
                f"{protocol}Responses", counted or "-", flags, edge.host)

    def place(self, edge: RowEdge, protocol: str) -> tuple[tuple[traffic.Metadata, ...], ...]:
        """Add the edge's nodes and edges (of this protocol) to the map, and its
        destination service; return the hops its rows are counted on."""
        g = self.g
        ends = edge.ends
        traffic.place_node(g, edge.source_node, ends.source, self.graph_type)
        traffic.place_node(g, edge.dest_node, ends.dest, self.graph_type)
        dest_service = ends.dest[:3]
        names_service = ids.is_ok(dest_service[2])
        path = [edge.source_node.id]
        if edge.service_node is not None:
            traffic.place_node(g, edge.service_node, ends.service(), self.graph_type)
            service_md = g.nodes[edge.service_node.id]["md"]
            service_md["isInjected"] = True
            if names_service:
                service_md.setdefault("destServices", {})[dest_service] = True
            path.append(edge.service_node.id)
        path.append(edge.dest_node.id)
        if names_service:
            g.nodes[edge.dest_node.id]["md"].setdefault("destServices", {})[dest_service] = True
        nodes = g.nodes
        return tuple((nodes[u]["md"], nodes[v]["md"], g.edge_data(u, v, protocol)["md"])
                     for u, v in zip(path, path[1:], strict=False))


class NamespaceTraffic:
    """One traffic map per requested namespace, built as Kiali builds them; the queries'
    rows may be applied as they come, in the order of namespace_queries."""

    def __init__(self, options: GraphOptions) -> None:
        self.namespaces = options.namespaces
        self.builders = {ns: TrafficBuilder(options) for ns in options.namespaces}

    def apply(self, query: NamespaceQuery, rows: Sequence[Row]) -> None:
        for namespace, ns_rows in rows_by_namespace(query, rows, self.namespaces).items():
            self.builders[namespace].apply(query.metric, ns_rows)

    def maps(self) -> dict[str, traffic.TrafficMap]:
        return {ns: builder.g for ns, builder in self.builders.items()}


def namespace_traffic(
    options: GraphOptions, queries: Sequence[NamespaceQuery], results: Sequence[list[Row]],
) -> dict[str, traffic.TrafficMap]:
    """One traffic map per requested namespace, built as Kiali builds them."""
    built = NamespaceTraffic(options)
    for query, rows in zip(queries, results, strict=True):
        built.apply(query, rows)
    return built.maps()
