"""The graph as Cytoscape.js JSON elements, in Kiali's field names and formats.

Ids are SHA-256 hashes of Kiali's internal ids, rates are strings with Kiali's rounding,
elements are sorted as Kiali sorts them. `extras=True` adds Meshlens's `healthStatus` on
every node and edge and a readable `label` on every node; without extras, `edge_health=True`
gives Kiali's own edge `healthStatus` (only where there is one, as its health appender does).
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

import networkx as nx

from graph import ids, traffic
from graph.cells import whole
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
        rates = {}
        for key in NODE_RATES[protocol]:
            value = md.get(key, 0)
            if value > 0:
                rates[key] = f"{value:.2f}" if value >= 1 else format_rate(value)
        if rates:
            out.append({"protocol": protocol, "rates": rates})
    return out


def node_data(node_id: str, n: dict[str, Any], extras: bool) -> dict[str, Any]:
    md = n["md"]
    data: dict[str, Any] = {"id": ids.hash_id(node_id), "nodeType": n["node_type"],
                            "cluster": n["cluster"], "namespace": n["namespace"]}
    for key in ("workload", "app", "version", "service"):
        value = n.get(key)
        if value:
            data[key] = value
    dest_services = md.get("destServices")
    if dest_services:
        data["destServices"] = [{"cluster": c, "namespace": ns, "name": name}
                                for c, ns, name in sorted(dest_services)]
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
        if "sources" in md:  # only in a graph merged from several data sources
            data["sources"] = md["sources"]
    return data


APPENDED_EDGE_FIELDS = ("destPrincipal", "isMTLS", "responseTime", "sourcePrincipal",
                        "throughput")
RESPONSES_KEY = {protocol: f"{protocol}Responses" for protocol in traffic.PROTOCOLS}
PERCENT_ERR = {protocol: f"{protocol}PercentErr" for protocol in traffic.PROTOCOLS}
PERCENT_REQ = {protocol: f"{protocol}PercentReq" for protocol in traffic.PROTOCOLS}


class EdgeShape(NamedTuple):
    """What an edge of one protocol reads from its metadata, in the order Kiali writes it."""

    summed: tuple[str, ...]  # rates written as they are (traffic.EDGE_SUMMED_RATES)
    errors: tuple[str, ...]  # rates added up into percentErr (none for TCP)
    percent_err: str
    percent_req: str
    out_rate: str  # the source's outbound rate, of which percentReq is the edge's share
    responses: str


def edge_shape(protocol: str) -> EdgeShape:
    return EdgeShape(traffic.EDGE_SUMMED_RATES.get(protocol, (protocol,)),
                     traffic.EDGE_ERROR_RATES.get(protocol, ()), PERCENT_ERR.get(protocol, ""),
                     PERCENT_REQ.get(protocol, ""), traffic.OUT_RATE.get(protocol, ""),
                     RESPONSES_KEY.get(protocol, f"{protocol}Responses"))


EDGE_SHAPES = {protocol: edge_shape(protocol) for protocol in traffic.PROTOCOLS}


def edge_traffic(protocol: str, md: dict[str, Any],
                 source_md: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"protocol", "rates", "responses"} of an edge with traffic, {"protocol"} without;
    percentReq only with the source's metadata. One function, loops inline (no
    comprehensions, no calls per value): it runs for every edge of every build."""
    total = md.get(protocol, 0.0)
    if total <= 0:
        return {"protocol": protocol}
    shape = EDGE_SHAPES.get(protocol) or edge_shape(protocol)
    rates = {}
    for key in shape.summed:
        value = md.get(key, 0.0)
        if value > 0:
            rates[key] = f"{value:.2f}" if value >= 1 else format_rate(value)
    if shape.errors:
        errors = 0.0
        for key in shape.errors:
            errors += md.get(key, 0.0)
        if errors > 0:
            rates[shape.percent_err] = f"{errors / total * 100:.1f}"
        if source_md is not None:
            out = source_md.get(shape.out_rate, 0.0)
            share = md[protocol] / out * 100 if out else 0.0
            if share > 0:
                rates[shape.percent_req] = f"{share:.1f}"
    responses = {}
    for code, detail in md.get(shape.responses, {}).items():
        entry = {}
        # A code's hosts usually carry the same rate as its flags: format it once.
        last, text = 0.0, ""
        flags, hosts = detail["flags"], detail["hosts"]
        if flags:
            shares = entry["flags"] = {}
            for key, value in flags.items():
                last, text = value, f"{value / total * 100:.1f}"
                shares[key] = text
        if hosts:
            shares = entry["hosts"] = {}
            for key, value in hosts.items():
                if value != last or not value:
                    last, text = value, f"{value / total * 100:.1f}"
                shares[key] = text
        responses[code] = entry
    return {"protocol": protocol, "rates": rates, "responses": responses}


def edge_responses(protocol: str, md: dict[str, Any]) -> dict[str, Any]:
    """{code: {"flags": {flag: %}, "hosts": {host: %}}}, each a share of the edge's total."""
    return edge_traffic(protocol, md).get("responses", {})


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
    if extras:
        data["healthStatus"] = md.get("healthStatus", NA)
        if "sources" in md:  # only in a graph merged from several data sources
            data["sources"] = md["sources"]
    elif edge_health:
        health = md.get("healthStatus", NA)
        if health != NA:
            data["healthStatus"] = health
    for key in APPENDED_EDGE_FIELDS:
        if key in md:
            data[key] = md[key]
    data["traffic"] = edge_traffic(protocol, md, d["source_md"])
    return data


Member = TypeVar("Member")  # a node as a writer holds it: a dict, or a Node


def box_key(box_by: str, cluster: str, namespace: str, app: str, boxed: bool) -> str | None:
    """The key of the box a node goes in when boxing by `box_by` (the box's id is its hash),
    or None: an app's box holds the nodes of a known app; a namespace's or a cluster's box
    holds the nodes of a known one that are not `boxed` already (in an app's box)."""
    if box_by == "app":
        return f"box_{cluster}_{namespace}_{app}" if app not in ("", ids.UNKNOWN) else None
    if boxed:
        return None
    if box_by == "namespace":
        return f"box_{cluster}_{namespace}" if namespace != ids.UNKNOWN else None
    if box_by == "cluster":
        return f"box_{cluster}" if cluster != ids.UNKNOWN else None
    return None


def box_groups(keyed: Iterable[tuple[str | None, Member]],
               box_by: str) -> list[tuple[str, list[Member]]]:
    """The boxes to draw, as (key, members), from each node's box key (None: no box): every
    key with more than one member, none at all when boxing by namespace or cluster would
    put everything in one box. For both writers (dicts here, graph/cytoscape_json.py's
    Nodes), so that they box the same nodes."""
    members: dict[str, list[Member]] = {}
    for key, n in keyed:
        if key is not None:
            members.setdefault(key, []).append(n)
    if box_by != "app" and len(members) < 2:
        return []
    return [(key, group) for key, group in members.items() if len(group) > 1]


def box_nodes(nodes: list[dict[str, Any]], box_by: str) -> list[dict[str, Any]]:
    """Compound parent nodes for every app (or namespace, cluster) with more than one member."""
    keyed = ((box_key(box_by, n["cluster"], n["namespace"], n.get("app") or "", "parent" in n),
              n) for n in nodes)
    boxes = []
    for key, group in box_groups(keyed, box_by):
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


class EdgeOrder:
    """The sorted order of a graph's edges, remembered while its edges (their JSON ids, in
    the order the graph yields them) stay the same: a live scope rebuilds the same edges
    tick after tick. An edge's id hashes its source, target and protocol, the sort key, so
    equal id sequences sort alike. Kept for the last few edge sets (about one per scope)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        # Positions as a compact array: at 10,000 workloads an order is 72,000 of them.
        self.orders: dict[tuple[str, ...], array[int]] = {}
        self.lock = threading.Lock()  # builds may run in several threads of one process

    def __call__(self, edges: list[dict[str, Any]]) -> Sequence[int]:
        """Positions of `edges` (element data) by source, target and protocol."""
        return self.positions(tuple([e["id"] for e in edges]), lambda: [
            (e["source"], e["target"], e["traffic"]["protocol"]) for e in edges])

    def positions(self, key: tuple[str, ...],
                  sort_keys: Callable[[], list[tuple[str, str, str]]]) -> Sequence[int]:
        """Positions of the edges whose ids are `key` by their `sort_keys()`, (source,
        target, protocol) each, asked for only when the order is not known."""
        with self.lock:
            found = self.orders.pop(key, None)
        if found is None:
            found = array("l", sorted(range(len(key)), key=sort_keys().__getitem__))
        with self.lock:
            while len(self.orders) >= self.size:
                del self.orders[next(iter(self.orders))]
            self.orders[key] = found  # the most recent last
        return found


edge_order = EdgeOrder()


def to_elements(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None,
                extras: bool = True, edge_health: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Nodes and edges; boxes by `box_by`, else by the graph's own `box_by` option. Sorted
    as Kiali sorts them: nodes by kind and names, edges by source, target and protocol."""
    if box_by is None:
        box_by = g.graph.get("box_by", ())
    whole(g)  # the edges' responses are read from their mds
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
    order = edge_order(edges)
    return {"nodes": [{"data": n} for n in nodes], "edges": [{"data": edges[i]} for i in order]}


def to_config(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None,
              extras: bool = True, edge_health: bool = False) -> dict[str, Any]:
    """The whole API body: timestamp, duration, graphType and elements, as dicts: the JSON
    graph/cytoscape_json.py writes, read back."""
    from graph.cytoscape_json import write_graph  # it builds on this module

    return write_graph(g, box_by, extras, edge_health).to_dict()


def to_config_dicts(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None,
                    extras: bool = True, edge_health: bool = False) -> dict[str, Any]:
    """to_config made of dicts, element by element: the readable reference that
    graph/cytoscape_json.py's bytes are tested against."""
    return {
        "timestamp": g.graph["timestamp"],
        "duration": g.graph["duration"],
        "graphType": g.graph["graph_type"],
        "elements": to_elements(g, box_by, extras, edge_health),
    }
