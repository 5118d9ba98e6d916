"""How rows of Istio telemetry become Kiali's traffic maps, merged.

A row is (key, value): the key joins the row's label values (graph/prometheus.py). What a
distinct key means (its nodes, the injected service node, its series, the rates it adds
to: a RowPlan) is worked out once, the first time the key is seen, and kept across builds
as a row of numbers (graph/sources/istio/plan_tables.py): a mesh sends the same keys tick
after tick. What a build's plans make, values
aside (the namespace maps' nodes and edges, which rows count, what Kiali's merge keeps),
is a graph/cells.py Layout (namespace_maps.py), kept while the keys stay the same; the
values are then counted into it with numpy.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graph import cells, ids, traffic
from graph.prometheus import KEY_SEPARATOR, read
from graph.sources.istio.labels import EdgeLabels, RequestLabels, TcpLabels, edge_of
from graph.sources.istio.queries import REQUESTS

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
    node_type: str
    labels: NodeLabels
    fields: dict[str, Any]  # traffic.node_fields without "md": copied into each build's map
    egress: bool  # Passthrough or BlackHole cluster: md starts with isEgressCluster

    @classmethod
    def of(cls, node: ids.NodeId, labels: NodeLabels, graph_type: str) -> NodeSpec:
        return node_spec(node, labels, graph_type)


@lru_cache(maxsize=1 << 16)
def node_spec(node: ids.NodeId, labels: NodeLabels, graph_type: str) -> NodeSpec:
    """One NodeSpec per node, shared by every edge of the node (memory: a big mesh has
    tens of thousands of edges and a few thousand nodes)."""
    cluster, service_ns, service, workload_ns, workload, app, version = labels
    namespace = workload_ns if ids.is_ok(workload_ns) else service_ns
    fields = traffic.node_fields(node.node_type, cluster, namespace, workload, app, version,
                                 service, graph_type)
    return NodeSpec(node.id, node.node_type, labels, fields, bool(fields.pop("md")))


@dataclass(frozen=True, slots=True)
class RowEdge:
    """What every row with the same edge labels shares: its nodes, the injected service
    node if any, and the destination service for destServices.

    Memory: a 10,000-workload mesh has 100,000 of these, kept across builds. The nodes'
    labels and ids are read from the path's NodeSpecs (one per node, shared by all its
    edges), not held again per edge: that held 600 bytes more per edge (60 MB)."""

    host: str
    path: tuple[NodeSpec, ...]  # caller [-> service] -> destination
    # The destination service, for destServices; None when it names none.
    dest_service: tuple[str, str, str] | None

    @property
    def ends(self) -> Endpoints:
        return Endpoints(self.path[0].labels, self.path[-1].labels)

    @property
    def source_node(self) -> ids.NodeId:
        return node_of(self.path[0])

    @property
    def dest_node(self) -> ids.NodeId:
        return node_of(self.path[-1])

    @property
    def service_node(self) -> ids.NodeId | None:
        return node_of(self.path[1]) if len(self.path) == 3 else None

    @property
    def service_id(self) -> str | None:
        return self.path[1].id if len(self.path) == 3 else None

    @property
    def key(self) -> str:
        """The two ends' labels in one string."""
        return KEY_SEPARATOR.join((*self.path[0].labels, *self.path[-1].labels))


def node_of(spec: NodeSpec) -> ids.NodeId:
    return ids.NodeId(spec.id, spec.node_type)


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
    dest_service = ends.dest[:3]
    return RowEdge(edge.destination_service, tuple(path),
                   dest_service if ids.is_ok(dest_service[2]) else None)


@dataclass(frozen=True, slots=True, eq=False)
class RowPlan:
    """What a row adds, worked out once per distinct row key (plans compare by identity:
    a build's list of plans is compared with the last build's to reuse its Layout).

    `series` is Kiali's time-series hash: rows with equal series (both reporters' copies)
    count once. `hop` names the edges a row is drawn on (same ends, same protocol): one
    interned string per edge and protocol, whose hash Python keeps. The series is a tuple
    of such shared strings (a build hashes it once per row; a string of its own per plan
    would cost 300 bytes each, at 10,000 workloads 40 MB). `template` numbers the row's
    contributions (graph/cells.py's Registry)."""

    edge: RowEdge
    source_namespace: str  # the row's source_workload_namespace label: outbound routing
    dest_namespace: str  # its destination_workload_namespace label: inbound routing
    series: tuple[str, ...]
    hop: str
    protocol: str
    template: int
    host_slot: int  # the slot of its response's host: the template's OWN slot


@dataclass(frozen=True, slots=True, eq=False)
class Dropped:
    """The plan of a row Kiali drops: routed nowhere, counted nowhere. One instance,
    DROPPED, compared by identity: unpickled, it is that one again."""

    source_namespace: str = ""
    dest_namespace: str = ""
    series: tuple[str, ...] = ()
    hop: str = ""
    template: int = -1
    host_slot: int = -1

    def __reduce__(self) -> str:
        return "DROPPED"


DROPPED = Dropped()


def terms(path_length: int, protocol: str, code: str, flags: str,
          host: bool) -> tuple[cells.Term, ...]:
    """A row's contributions, in the order Kiali adds them, per hop caller -> [service ->]
    destination: the source's outbound rate, the destination's inbound rates, the edge's
    rates, then its response (code, flags, host: the row's own slot). A term names its
    copy by its place in the row's copies: the path's nodes, then its edges."""
    out_key, dest_keys, edge_keys = traffic.rate_keys(protocol, code)
    responses = RESPONSES_KEY[protocol]
    code = code or "-"
    out: list[cells.Term] = []
    for hop in range(path_length - 1):
        source, dest, edge = hop, hop + 1, path_length + hop
        out.append((source, (cells.RATE, out_key)))
        out += [(dest, (cells.RATE, key)) for key in dest_keys]
        out += [(edge, (cells.RATE, key)) for key in edge_keys]
        out.append((edge, (cells.CODE, responses, code)))
        if flags:
            out.append((edge, (cells.FLAG, responses, code, flags)))
        if host:
            out.append((edge, cells.OWN))
    return tuple(out)


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
    shape = (len(edge.path), protocol, counted, flags, bool(edge.host))
    template = cells.REGISTRY.template(shape, lambda: terms(*shape))
    host = cells.REGISTRY.slot((cells.HOST, RESPONSES_KEY[protocol], counted or "-",
                                edge.host)) if edge.host else -1
    return RowPlan(edge, edge_labels.source_workload_namespace,
                   edge_labels.destination_workload_namespace, series, hop, protocol, template,
                   host)


RESPONSES_KEY = {protocol: f"{protocol}Responses" for protocol in traffic.PROTOCOLS}


class PlanCache:
    """What rows mean by row key (graph/sources/istio/edge_keys.py's resolved appender
    rows), per table key, kept across builds (the same rows come back every refresh) and
    dropped whole when they grow past `limit`. What is made again after a drop equals the
    old, so a build going on meanwhile is not disturbed. (The traffic rows' plans are kept
    as numbers: graph/sources/istio/plan_tables.py.)"""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tables: dict[tuple[object, ...], dict[str, Any]] = {}
        self.size = 0
        self.changed = 0  # grows with every plan made and every drop (memory.Kept)

    def table(self, key: tuple[object, ...]) -> dict[str, Any]:
        if self.size > self.limit:
            self.tables = {}
            self.size = 0
            self.changed += 1
        return self.tables.setdefault(key, {})

    def counted(self, count: int) -> None:
        self.size += count
        self.changed += count

    def changes(self) -> int:
        return self.changed

    def state(self) -> object:
        return self.tables, self.size

    def restore(self, state: object) -> None:
        self.tables, self.size = state  # type: ignore[misc]


MISSING = object()
