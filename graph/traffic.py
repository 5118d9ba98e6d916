"""The traffic map: nodes and per-protocol edges with their rates, in a NetworkX graph.

Nodes are keyed by Kiali's internal id; each edge is keyed by its protocol, so a
MultiDiGraph holds the http and tcp edges of the same pair side by side. Rates live in a
`md` (metadata) dict on every node and edge, as in Kiali; an edge also keeps `source_md`,
the metadata of the node that sent it, from which its share of the source's outbound
traffic (httpPercentReq) is computed.
"""

from __future__ import annotations

from typing import Any

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


def new_map() -> nx.MultiDiGraph:
    return nx.MultiDiGraph()


def add_node(
    g: nx.MultiDiGraph, cluster: str, service_ns: str, service: str, workload_ns: str,
    workload: str, app: str, version: str, graph_type: str,
) -> str:
    """Add (or find) the node these labels name; return its internal id."""
    node = ids.node_id(cluster, service_ns, service, workload_ns, workload, app, version,
                       graph_type)
    if node.id not in g:
        namespace = workload_ns if ids.is_ok(workload_ns) else service_ns
        g.add_node(node.id, **node_fields(node.node_type, cluster, namespace, workload, app,
                                          version, service, graph_type))
    return node.id


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


def edge_data(g: nx.MultiDiGraph, source: str, target: str, protocol: str) -> Metadata:
    """The edge of that protocol between two nodes, created empty if missing."""
    if not g.has_edge(source, target, key=protocol):
        g.add_edge(source, target, key=protocol, protocol=protocol, md={}, ts_hashes=set(),
                   source_md=g.nodes[source]["md"])
    data: Metadata = g.edges[source, target, protocol]
    return data


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


def add_traffic(
    source_md: Metadata, dest_md: Metadata, edge_md: Metadata, protocol: str, value: float,
    code: str, flags: str, host: str,
) -> None:
    """Count `value` (requests or bytes per second) on an edge and its two nodes."""
    if value <= 0:
        return
    add_value(source_md, OUT_RATE[protocol], value)
    add_value(dest_md, IN_RATE[protocol], value)
    add_value(edge_md, protocol, value)
    if protocol == TCP:
        add_response(edge_md, TCP, "-", flags, host, value)
        return
    add_response(edge_md, protocol, code, flags, host, value)
    if protocol == HTTP:
        suffix = {"-": "NoResponse", "3": "3xx", "4": "4xx", "5": "5xx"}.get(
            code if code == "-" else code[:1])
        if suffix:
            add_value(dest_md, f"httpIn{suffix}", value)
            add_value(edge_md, f"http{suffix}", value)
    elif code == "-":
        add_value(dest_md, "grpcInNoResponse", value)
        add_value(edge_md, "grpcNoResponse", value)
    elif (is_http_error(code) if len(code) == 3 else code not in ("0", "")):
        add_value(dest_md, "grpcInErr", value)
        add_value(edge_md, "grpcErr", value)


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
