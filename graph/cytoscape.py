"""The graph as Cytoscape.js JSON elements, in Kiali's field names and formats.

Ids are SHA-256 hashes of Kiali's internal ids, rates are strings with Kiali's rounding,
elements are sorted as Kiali sorts them. `extras=True` adds Meshlens's `healthStatus` on
every node and edge and a readable `label` on every node; without extras, `edge_health=True`
gives Kiali's own edge `healthStatus` (only where there is one, as its health appender does).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from graph import ids, traffic
from graph.health import NA

NODE_RATES = {
    traffic.GRPC: ("grpcIn", "grpcInNoResponse", "grpcInErr", "grpcOut"),
    traffic.HTTP: ("httpIn", "httpInNoResponse", "httpIn3xx", "httpIn4xx", "httpIn5xx",
                   "httpOut"),
    traffic.TCP: ("tcpIn", "tcpOut"),
}
NODE_FLAGS = ("isDead", "isIdle", "isInaccessible", "isInjected", "isOutside", "isRoot")
BOX_RANK = {"cluster": 0, "namespace": 1, "app": 2}


def format_rate(value: float, min_precision: int = 2) -> str:
    """Kiali's rate string: at least 2 decimals, more below 1 until a digit shows (max 5).

    >>> format_rate(50), format_rate(0.004), format_rate(0.0000004)
    ('50.00', '0.004', '0.00000')
    """
    if value >= 1 and min_precision == 2:
        return f"{value:.2f}"
    precision, scaled = 0, value
    while value > 0 and precision < 5 and scaled < 1:
        scaled *= 10
        precision += 1
    return f"{value:.{max(min_precision, precision)}f}"


def node_label(n: dict[str, Any]) -> str:
    node_type = n["node_type"]
    if node_type == ids.NODE_UNKNOWN:
        return "unknown"
    if node_type == ids.NODE_SERVICE or node_type in ids.PEER_NODE_TYPES:
        return n["service"]
    if node_type == ids.NODE_APP:
        return f"{n['app']} {n['version']}" if n.get("version") else n["app"]
    if node_type == ids.NODE_BOX:
        return n.get("app") or n.get("namespace") or n.get("cluster", "")
    return n["workload"]


def node_traffic(md: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for protocol in traffic.PROTOCOLS:
        rates = {k: format_rate(md[k]) for k in NODE_RATES[protocol] if md.get(k, 0) > 0}
        if rates:
            out.append({"protocol": protocol, "rates": rates})
    return out


def node_data(node_id: str, n: dict[str, Any], extras: bool) -> dict[str, Any]:
    md = n["md"]
    data: dict[str, Any] = {"id": ids.hash_id(node_id), "nodeType": n["node_type"],
                            "cluster": n["cluster"], "namespace": n["namespace"]}
    for key in ("workload", "app", "version", "service"):
        if n.get(key):
            data[key] = n[key]
    if md.get("destServices"):
        data["destServices"] = [{"cluster": c, "namespace": ns, "name": name}
                                for c, ns, name in sorted(md["destServices"])]
    rates = node_traffic(md)
    if rates:
        data["traffic"] = rates
    data["healthData"] = md.get("healthData")
    for flag in NODE_FLAGS:
        if md.get(flag):
            data[flag] = True
    if extras:
        data["healthStatus"] = md.get("healthStatus", NA)
        data["label"] = node_label(n)
    return data


APPENDED_EDGE_FIELDS = ("destPrincipal", "isMTLS", "responseTime", "sourcePrincipal",
                        "throughput")
RESPONSES_KEY = {protocol: f"{protocol}Responses" for protocol in traffic.PROTOCOLS}
PERCENT_ERR = {protocol: f"{protocol}PercentErr" for protocol in traffic.PROTOCOLS}
PERCENT_REQ = {protocol: f"{protocol}PercentReq" for protocol in traffic.PROTOCOLS}


def edge_traffic(protocol: str, md: dict[str, Any]) -> dict[str, Any]:
    total = md.get(protocol, 0.0)
    if total <= 0:
        return {"protocol": protocol}
    rates = {}
    for key in traffic.EDGE_SUMMED_RATES[protocol]:
        value = md.get(key, 0.0)
        if value > 0:
            rates[key] = format_rate(value)
    if protocol != traffic.TCP:
        errors = 0.0
        for key in traffic.EDGE_ERROR_RATES[protocol]:
            errors += md.get(key, 0.0)
        if errors > 0:
            rates[PERCENT_ERR[protocol]] = f"{errors / total * 100:.1f}"
    return {"protocol": protocol, "rates": rates}


def edge_responses(protocol: str, md: dict[str, Any]) -> dict[str, Any]:
    """{code: {"flags": {flag: %}, "hosts": {host: %}}}, each a share of the edge's total."""
    total = md.get(protocol, 0.0)
    out = {}
    for code, detail in md.get(RESPONSES_KEY[protocol], {}).items():
        entry = {}
        flags, hosts = detail["flags"], detail["hosts"]
        if flags:
            entry["flags"] = {k: f"{v / total * 100:.1f}" for k, v in flags.items()}
        if hosts:
            entry["hosts"] = {k: f"{v / total * 100:.1f}" for k, v in hosts.items()}
        out[code] = entry
    return out


def edge_data(u: str, v: str, protocol: str, d: dict[str, Any], extras: bool,
              edge_health: bool = False, hashed: dict[str, str] | None = None,
              ) -> dict[str, Any]:
    """An edge's data; `hashed` holds the nodes' JSON ids when already computed."""
    md = d["md"]
    if hashed is None:
        hashed = {u: ids.hash_id(u), v: ids.hash_id(v)}
    source, target = hashed[u], hashed[v]
    data: dict[str, Any] = {"id": ids.edge_hash(source, target, protocol), "source": source,
                            "target": target}
    health = md.get("healthStatus", NA)
    if extras:
        data["healthStatus"] = health
    elif edge_health and health != NA:
        data["healthStatus"] = health
    for key in APPENDED_EDGE_FIELDS:
        if key in md:
            data[key] = md[key]
    edge = data["traffic"] = edge_traffic(protocol, md)
    if "rates" in edge:
        if protocol != traffic.TCP:
            out = d["source_md"].get(traffic.OUT_RATE[protocol], 0.0)
            share = md[protocol] / out * 100 if out else 0.0
            if share > 0:
                edge["rates"][PERCENT_REQ[protocol]] = f"{share:.1f}"
        edge["responses"] = edge_responses(protocol, md)
    return data


def box_nodes(nodes: list[dict[str, Any]], box_by: str) -> list[dict[str, Any]]:
    """Compound parent nodes for every app (or namespace, cluster) with more than one member."""
    members: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        if box_by == "app" and n.get("app") not in (None, "", ids.UNKNOWN):
            key = f"box_{n['cluster']}_{n['namespace']}_{n['app']}"
        elif box_by == "namespace" and "parent" not in n and n["namespace"] != ids.UNKNOWN:
            key = f"box_{n['cluster']}_{n['namespace']}"
        elif box_by == "cluster" and "parent" not in n and n["cluster"] != ids.UNKNOWN:
            key = f"box_{n['cluster']}"
        else:
            continue
        members.setdefault(key, []).append(n)
    if box_by != "app" and len(members) < 2:
        return []
    boxes = []
    for key, group in members.items():
        if len(group) < 2:
            continue
        first = group[0]
        box: dict[str, Any] = {"id": ids.hash_id(key), "nodeType": ids.NODE_BOX,
                               "cluster": first["cluster"],
                               "namespace": first["namespace"] if box_by != "cluster" else ""}
        if box_by == "app":
            box["app"] = first["app"]
        box["healthData"] = None
        for n in group:
            n["parent"] = box["id"]
            for flag in ("isInaccessible", "isOutside"):
                if box_by == "app" and n.get(flag):
                    box[flag] = True
        box["isBox"] = box_by
        boxes.append(box)
    return boxes


def node_sort_key(n: dict[str, Any]) -> tuple[Any, ...]:
    return (BOX_RANK.get(n.get("isBox", ""), 3), n["cluster"], n["namespace"], n.get("app", ""),
            n.get("version", ""), n.get("service", ""), n.get("workload", ""))


def to_elements(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None,
                extras: bool = True, edge_health: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Nodes and edges; boxes by `box_by`, else by the graph's own `box_by` option."""
    if box_by is None:
        box_by = g.graph.get("box_by", ())
    nodes = [node_data(node_id, n, extras) for node_id, n in g.nodes(data=True)]
    hashed = {node_id: n["id"] for node_id, n in zip(g.nodes, nodes, strict=True)}
    edges = [edge_data(u, v, k, d, extras, edge_health, hashed)
             for u, v, k, d in g.edges(keys=True, data=True)]
    graph_type = g.graph.get("graph_type", ids.WORKLOAD)
    for kind in ("app", "namespace", "cluster"):
        if kind in box_by or (kind == "app" and graph_type in (ids.APP, ids.VERSIONED_APP)):
            boxes = box_nodes(nodes, kind)
            if extras:
                for box in boxes:
                    box["label"] = box.get("app") or box["namespace"] or box["cluster"]
            nodes += boxes
    nodes.sort(key=node_sort_key)
    edges.sort(key=lambda e: (e["source"], e["target"], e["traffic"]["protocol"]))
    return {"nodes": [{"data": n} for n in nodes], "edges": [{"data": e} for e in edges]}


def to_config(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None,
              extras: bool = True, edge_health: bool = False) -> dict[str, Any]:
    """The whole API body: timestamp, duration, graphType and elements."""
    return {
        "timestamp": g.graph["timestamp"],
        "duration": g.graph["duration"],
        "graphType": g.graph["graph_type"],
        "elements": to_elements(g, box_by, extras, edge_health),
    }
