"""How rows of Istio telemetry become traffic maps, as Kiali builds them.

A row is (key, value): the key joins the row's label values (graph/prometheus.py). What a
distinct key means (its nodes, the injected service node, its series, the rates it adds
to: a RowPlan) is worked out once, the first time the key is seen, and kept across builds
(PLANS): a mesh sends the same keys tick after tick. A build then does, per row, one
lookup by the key string, the duplicate check, and the additions; the structure of a
namespace map (nodes and edges) is placed once per hop and build.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graph import ids, traffic
from graph.options import GraphOptions
from graph.prometheus import KEY_SEPARATOR, Row, read
from graph.sources.dialect import TrafficQuery
from graph.sources.istio.labels import EdgeLabels, RequestLabels, TcpLabels, edge_of
from graph.sources.istio.queries import INBOUND, NODE, OUTBOUND, REQUESTS

EGRESS_HOST = "istio-egressgateway.istio-system.svc.cluster.local"
BAD_SERVICE = re.compile(r"^\d+\.\d+\.\d+\.\d+(:\d+)?$")
PASSTHROUGH = "PassthroughCluster"


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


def endpoints(edge: EdgeLabels) -> Endpoints | None:
    """Source and destination of a row's edge labels, as the traffic builder reads them;
    None for the telemetry it drops."""
    source_cluster = edge.source_cluster or ids.UNKNOWN
    dest_cluster = edge.destination_cluster or ids.UNKNOWN
    s_ns, s_wl, s_app = (edge.source_workload_namespace, edge.source_workload,
                         edge.source_canonical_service)
    d_svc, d_svc_ns, d_svc_name = (edge.destination_service, edge.destination_service_namespace,
                                   edge.destination_service_name)
    d_wl_ns, d_wl, d_app, d_ver = (edge.destination_workload_namespace, edge.destination_workload,
                                   edge.destination_canonical_service,
                                   edge.destination_canonical_revision)
    if is_bad_source(source_cluster, edge.source_cluster != "", s_ns, s_wl, s_app):
        return None
    if d_svc == EGRESS_HOST and d_svc == d_svc_name:
        dest_cluster, d_svc_ns, d_svc_name = source_cluster, "istio-system", "istio-egressgateway"
        d_wl_ns, d_wl, d_app, d_ver = ("istio-system", "istio-egressgateway",
                                       "istio-egressgateway", "latest")
    elif not ids.is_ok(dest_cluster) and ids.is_ok(source_cluster) and ids.is_ok(d_svc_ns):
        dest_cluster = source_cluster  # istio/istio#29373
    if is_bad_dest(dest_cluster, edge.destination_cluster != "", d_svc_ns, d_svc, d_svc_name,
                   d_wl):
        return None
    return Endpoints(
        (source_cluster, s_ns, "", s_ns, s_wl, s_app, edge.source_canonical_revision),
        (dest_cluster, d_svc_ns, d_svc_name, d_wl_ns, d_wl, d_app, d_ver))


def injects_service(service_name: str, dest_node_type: str) -> bool:
    """Whether a service node goes between caller and destination (Kiali's rule)."""
    return (ids.is_ok(service_name) and service_name != PASSTHROUGH
            and dest_node_type != ids.NODE_SERVICE)


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node as the traffic map holds it, worked out once: its id and identity fields."""

    id: str
    labels: NodeLabels
    fields: dict[str, Any]  # traffic.node_fields without "md": copied into each build's map
    egress: bool  # Passthrough or BlackHole cluster: md starts with isEgressCluster

    @classmethod
    def of(cls, node: ids.NodeId, labels: NodeLabels, graph_type: str) -> NodeSpec:
        return node_spec(node, labels, graph_type)

    def place(self, g: traffic.TrafficMap) -> traffic.Metadata:
        """Add the node to the map unless it is there; return its metadata."""
        n = g.nodes.get(self.id)
        if n is None:
            md: traffic.Metadata = {"isEgressCluster": True} if self.egress else {}
            g.nodes[self.id] = n = {**self.fields, "md": md}
            g.out[self.id] = {}
        return n["md"]  # type: ignore[no-any-return]


@lru_cache(maxsize=1 << 16)
def node_spec(node: ids.NodeId, labels: NodeLabels, graph_type: str) -> NodeSpec:
    """One NodeSpec per node, shared by every edge of the node (memory: a big mesh has
    tens of thousands of edges and a few thousand nodes)."""
    cluster, service_ns, service, workload_ns, workload, app, version = labels
    namespace = workload_ns if ids.is_ok(workload_ns) else service_ns
    fields = traffic.node_fields(node.node_type, cluster, namespace, workload, app, version,
                                 service, graph_type)
    return NodeSpec(node.id, labels, fields, bool(fields.pop("md")))


@dataclass(frozen=True, slots=True)
class RowEdge:
    """What every row with the same edge labels shares: its nodes, the injected service
    node if any, and the destination service for destServices."""

    ends: Endpoints
    source_node: ids.NodeId
    dest_node: ids.NodeId
    service_node: ids.NodeId | None
    host: str
    key: str  # the two ends' labels in one string (strings keep their hash: fast keys)
    path: tuple[NodeSpec, ...]  # caller [-> service] -> destination

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


@lru_cache(maxsize=1 << 18)
def row_edge(edge: EdgeLabels, graph_type: str, inject: bool) -> RowEdge | None:
    """The nodes a row's edge labels name; None for telemetry Kiali drops. Cached across
    builds: a mesh sends the same edges tick after tick."""
    ends = endpoints(edge)
    if ends is None:
        return None
    try:
        source, dest, service = edge_nodes(ends, graph_type, inject)
    except ids.NodeIdError:
        return None
    path = [NodeSpec.of(source, ends.source, graph_type)]
    if service is not None:
        path.append(NodeSpec.of(service, ends.service(), graph_type))
    path.append(NodeSpec.of(dest, ends.dest, graph_type))
    return RowEdge(ends, source, dest, service, edge.destination_service,
                   KEY_SEPARATOR.join((*ends.source, *ends.dest)), tuple(path))


@dataclass(frozen=True, slots=True)
class RowPlan:
    """What a row adds, worked out once per distinct row key.

    `series` is Kiali's time-series hash: rows with equal series (both reporters' copies)
    count once. `hop` names the edges a row is drawn on (same ends, same protocol): one
    interned string per edge and protocol, whose hash Python keeps. The series is a tuple
    of such shared strings (a build hashes it once per row; a string of its own per plan
    would cost 300 bytes each, at 10,000 workloads 40 MB)."""

    edge: RowEdge
    source_namespace: str  # the row's source_workload_namespace label: outbound routing
    dest_namespace: str  # its destination_workload_namespace label: inbound routing
    series: tuple[str, ...]
    hop: str
    protocol: str
    out_key: str  # the rate the source adds to
    dest_keys: tuple[str, ...]  # the rates the destination adds to
    edge_keys: tuple[str, ...]  # the rates the edge adds to
    responses_key: str
    code: str
    flags: str


def plan_row(metric: str, key: str, graph_type: str, inject: bool,
             rates_http: str, rates_grpc: str) -> RowPlan | None:
    """What a row adds; None for a row Kiali drops (or one whose key cannot be read)."""
    code = flags = ""
    labels: RequestLabels | TcpLabels | EdgeLabels | None
    if metric == REQUESTS:
        labels = request = read(RequestLabels, key)
        if request is None:
            return None
        protocol = request.request_protocol
        if protocol not in (traffic.HTTP, traffic.GRPC) or (
                protocol == traffic.GRPC and rates_grpc != "requests") or (
                protocol == traffic.HTTP and rates_http != "requests"):
            return None
        code = response_code(protocol, request.response_code, request.grpc_response_status)
        flags = request.response_flags
    elif metric.startswith("istio_tcp"):
        labels = tcp = read(TcpLabels, key)
        if tcp is None:
            return None
        protocol, flags = traffic.TCP, tcp.response_flags
    else:
        labels = read(EdgeLabels, key)
        protocol = traffic.GRPC
    if labels is None:
        return None
    edge_labels = edge_of(labels)
    edge = row_edge(edge_labels, graph_type, inject)
    if edge is None:
        return None
    hop = sys.intern(f"{edge.key}{KEY_SEPARATOR}{protocol}")
    # Kiali's time-series hash (metric, source, destination, code, flags, host), kept
    # per edge: one per protocol.
    series = (metric, hop, code, flags, edge.host)
    counted = "-" if protocol == traffic.TCP else code
    out_key, dest_keys, edge_keys = traffic.rate_keys(protocol, counted)
    return RowPlan(edge, edge_labels.source_workload_namespace,
                   edge_labels.destination_workload_namespace, series, hop, protocol, out_key,
                   dest_keys, edge_keys, RESPONSES_KEY[protocol], counted or "-", flags)


RESPONSES_KEY = {protocol: f"{protocol}Responses" for protocol in traffic.PROTOCOLS}


class PlanCache:
    """Row plans by row key, per metric and graph options, kept across builds (the same
    rows come back every refresh) and dropped whole when they grow past `limit`. The
    bench's 1,000-workload mesh has 13,000 distinct rows, its 10,000-workload mesh 124,000:
    the limit must hold a whole scope, or every build starts cold (at 10,000 workloads a
    cold build costs a second more). A plan made again after a drop equals the old one, so
    a build going on meanwhile is not disturbed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tables: dict[tuple[object, ...], dict[str, Any]] = {}
        self.size = 0

    def table(self, key: tuple[object, ...]) -> dict[str, Any]:
        if self.size > self.limit:
            self.tables = {}
            self.size = 0
        return self.tables.setdefault(key, {})

    def counted(self, count: int) -> None:
        self.size += count


PLANS = PlanCache(limit=500_000)
MISSING = object()


class TrafficBuilder:
    """One namespace's traffic map, from row plans, skipping duplicate series."""

    def __init__(self, options: GraphOptions) -> None:
        self.graph_type = options.graph_type
        self.g = traffic.TrafficMap()
        # Series already counted (both reporters send each one).
        self.seen: set[tuple[str, ...]] = set()
        # hop -> the hops a row's traffic is counted on:
        # (source md, destination md, edge md) for caller -> [service ->] destination.
        self.hops: dict[str, tuple[tuple[traffic.Metadata, ...], ...]] = {}

    def add(self, plan: RowPlan, value: float) -> None:
        series = plan.series
        if series in self.seen:
            return  # the other reporter's copy of a series already counted
        self.seen.add(series)
        hops = self.hops.get(plan.hop)
        if hops is None:
            hops = self.hops[plan.hop] = self.place(plan.edge, plan.protocol)
        if value <= 0:
            return
        out_key, dest_keys, edge_keys = plan.out_key, plan.dest_keys, plan.edge_keys
        responses_key, code, flags, host = (plan.responses_key, plan.code, plan.flags,
                                            plan.edge.host)
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

    def place(self, edge: RowEdge, protocol: str) -> tuple[tuple[traffic.Metadata, ...], ...]:
        """Add the edge's nodes and edges (of this protocol) to the map, and its
        destination service; return the hops its rows are counted on."""
        g = self.g
        path = edge.path
        # Placed in Kiali's order (source, destination, service): the map keeps it.
        source_md, dest_md = path[0].place(g), path[-1].place(g)
        mds = [source_md, dest_md]
        dest_service = edge.ends.dest[:3]
        names_service = ids.is_ok(dest_service[2])
        if len(path) == 3:
            service_md = path[1].place(g)
            mds.insert(1, service_md)
            service_md["isInjected"] = True
            if names_service:
                service_md.setdefault("destServices", {})[dest_service] = True
        if names_service:
            dest_md.setdefault("destServices", {})[dest_service] = True
        return tuple((mds[i], mds[i + 1],
                      g.edge_data(path[i].id, path[i + 1].id, protocol)["md"])
                     for i in range(len(path) - 1))


class NamespaceTraffic:
    """One traffic map per namespace, built as Kiali builds them; each query's rows are
    applied in the order of the query plan, each row to the maps its query kind gives:
    inbound rows to their destination's namespace, outbound rows to their source's,
    unserviced rows to the namespaces their destination service is in (but not their
    source's), node rows to the one map there is."""

    def __init__(self, options: GraphOptions, namespaces: Sequence[str] | None = None) -> None:
        self.options = options
        self.namespaces = tuple(options.namespaces if namespaces is None else namespaces)
        self.builders = {ns: TrafficBuilder(options) for ns in self.namespaces}
        self.hosts = {ns: re.compile(rf"^.+\.{re.escape(ns)}\..+$") for ns in self.namespaces}

    def apply(self, query: TrafficQuery, rows: Iterable[Row]) -> None:
        options, rates = self.options, self.options.rates
        inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        args = (options.graph_type, inject, rates.http, rates.grpc)
        metric = query.metric
        table = PLANS.table((metric, *args))
        builders = self.builders
        only = next(iter(builders.values())) if len(builders) == 1 else None
        kind, inbound = query.kind, query.kind == INBOUND
        routed = kind in (INBOUND, OUTBOUND)
        made = 0
        for key, value in rows:
            plan = table.get(key, MISSING)
            if plan is MISSING:
                plan = table[key] = plan_row(metric, key, *args)
                made += 1
            if plan is None:
                continue
            if routed:
                builder = builders.get(plan.dest_namespace if inbound else plan.source_namespace)
                if builder is not None:
                    builder.add(plan, value)
            elif kind == NODE:
                only.add(plan, value)  # type: ignore[union-attr]
            else:
                for ns in self.unserviced_namespaces(plan):
                    builders[ns].add(plan, value)
        PLANS.counted(made)

    def unserviced_namespaces(self, plan: RowPlan) -> list[str]:
        return [ns for ns in self.namespaces if plan.source_namespace != ns
                and self.hosts[ns].match(plan.edge.host)]

    def maps(self) -> dict[str, traffic.TrafficMap]:
        return {ns: builder.g for ns, builder in self.builders.items()}
