"""Blast radius: whose traffic passes through a failing node or edge, and how much of it.

It reads a graph as the API serves it (the `elements` of /api/v1/graph), so that it
answers the same whether the graph came from the cache or from a new build.

The share model. Each node is taken to pass its outbound traffic on to its callees in
proportion to its outbound edges' rates (an edge's `percentReq` in Kiali's terms). The
share of a node x's traffic that reaches the target T is the probability that a request
leaving x, routed hop by hop by those proportions, passes through T:

    reach(T) = 1
    reach(x) = sum over x's edges x -> y of  rate(x -> y) / rate_out(x) * reach(y)

On a graph without cycles this is the product of the shares along each path, summed
over the paths: x sends 30 % to B and B 50 % to T gives T 15 % of x. With cycles the
same equations still have exactly one solution over T's ancestors (every one of them
leads on to T with some share, so no request circles forever), solved exactly per
strongly connected component, downstream components first; a request that loops back
through a caller is counted once (it reaches T or it does not). A node's rates are its
request rates (HTTP and gRPC, requests/s); a node that sends no requests but only TCP
is shared by its TCP bytes/s. Idle edges carry no share.

An edge as the target is a node of its own, spliced into the edge: reaching it means
taking that edge.

    >>> g = {"elements": {"nodes": [{"data": {"id": i}} for i in "abc"], "edges": [
    ...     {"data": {"id": "ab", "source": "a", "target": "b",
    ...               "traffic": {"protocol": "http", "rates": {"http": "3.00"}}}},
    ...     {"data": {"id": "ac", "source": "a", "target": "c",
    ...               "traffic": {"protocol": "http", "rates": {"http": "1.00"}}}}]}}
    >>> blast_radius(g, node="b")["entryPoints"][0]["share"]
    0.75
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from graph.edges import endpoint
from graph.options import OptionError, shown

REQUEST_PROTOCOLS = ("http", "grpc")
TCP = "tcp"
# The node an edge target becomes; no graph id looks like it (ids are hex digests or
# readable names without spaces).
SPLICED = " edge"


def edge_rate(edge: Mapping[str, Any]) -> float:
    """An edge's rate in its protocol's unit: requests/s, or bytes/s for TCP."""
    found = edge.get("traffic") or {}
    try:
        return float(found.get("rates", {}).get(found.get("protocol", ""), 0))
    except (TypeError, ValueError):
        return 0.0


def edge_error_ratio(edge: Mapping[str, Any]) -> float:
    """The share of an edge's requests that failed (Kiali's percentErr / 100); 0 for TCP."""
    found = edge.get("traffic") or {}
    try:
        percent = float(found.get("rates", {}).get(f"{found.get('protocol', '')}PercentErr", 0))
    except (TypeError, ValueError):
        return 0.0
    return percent / 100.0


def is_request_edge(edge: Mapping[str, Any]) -> bool:
    return (edge.get("traffic") or {}).get("protocol") in REQUEST_PROTOCOLS


@dataclass
class Routing:
    """The graph's nodes and edges by id, and each node's outbound weights: the rates
    its shares are taken from (requests/s, or TCP bytes/s for a TCP-only node)."""

    nodes: dict[str, dict[str, Any]]
    edges: dict[str, dict[str, Any]]
    weight: dict[str, float] = field(default_factory=dict)  # edge id -> weight
    out: dict[str, float] = field(default_factory=dict)  # node id -> total weight out

    @classmethod
    def of(cls, graph: Mapping[str, Any]) -> Routing:
        elements = graph["elements"]
        routing = cls({n["data"]["id"]: n["data"] for n in elements["nodes"]},
                      {e["data"]["id"]: e["data"] for e in elements["edges"]})
        sends_requests = {e["source"] for e in routing.edges.values()
                          if is_request_edge(e) and edge_rate(e) > 0}
        for edge_id, e in routing.edges.items():
            counted = is_request_edge(e) == (e["source"] in sends_requests)
            rate = edge_rate(e) if counted else 0.0
            if rate > 0:
                routing.weight[edge_id] = rate
                routing.out[e["source"]] = routing.out.get(e["source"], 0.0) + rate
        return routing

    def digraph(self, target_edge: str | None = None) -> nx.DiGraph:
        """Every node and edge, each edge with its `share` of its source's outbound weight
        (parallel edges added up; 0 for idle edges and for a node's TCP beside its
        requests); `target_edge` spliced in as the node SPLICED."""
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for edge_id, e in self.edges.items():
            source = e["source"]
            target = SPLICED if edge_id == target_edge else e["target"]
            weight = self.weight.get(edge_id, 0.0)
            share = weight / self.out[source] if weight > 0 else 0.0
            if g.has_edge(source, target):
                g[source][target]["share"] += share
            else:
                g.add_edge(source, target, share=share)
        return g


def reach(g: nx.DiGraph, target: str) -> dict[str, float]:
    """reach(x) for `target` and each x that leads to it over edges with a share in `g`:
    the share of x's outbound traffic that passes through `target` (see the module doc)."""
    shared = nx.subgraph_view(g, filter_edge=lambda x, y: g[x][y]["share"] > 0)
    upstream = nx.ancestors(shared, target)
    # The target absorbs: where a request goes after it does not matter here.
    sub = nx.DiGraph(shared.subgraph(upstream))
    sub.add_edges_from((x, target, d) for x, _, d in shared.in_edges(target, data=True))
    found = {target: 1.0}
    condensed = nx.condensation(sub)
    for component in reversed(list(nx.topological_sort(condensed))):
        members = sorted(condensed.nodes[component]["members"])
        if members != [target]:
            solve_component(sub, members, found)
    return found


def solve_component(g: nx.DiGraph, members: list[str], found: dict[str, float]) -> None:
    """reach() of one strongly connected component whose downstream is in `found`:
    (I - P) h = b, P the shares within the component, b what leaves it times reach."""
    index = {m: i for i, m in enumerate(members)}
    p = np.zeros((len(members), len(members)))
    b = np.zeros(len(members))
    for m in members:
        for _, y, d in g.out_edges(m, data=True):
            if y in index:
                p[index[m], index[y]] += d["share"]
            else:
                b[index[m]] += d["share"] * found.get(y, 0.0)
    h = np.linalg.solve(np.eye(len(members)) - p, b)
    for m, value in zip(members, h, strict=True):
        # Rounding may leave 1.0000000000000002 or -1e-17.
        found[m] = min(1.0, max(0.0, float(value)))


def entry_points(routing: Routing) -> list[str]:
    """Nodes where traffic enters the graph: Kiali's roots (isRoot), and nodes that send
    traffic but receive none."""
    receives = {e["target"] for e in routing.edges.values()}
    return [n for n, d in routing.nodes.items()
            if d.get("isRoot") or (n not in receives and routing.out.get(n, 0) > 0)]


def target_error_ratio(routing: Routing, node: str | None, edge: str | None) -> float:
    """The share of the requests into the target that fail: its inbound request edges'
    errors over their requests (the edge's own for an edge)."""
    inbound = [routing.edges[edge]] if edge else [
        e for e in routing.edges.values() if e["target"] == node and is_request_edge(e)]
    requests = sum(edge_rate(e) for e in inbound if is_request_edge(e))
    if requests <= 0:
        return 0.0
    return sum(edge_rate(e) * edge_error_ratio(e) for e in inbound if is_request_edge(e)) / requests


def check_target(routing: Routing, node: str | None, edge: str | None) -> None:
    if (node is None) == (edge is None):
        raise OptionError("node", "give exactly one of node=<node id> or edge=<edge id>")
    if node is not None and node not in routing.nodes:
        raise OptionError("node", f"{shown(node)} is not a node of this graph")
    if edge is not None and edge not in routing.edges:
        raise OptionError("edge", f"{shown(edge)} is not an edge of this graph")


def rounded(value: float) -> float:
    return round(value, 6)


def blast_radius(graph: Mapping[str, Any], node: str | None = None,
                 edge: str | None = None) -> dict[str, Any]:
    """The blast radius of node `node` or edge `edge` (ids of `graph`'s elements): the
    /api/v1/impact body without the graph's timestamp. OptionError for an unknown id, or
    for both or neither given."""
    routing = Routing.of(graph)
    check_target(routing, node, edge)
    g = routing.digraph(edge)
    target = SPLICED if edge is not None else str(node)
    upstream = nx.ancestors(g, target)
    shares = reach(g, target)
    error_ratio = target_error_ratio(routing, node, edge)
    return {
        "target": target_data(routing, node, edge, error_ratio),
        "nodes": affected_nodes(routing, upstream, shares),
        "edges": affected_edges(routing, upstream, shares, target, edge),
        "entryPoints": entry_point_data(routing, shares, error_ratio),
    }


def target_data(routing: Routing, node: str | None, edge: str | None,
                error_ratio: float) -> dict[str, Any]:
    if edge is not None:
        e = routing.edges[edge]
        return {"kind": "edge", "id": edge, "protocol": (e.get("traffic") or {}).get("protocol"),
                "source": endpoint(routing.nodes[e["source"]]),
                "target": endpoint(routing.nodes[e["target"]]),
                "errorShare": rounded(error_ratio)}
    return {"kind": "node", **endpoint(routing.nodes[str(node)]),
            "errorShare": rounded(error_ratio)}


def node_entry(routing: Routing, node_id: str, share: float) -> dict[str, Any]:
    data = routing.nodes[node_id]
    out = routing.out.get(node_id, 0.0)
    return {**endpoint(data), "share": rounded(share), "rate": rounded(out),
            "affectedRate": rounded(share * out)}


def by_share(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (-e["share"], e.get("label", ""), e["id"]))


def affected_nodes(routing: Routing, upstream: Iterable[str],
                   shares: Mapping[str, float]) -> list[dict[str, Any]]:
    """Every upstream caller of the target, with the share of its traffic reaching it
    (0 when it leads there only over idle edges, or over TCP beside its requests)."""
    return by_share(node_entry(routing, n, shares.get(n, 0.0)) for n in upstream)


def affected_edges(routing: Routing, upstream: set[str], shares: Mapping[str, float],
                   target: str, target_edge: str | None) -> list[dict[str, Any]]:
    """Edges on the way to the target, each with the share of its own traffic that goes
    on to reach it: 1 for the edges into the target, and for the target edge."""
    out = []
    for edge_id, e in routing.edges.items():
        # Past the target a request has already reached it.
        if e["source"] not in upstream:
            continue
        if edge_id == target_edge or e["target"] == target:
            share = 1.0
        elif e["target"] in upstream:
            share = shares.get(e["target"], 0.0)
        else:
            continue
        out.append({"id": edge_id, "source": e["source"], "target": e["target"],
                    "share": rounded(share) if routing.weight.get(edge_id) else 0.0})
    return by_share(out)


def entry_point_data(routing: Routing, shares: Mapping[str, float],
                     error_ratio: float) -> list[dict[str, Any]]:
    """Every entry point, affected or not, with the share of its traffic that reaches
    the target, and `errorShare`: the share that fails there, were the target to fail
    the requests it gets alike whatever their path (its error ratio times `share`)."""
    out = []
    for n in entry_points(routing):
        share = shares.get(n, 0.0)
        out.append(node_entry(routing, n, share) | {"errorShare": rounded(share * error_ratio)})
    return by_share(out)
