"""The traffic map: nodes and per-protocol edges with their rates.

Nodes are keyed by Kiali's internal id; each edge is keyed by its protocol, so the http
and tcp edges of the same pair stand side by side. Rates live in a `md` (metadata) dict on
every node and edge, as in Kiali; an edge also keeps `source_md`, the metadata of the node
that sent it, from which its share of the source's outbound traffic (httpPercentReq) is
computed.

A TrafficMap is the plain-dict form that the builder fills row by row (fast: no views);
`to_networkx()` turns the finished map into the NetworkX MultiDiGraph that appenders,
health and the JSON read.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Protocol

import networkx as nx

from graph import ids

Metadata = dict[str, Any]

HTTP, GRPC, TCP = "http", "grpc", "tcp"
PROTOCOLS = (GRPC, HTTP, TCP)  # Kiali's order
# Rates that a node's outbound edges add up to, per protocol.
OUT_RATE = {GRPC: "grpcOut", HTTP: "httpOut", TCP: "tcpOut"}
IN_RATE = {GRPC: "grpcIn", HTTP: "httpIn", TCP: "tcpIn"}
EDGE_ERROR_RATES = {
    GRPC: ("grpcNoResponse", "grpcErr"),
    HTTP: ("httpNoResponse", "http4xx", "http5xx"),
    TCP: (),
}
EDGE_SUMMED_RATES = {
    GRPC: ("grpc", "grpcNoResponse", "grpcErr"),
    HTTP: ("http", "httpNoResponse", "http3xx", "http4xx", "http5xx"),
    TCP: ("tcp",),
}


class TrafficMap:
    """Nodes by internal id, and each node's outgoing edges by (target, protocol)."""

    __slots__ = ("nodes", "out")

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.out: dict[str, dict[tuple[str, str], Metadata]] = {}

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def add_node(self, node_id: str, **attrs: Any) -> None:
        self.nodes[node_id] = attrs
        self.out.setdefault(node_id, {})

    def edge(self, source: str, target: str, protocol: str) -> Metadata | None:
        return self.out[source].get((target, protocol))

    def add_edge(self, source: str, target: str, protocol: str, data: Metadata) -> None:
        self.out[source][(target, protocol)] = data

    def edge_data(self, source: str, target: str, protocol: str) -> Metadata:
        """The edge of that protocol between two nodes, created empty if missing."""
        edges = self.out[source]
        data = edges.get((target, protocol))
        if data is None:
            data = edges[(target, protocol)] = {
                "protocol": protocol, "md": {}, "source_md": self.nodes[source]["md"]}
        return data

    def edges(self) -> Iterator[tuple[str, str, str, Metadata]]:
        for source, edges in self.out.items():
            for (target, protocol), data in edges.items():
                yield source, target, protocol, data

    def to_networkx(self) -> nx.MultiDiGraph:
        """The map as a MultiDiGraph (edge keys: protocols), handing over its attribute
        dicts: the map is not used after. The graph is the one add_nodes_from and
        add_edges_from make (same order), filled the way they fill it, without the copy
        of every attribute dict they make (a fifth of a build's freeing at 10,000
        workloads)."""
        g = nx.MultiDiGraph()
        nodes, succ, pred = g._node, g._succ, g._pred
        for node_id, attrs in self.nodes.items():
            nodes[node_id] = attrs
            succ[node_id] = {}
            pred[node_id] = {}
        for source, edges in self.out.items():
            adj = succ[source]
            for (target, protocol), data in edges.items():
                keyed = adj.get(target)
                if keyed is None:
                    keyed = adj[target] = pred[target][source] = {}
                keyed[protocol] = data
        return g


class NodeContainer(Protocol):
    """A TrafficMap or a NetworkX graph: what add_node needs."""

    def __contains__(self, node_id: object) -> bool: ...

    def add_node(self, node_for_adding: str, **attrs: Any) -> None: ...


def add_node(
    g: NodeContainer, cluster: str, service_ns: str, service: str, workload_ns: str,
    workload: str, app: str, version: str, graph_type: str,
) -> str:
    """Add (or find) the node these labels name; return its internal id."""
    labels = (cluster, service_ns, service, workload_ns, workload, app, version)
    node = ids.node_id(*labels, graph_type)
    place_node(g, node, labels, graph_type)
    return node.id


def place_node(g: NodeContainer, node: ids.NodeId, labels: tuple[str, ...],
               graph_type: str) -> None:
    """Add the node of an id already worked out from `labels`, unless it is there."""
    if node.id not in g:
        cluster, service_ns, service, workload_ns, workload, app, version = labels
        namespace = workload_ns if ids.is_ok(workload_ns) else service_ns
        g.add_node(node.id, **node_fields(node.node_type, cluster, namespace, workload, app,
                                          version, service, graph_type))


def node_fields(
    node_type: str, cluster: str, namespace: str, workload: str, app: str, version: str,
    service: str, graph_type: str,
) -> dict[str, Any]:
    """The identity fields Kiali keeps for a node of this type; the rest are blanked."""
    md: Metadata = {}
    if node_type == ids.NODE_APP:
        if graph_type != ids.VERSIONED_APP:
            workload = version = ""
        service = ""
    elif node_type == ids.NODE_SERVICE:
        app = workload = version = ""
        if service in ("PassthroughCluster", "BlackHoleCluster"):
            md["isEgressCluster"] = True
    elif node_type == ids.NODE_WORKLOAD:
        app = "" if app == ids.UNKNOWN else app
        version = "" if version == ids.UNKNOWN else version
        service = ""
    return {"node_type": node_type, "cluster": cluster, "namespace": namespace,
            "workload": workload, "app": app, "version": version, "service": service, "md": md}


def add_value(md: Metadata, key: str, value: float) -> None:
    if value > 0:
        md[key] = md.get(key, 0.0) + value


def add_response(md: Metadata, protocol: str, code: str, flags: str, host: str,
                 value: float) -> None:
    responses = md.setdefault(f"{protocol}Responses", {})
    detail = responses.setdefault(code or "-", {"flags": {}, "hosts": {}})
    if flags:
        detail["flags"][flags] = detail["flags"].get(flags, 0.0) + value
    if host:
        detail["hosts"][host] = detail["hosts"].get(host, 0.0) + value


def is_http_error(code: str) -> bool:
    return code.startswith(("4", "5"))


@lru_cache(maxsize=4096)
def rate_keys(protocol: str, code: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The rates a response adds to: (source's, destination's, edge's), e.g. an HTTP 503
    adds httpOut; httpIn and httpIn5xx; http and http5xx."""
    if protocol == TCP:
        return OUT_RATE[TCP], (IN_RATE[TCP],), (TCP,)
    suffix = None
    if protocol == HTTP:
        suffix = {"-": "NoResponse", "3": "3xx", "4": "4xx", "5": "5xx"}.get(
            code if code == "-" else code[:1])
    elif code == "-":
        suffix = "NoResponse"
    elif is_http_error(code) if len(code) == 3 else code not in ("0", ""):
        suffix = "Err"
    if suffix is None:
        return OUT_RATE[protocol], (IN_RATE[protocol],), (protocol,)
    return (OUT_RATE[protocol], (IN_RATE[protocol], f"{protocol}In{suffix}"),
            (protocol, f"{protocol}{suffix}"))


def add_outgoing(source_md: Metadata, edge_md: Metadata) -> None:
    """Count an edge's total in its source's outbound rate (after merges and reductions)."""
    for protocol, key in OUT_RATE.items():
        if protocol in edge_md:
            add_value(source_md, key, edge_md[protocol])


def reset_outgoing(md: Metadata) -> None:
    for key in OUT_RATE.values():
        md.pop(key, None)


def aggregate_edge(into: Metadata, edge_md: Metadata, protocol: str) -> None:
    """Add one edge's rates and responses to another edge of the same protocol."""
    for key in EDGE_SUMMED_RATES[protocol]:
        if key in edge_md:
            add_value(into, key, edge_md[key])
    for code, detail in edge_md.get(f"{protocol}Responses", {}).items():
        for flag, value in detail["flags"].items():
            add_response(into, protocol, code, flag, "", value)
        for host, value in detail["hosts"].items():
            add_response(into, protocol, code, "", host, value)
