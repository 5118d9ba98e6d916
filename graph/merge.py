"""One graph from the graphs of several (data source, dialect) pairs.

    merged = merge_sources([Sourced("default", "istio", g1), Sourced("edge", "linkerd", g2)])

The rules (the README's "Several data sources" states them for users):

- Nodes are matched by id: the same cluster, namespace and name (and node type) are the
  same node. The first copy in the given order (sources in their configured order, each
  source's dialects in DIALECT_RANK order) is kept, with its flags and inbound rates.
- An edge is one per (source node, target node, protocol). When several pairs report it,
  the copy with the most detail is kept (see `detail`); its rates are not added to the
  others' (they count the same requests).
- A node's outbound rates are worked out again from the edges kept, so that an edge's
  share of its source's traffic (percentReq) adds up.
- When more than one data source is read, every node and edge lists the sources that
  saw it, in `md["sources"]` (the JSON's `sources`).
- isRoot and health are then worked out again over the merged edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from graph import traffic
from graph.cells import whole
from graph.health import HealthConfig, annotate_health

# When two copies of an edge are as detailed, the dialect that says more about a request
# wins: Istio (response flags, both reporters, principals), then Linkerd, then the rest.
DIALECT_RANK = {"istio": 2, "linkerd": 1}
# Fields the appenders add to an edge: a copy that has more of them says more.
APPENDED = ("responseTime", "throughput", "isMTLS", "sourcePrincipal", "destPrincipal")


@dataclass(frozen=True)
class Sourced:
    """The graph one dialect drew from one data source."""

    source: str
    dialect: str
    graph: nx.MultiDiGraph


def detail(protocol: str, md: dict[str, Any], dialect: str) -> tuple[int, int, int]:
    """How much an edge copy says, compared in order: the distinct (response code, flag)
    pairs it reports (a code without flags counts once), then the appended fields it has
    (response time, throughput, mTLS, principals), then its dialect's DIALECT_RANK.

    >>> detail("http", {"httpResponses": {"200": {"flags": {"-": 1.0}, "hosts": {}},
    ...                                   "503": {"flags": {"UH": 1.0, "-": 1.0},
    ...                                           "hosts": {}}}}, "linkerd")
    (3, 0, 1)
    """
    responses = md.get(f"{protocol}Responses") or {}
    codes = sum(max(1, len(d["flags"])) for d in responses.values())
    appended = sum(1 for key in APPENDED if key in md)
    return codes, appended, DIALECT_RANK.get(dialect, 0)


def merge_sources(graphs: Sequence[Sourced], health: HealthConfig | None,
                  mark_sources: bool | None = None) -> nx.MultiDiGraph:
    """The graphs merged by the module's rules; the first graph's attributes (time,
    duration, graph type) are the merged graph's. `mark_sources`: whether to write each
    element's sources (by default, when the graphs come from more than one source)."""
    order = {name: i for i, name in enumerate(dict.fromkeys(s.source for s in graphs))}
    for sourced in graphs:
        whole(sourced.graph)  # detail() counts the responses; health is judged on dicts
    merged = nx.MultiDiGraph()
    merged.graph.update(graphs[0].graph.graph)
    seen_by: dict[Any, set[str]] = {}
    node_from: dict[str, int] = {}
    best: dict[tuple[str, str, str], tuple[tuple[int, int, int], int]] = {}
    for index, sourced in enumerate(graphs):
        for node_id, attrs in sourced.graph.nodes(data=True):
            if node_id not in merged:
                merged.add_node(node_id, **attrs)
                node_from[node_id] = index
            seen_by.setdefault(node_id, set()).add(sourced.source)
        for u, v, protocol, data in sourced.graph.edges(keys=True, data=True):
            key = (u, v, protocol)
            seen_by.setdefault(key, set()).add(sourced.source)
            score = detail(protocol, data["md"], sourced.dialect)
            # Strictly more detail replaces: on a tie the earlier graph keeps it.
            if key in best and best[key][0] >= score:
                continue
            best[key] = (score, index)
            merged.add_edge(u, v, key=protocol, **data)
    foreign = {u for (u, _, _), (_, index) in best.items() if index != node_from[u]}
    for node_id in foreign:
        traffic.reset_outgoing(merged.nodes[node_id]["md"])
    for u, _, data in merged.edges(data=True):
        data["source_md"] = merged.nodes[u]["md"]
        if u in foreign:
            traffic.add_outgoing(data["source_md"], data["md"])
    several = len(order) > 1 if mark_sources is None else mark_sources
    for node_id, md in merged.nodes(data="md"):
        if several:
            md["sources"] = sorted(seen_by[node_id], key=order.__getitem__)
        md.pop("isRoot", None)
        if merged.out_degree(node_id) and not merged.in_degree(node_id):
            md["isRoot"] = True
    for u, v, protocol, data in merged.edges(keys=True, data=True) if several else ():
        data["md"]["sources"] = sorted(seen_by[(u, v, protocol)], key=order.__getitem__)
    annotate_health(merged.nodes, merged.edges(keys=True, data=True),
                    health or HealthConfig.default())
    return merged
