"""How rows of Linkerd telemetry become traffic maps, one per requested namespace.

Each row is drawn through the nodes it names (nodes.py): an outbound row in the maps of
its caller's and its destination's namespaces (the maps are merged as Kiali merges them,
so each copy of a node holds the traffic of its own namespace); an unmeshed row in its
callee's. Rates, responses and health are Kiali's: a response's HTTP status, or gRPC
status, is its code. A TCP row is drawn only where the same caller has no HTTP or gRPC
edge: Linkerd counts the bytes of every connection, HTTP ones too, and an HTTP edge
doubled by a TCP one would say nothing new.

The share of each edge's traffic on mutual TLS (`tls="true"`) is set as `isMTLS`, as the
Istio dialect's security appender sets it: the rows that carry the rates carry the TLS
label too, so no query of its own is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graph import ids, traffic
from graph.options import GraphOptions
from graph.prometheus import Row, read
from graph.sources.linkerd import nodes
from graph.sources.linkerd.labels import (
    PodLabels,
    RequestLabels,
    TcpLabels,
    UnmeshedLabels,
)
from graph.sources.linkerd.queries import (
    OUTBOUND,
    TCP_OUTBOUND,
    TCP_READ,
    TCP_UNMESHED,
    TCP_WRITE,
    UNMESHED,
    WORKLOADS,
    LinkerdQuery,
)

EdgeKey = tuple[str, str, str]  # source id, destination id, protocol
# (namespace, workload, protocol, code or TCP byte direction): a callee's traffic by kind
Callee = tuple[str, str, str, str]
# The part of an unmeshed row that outbound rows without mTLS must leave for it to be drawn:
# the two proxies' counts of the same requests differ by a little (scraped apart).
UNMESHED_SHARE = 0.01
# Which bytes a TCP counter holds: the caller's proxy writes what the caller sends, the
# callee's proxy reads it.
SENT = {(TCP_OUTBOUND, TCP_WRITE): "sent", (TCP_OUTBOUND, TCP_READ): "received",
        (TCP_UNMESHED, TCP_READ): "sent", (TCP_UNMESHED, TCP_WRITE): "received"}


def response_of(status: str, grpc_status: str, classification: str) -> tuple[str, str]:
    """(protocol, code) of a response: gRPC when it has a gRPC status, whose code is then
    that status (or the HTTP status, if that is an error, as Kiali reads Istio's). No status,
    or one Linkerd classified a failure though it says success (a stream broken after its
    headers), is no response ("-")."""
    if grpc_status:
        return traffic.GRPC, status if traffic.is_http_error(status) else grpc_status
    code = status or "-"
    if classification == "failure" and code != "-" and not traffic.is_http_error(code):
        code = "-"
    return traffic.HTTP, code


class Tls:
    """Traffic of an edge in all and on mutual TLS."""

    __slots__ = ("mtls", "total")

    def __init__(self) -> None:
        self.mtls = self.total = 0.0

    def add(self, value: float, mtls: bool) -> None:
        self.total += value
        if mtls:
            self.mtls += value

    def annotate(self, md: traffic.Metadata) -> None:
        md.pop("isMTLS", None)
        if self.mtls > 0:
            md["isMTLS"] = f"{self.mtls / self.total * 100:.0f}"


class LinkerdTraffic:
    """The traffic maps of one build, fed each query's rows in plan order."""

    def __init__(self, options: GraphOptions, namespaces: Sequence[str] | None = None) -> None:
        self.options = options
        self.graph_type = options.graph_type
        self.inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        names = tuple(options.namespaces if namespaces is None else namespaces)
        self.by_namespace = {ns: traffic.TrafficMap() for ns in names}
        self.apps: nodes.Apps = {}
        self.tls: dict[str, dict[EdgeKey, Tls]] = {ns: {} for ns in names}
        self.behind: dict[str, set[str]] = {}  # workload id -> the services in front of it
        self.tcp: list[tuple[tuple[str, ...], nodes.Path, bool, float]] = []
        # Traffic sent by meshed callers without mTLS, which the callee's proxy counts as
        # it counts an unmeshed caller's.
        self.plain: dict[Callee, float] = {}
        self.finished = False

    def apply(self, query: LinkerdQuery, rows: Iterable[Row]) -> None:
        if query.kind == WORKLOADS:
            self.apps = nodes.apps_of(rows)
            return
        keep = self.target_filter(query)
        for key, value in rows:
            row = self.resolve(query, key)
            if row is None:
                continue
            namespaces, path, protocol, code, host, mtls = row
            drawn = self.unmeshed_part(query, path, protocol, code, mtls, value)
            if drawn is None:
                continue
            if keep is not None and all(node.id != keep for node, _ in path):
                continue
            if protocol == traffic.TCP:
                self.tcp.append((namespaces, path, mtls, drawn))
                continue
            for ns in namespaces:
                g = self.by_namespace.get(ns)
                if g is not None:
                    self.add(ns, g, path, protocol, code, host, mtls, drawn)

    def unmeshed_part(self, query: LinkerdQuery, path: nodes.Path, protocol: str, code: str,
                      mtls: bool, value: float) -> float | None:
        """An outbound row without mTLS is noted; an unmeshed row keeps what such rows into
        its callee did not send (None: nothing, or too little to tell from the difference
        between two proxies' counts). A meshed caller without mTLS is thus drawn once."""
        kind, labels = query.kind, path[-1][1]
        callee: Callee = (labels[3], labels[4], protocol,
                          SENT.get((kind, query.metric), code))
        if kind in (OUTBOUND, TCP_OUTBOUND):
            if not mtls:
                self.plain[callee] = self.plain.get(callee, 0.0) + value
            return value
        plain = self.plain.pop(callee, 0.0)
        if plain and value - plain <= value * UNMESHED_SHARE:
            return None
        return value - plain

    def target_filter(self, query: LinkerdQuery) -> str | None:
        """In a node graph, the id of the node whose edges are kept."""
        target = query.target
        if target is None:
            return None
        cluster = query.cluster if target.cluster == ids.UNKNOWN else target.cluster
        return nodes.target_id(target.namespace, target.workload, target.app, target.version,
                               target.service, cluster, self.graph_type)

    def resolve(self, query: LinkerdQuery, key: str) -> tuple[
            tuple[str, ...], nodes.Path, str, str, str, bool] | None:
        """(namespaces whose maps draw the row, its path, protocol, code, host, whether on
        mTLS); None for a row that is not drawn."""
        kind, cluster, rates = query.kind, query.cluster, self.options.rates
        row: Any
        if kind in (OUTBOUND, TCP_OUTBOUND):
            row = read(RequestLabels if kind == OUTBOUND else TcpLabels, key)
            if row is None:
                return None
            source, dest = nodes.outbound_ends(cluster, row, self.apps)
            namespaces: tuple[str, ...] = (row.namespace, row.dst_namespace)
            host = f"{row.dst_service}.{row.dst_namespace}" if row.dst_service else ""
            mtls = row.tls == "true"
        elif kind in (UNMESHED, TCP_UNMESHED):
            row = read(UnmeshedLabels if kind == UNMESHED else PodLabels, key)
            if row is None:
                return None
            source, dest = nodes.UNKNOWN_SOURCE, nodes.callee_labels(cluster, row)
            namespaces, host, mtls = (row.namespace,), "", False
        else:
            return None
        if dest is None:
            return None
        if kind in (TCP_OUTBOUND, TCP_UNMESHED):
            protocol, code = traffic.TCP, "-"
        else:
            protocol, code = response_of(row.status_code, row.grpc_status_code,
                                         row.classification)
            if (rates.http if protocol == traffic.HTTP else rates.grpc) != "requests":
                return None
        path = nodes.path_of(source, dest, self.graph_type, self.inject)
        if path is None:
            return None
        if namespaces[0] == namespaces[-1]:
            namespaces = namespaces[:1]
        return namespaces, path, protocol, code, host, mtls

    def place(self, g: traffic.TrafficMap, path: nodes.Path) -> list[traffic.Metadata]:
        """The path's nodes in the map (added if missing), and their metadata."""
        for node, labels in path:
            traffic.place_node(g, node, labels, self.graph_type)
        mds = [g.nodes[node.id]["md"] for node, _ in path]
        cluster, namespace, service = path[-1][1][:3]
        if ids.is_ok(service):
            mds[-1].setdefault("destServices", {})[(cluster, namespace, service)] = True
        if len(path) == 3:
            mds[1]["isInjected"] = True
            mds[1].setdefault("destServices", {})[(cluster, namespace, service)] = True
            self.behind.setdefault(path[2][0].id, set()).add(path[1][0].id)
        return mds

    def add(self, ns: str, g: traffic.TrafficMap, path: nodes.Path, protocol: str, code: str,
            host: str, mtls: bool, value: float) -> None:
        mds = self.place(g, path)
        out_key, dest_keys, edge_keys = traffic.rate_keys(protocol, code)
        tls = self.tls[ns]
        for i in range(len(path) - 1):
            u, v = path[i][0].id, path[i + 1][0].id
            edge_md = g.edge_data(u, v, protocol)["md"]
            if value <= 0:
                continue
            traffic.add_value(mds[i], out_key, value)
            for k in dest_keys:
                traffic.add_value(mds[i + 1], k, value)
            for k in edge_keys:
                traffic.add_value(edge_md, k, value)
            traffic.add_response(edge_md, protocol, code, "-", host, value)
            tls.setdefault((u, v, protocol), Tls()).add(value, mtls)

    def add_tcp(self) -> None:
        """TCP rows, where their caller has no request edge to the next node."""
        for namespaces, path, mtls, value in self.tcp:
            for ns in namespaces:
                g = self.by_namespace.get(ns)
                if g is None:
                    continue
                u, v = path[0][0].id, path[1][0].id
                if u in g and any((v, p) in g.out[u] for p in (traffic.HTTP, traffic.GRPC)):
                    continue
                self.add(ns, g, path, traffic.TCP, "-", "", mtls, value)

    def maps(self) -> dict[str, traffic.TrafficMap]:
        if not self.finished:
            self.finished = True
            self.add_tcp()
            self.annotate_tls()
        return self.by_namespace

    def annotate_tls(self) -> None:
        """isMTLS on every edge; in a service graph, each workload -> service edge carries
        the share of what all workloads behind its own service send there, since the
        engine draws it as that service's edge (graph/build.py, reduce_to_service_graph)."""
        shares: dict[EdgeKey, Tls] = {}
        if self.graph_type == ids.SERVICE:
            # An edge between two requested namespaces is in both maps: count it once.
            unique = {key: edge for tls in self.tls.values() for key, edge in tls.items()}
            for (u, v, protocol), edge in unique.items():
                for service in self.behind.get(u, ()):
                    share = shares.setdefault((service, v, protocol), Tls())
                    share.add(edge.mtls, True)
                    share.add(edge.total - edge.mtls, False)
        for ns, tls in self.tls.items():
            g = self.by_namespace[ns]
            for (u, v, protocol), edge in tls.items():
                services = sorted(self.behind.get(u, ()))
                if services:
                    edge = shares.get((services[0], v, protocol), edge)
                edge.annotate(g.out[u][(v, protocol)]["md"])
