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
leads on to T with some share, so no request circles forever). They are solved hop by
hop (exact once the steps have gone as deep as the graph, where it has no cycles), and
where cycles keep requests turning for long, per strongly connected component,
downstream components first, to 1e-13. A request that loops back through a caller is
counted once (it reaches T or it does not). A node's rates are its
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
# The node an edge target becomes; no graph id looks like it (ids are hex digests or
# readable names without spaces).
SPLICED = " edge"


def protocol_of(edge: Mapping[str, Any]) -> str | None:
    traffic = edge.get("traffic")
    return traffic.get("protocol") if traffic else None


def edge_rate(edge: Mapping[str, Any]) -> float:
    """An edge's rate in its protocol's unit: requests/s, or bytes/s for TCP."""
    traffic = edge.get("traffic")
    rates = traffic.get("rates") if traffic else None
    value = rates.get(traffic.get("protocol")) if rates else None
    if value is None:
        return 0.0
    try:
        return float(value)
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
    return protocol_of(edge) in REQUEST_PROTOCOLS


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
        # Read once: (edge id, source, sends requests, rate).
        read = [(edge_id, e["source"], protocol_of(e) in REQUEST_PROTOCOLS, edge_rate(e))
                for edge_id, e in routing.edges.items()]
        sends_requests = {source for _, source, request, rate in read if request and rate > 0}
        for edge_id, source, request, rate in read:
            if rate > 0 and request == (source in sends_requests):
                routing.weight[edge_id] = rate
                routing.out[source] = routing.out.get(source, 0.0) + rate
        return routing

    def callers(self, target_edge: str | None = None) -> Callers:
        """Who calls whom, backwards, with `target_edge` spliced in as the node SPLICED."""
        found = Callers({}, {})
        for edge_id, e in self.edges.items():
            source = e["source"]
            target = SPLICED if edge_id == target_edge else e["target"]
            found.every.setdefault(target, set()).add(source)
            weight = self.weight.get(edge_id)
            if weight:
                shares = found.shared.setdefault(target, {})
                shares[source] = shares.get(source, 0.0) + weight / self.out[source]
        return found


@dataclass
class Callers:
    """For each node, the nodes that call it: `every` one, and those whose calls have a
    share, with the share of their outbound weight (parallel edges added up)."""

    every: dict[str, set[str]]
    shared: dict[str, dict[str, float]]


def upstream_of(callers: Mapping[str, Iterable[str]], target: str) -> set[str]:
    """The target's ancestors: every node with a path to it (not itself)."""
    seen: set[str] = set()
    todo = [target]
    while todo:
        for caller in callers.get(todo.pop(), ()):
            if caller not in seen:
                seen.add(caller)
                todo.append(caller)
    seen.discard(target)
    return seen


def reach(shared: Mapping[str, Mapping[str, float]], target: str) -> dict[str, float]:
    """reach(x) for `target` and each x that leads to it over edges with a share
    (`shared`: callee -> {caller: share}): the share of x's outbound traffic that passes
    through `target` (see the module doc)."""
    order = [target, *upstream_of(shared, target)]
    index = {n: i for i, n in enumerate(order)}
    # The target absorbs: where a request goes after it does not matter here.
    edges = [(index[x], index[y], share) for y in order
             for x, share in shared.get(y, {}).items() if x != target]
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    w = np.array([e[2] for e in edges], dtype=np.float64)
    h = by_steps(src, dst, w, len(order))
    if h is None:
        return by_components(order, edges)
    return {n: clamp(float(v)) for n, v in zip(order, h, strict=True)}


# Shares are first found step by step, each step one more hop (or turn of a cycle) of
# every request, O(edges) a step: on a graph without cycles that is exact once the
# steps have gone as deep as the graph. Where cycles keep requests turning for longer
# than QUICK_STEPS, the equations are solved per strongly connected component instead.
QUICK_STEPS = 500
SOLVED = 1e-13
# Components up to this size are solved directly (dense, O(n^3)); bigger ones by steps.
DENSE_LIMIT = 300
MAX_STEPS = 100_000


def by_steps(src: np.ndarray, dst: np.ndarray, w: np.ndarray, size: int,
             steps: int = QUICK_STEPS) -> np.ndarray | None:
    """h(0) = 1, h = P h elsewhere (P: edges src -> dst of share w) from h = 0 but h(0):
    each step lets the requests go one hop further, so h grows towards the least solution,
    which is the probability of reaching node 0. None when not settled within `steps`."""
    h = np.zeros(size)
    h[0] = 1.0
    for _ in range(steps):
        following = np.bincount(src, weights=w * h[dst], minlength=size)
        following[0] = 1.0
        if np.max(np.abs(following - h)) <= SOLVED:
            return following
        h = following
    return None


def by_components(order: list[str], edges: list[tuple[int, int, float]]) -> dict[str, float]:
    """reach() solved per strongly connected component, downstream components first."""
    sub = nx.DiGraph()
    sub.add_nodes_from(order)
    sub.add_weighted_edges_from(((order[x], order[y], share) for x, y, share in edges),
                                weight="share")
    target = order[0]
    found = {target: 1.0}
    condensed = nx.condensation(sub)
    for component in reversed(list(nx.topological_sort(condensed))):
        members = sorted(condensed.nodes[component]["members"])
        if members != [target]:
            solve_component(sub, members, found)
    return found


def solve_component(g: nx.DiGraph, members: list[str], found: dict[str, float]) -> None:
    """reach() of one strongly connected component whose downstream is in `found`:
    h = P h + b, P the shares within the component, b what leaves it times reach."""
    if len(members) == 1:
        m = members[0]
        inner = g[m][m]["share"] if g.has_edge(m, m) else 0.0
        out = sum(d["share"] * found.get(y, 0.0) for _, y, d in g.out_edges(m, data=True) if y != m)
        found[m] = clamp(out / (1.0 - inner))
        return
    index = {m: i for i, m in enumerate(members)}
    sources, targets, shares = [], [], []
    b = np.zeros(len(members))
    for m in members:
        for _, y, d in g.out_edges(m, data=True):
            if y in index:
                sources.append(index[m])
                targets.append(index[y])
                shares.append(d["share"])
            else:
                b[index[m]] += d["share"] * found.get(y, 0.0)
    if len(members) <= DENSE_LIMIT:
        p = np.zeros((len(members), len(members)))
        np.add.at(p, (np.array(sources, dtype=np.int64), np.array(targets, dtype=np.int64)),
                  np.array(shares))
        h = np.linalg.solve(np.eye(len(members)) - p, b)
    else:
        h = iterate(np.array(sources, dtype=np.int64), np.array(targets, dtype=np.int64),
                    np.array(shares), b)
    for m, value in zip(members, h, strict=True):
        found[m] = clamp(float(value))


def iterate(src: np.ndarray, dst: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """h = P h + b by steps from h = b (each step one more turn in the component), until
    nothing moves by more than SOLVED, or MAX_STEPS."""
    h = b.copy()
    for _ in range(MAX_STEPS):
        following = b + np.bincount(src, weights=w * h[dst], minlength=len(b))
        if np.max(np.abs(following - h)) <= SOLVED:
            return following
        h = following
    return h


def clamp(value: float) -> float:
    """Rounding may leave 1.0000000000000002 or -1e-17."""
    return min(1.0, max(0.0, value))


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
    callers = routing.callers(edge)
    target = SPLICED if edge is not None else str(node)
    upstream = upstream_of(callers.every, target)
    shares = reach(callers.shared, target)
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
