"""How service-graph rows become traffic maps.

Each edge's requests are HTTP-like: the service graph knows no protocol, and HTTP's
rates and tolerances are the ones that fit a request that either succeeded or failed.
The service graph has no response codes either: a failed request (a span with status
error on either side) is counted as a 500 and the others as 200s, so that the engine's
health (Kiali's HTTP 5xx tolerance: degraded above 0 %, failure at 10 % by default, or a
rule's own) and the Kiali-format rates (`http5xx`, `httpPercentErr`, `responses`) read
them as they read any mesh's. Every response has the flag "-" (no flag) and the server's
name as its host.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graph import ids, traffic
from graph.options import GraphOptions
from graph.prometheus import Row, read
from graph.sources.traces.labels import EdgeLabels, ends
from graph.sources.traces.nodes import Node, path
from graph.sources.traces.queries import FAILED, NODE, Placement, TracesQuery

OK_CODE, FAILED_CODE, NO_FLAG = "200", "500", "-"


def add_requests(g: traffic.TrafficMap, hops: Sequence[Node], code: str, host: str,
                 value: float) -> None:
    """Count `value` requests/s answered with `code` on every hop of a path."""
    if value <= 0:
        return
    out_key, dest_keys, edge_keys = traffic.rate_keys(traffic.HTTP, code)
    for source, dest in zip(hops, hops[1:], strict=False):
        source_md, dest_md = source.place(g), dest.place(g)
        edge_md = g.edge_data(source.id, dest.id, traffic.HTTP)["md"]
        traffic.add_value(source_md, out_key, value)
        for key in dest_keys:
            traffic.add_value(dest_md, key, value)
        for key in edge_keys:
            traffic.add_value(edge_md, key, value)
        traffic.add_response(edge_md, traffic.HTTP, code, NO_FLAG, host, value)


def place_path(g: traffic.TrafficMap, hops: Sequence[Node]) -> None:
    """The nodes and edges of a path, without traffic (an idle edge)."""
    for source, dest in zip(hops, hops[1:], strict=False):
        source.place(g)
        dest.place(g)
        g.edge_data(source.id, dest.id, traffic.HTTP)
    server = hops[-1]
    if server.fields["node_type"] in ids.PEER_NODE_TYPES:
        return
    # As with Istio, the server (and its injected service node) lists the service it was
    # reached through: here, its own name.
    fields = server.fields
    name = (fields["cluster"], fields["namespace"],
            fields["service"] or fields["app"] or fields["workload"])
    for n in (hops[1], server) if hops[1].injected else (server,):
        n.place(g).setdefault("destServices", {})[name] = True


class NamespaceTraffic:
    """Requests and failures per series, then one map per namespace: a series goes to the
    maps of the namespaces its ends are in (a node graph's, to its one map)."""

    def __init__(self, options: GraphOptions, namespaces: Sequence[str] | None = None) -> None:
        self.options = options
        self.namespaces = tuple(options.namespaces if namespaces is None else namespaces)
        self.node_graph = False
        self.placement: Placement | None = None
        # series labels -> [requests/s, failed requests/s]
        self.rates: dict[EdgeLabels, list[float]] = {}

    def apply(self, query: TracesQuery, rows: Iterable[Row]) -> None:
        self.placement = query.placement
        self.node_graph = query.kind == NODE
        column = 1 if query.metric == FAILED else 0
        for key, value in rows:
            labels = read(EdgeLabels, key)
            if labels is not None:
                self.rates.setdefault(labels, [0.0, 0.0])[column] += value

    def maps(self) -> dict[str, traffic.TrafficMap]:
        maps = {ns: traffic.TrafficMap() for ns in self.namespaces}
        if self.placement is None:
            return maps
        options, placement = self.options, self.placement
        inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        for labels, (total, failed) in self.rates.items():
            found = ends(labels, placement.default_namespace)
            if found is None:
                continue
            hops = path(found, placement.cluster, options.graph_type, inject)
            if self.node_graph:
                wanted = list(maps)
            else:
                wanted = [ns for ns in maps if ns in (found.client.namespace,
                                                       found.server.namespace)]
            failed = min(failed, total)
            for ns in wanted:
                place_path(maps[ns], hops)
                add_requests(maps[ns], hops, OK_CODE, labels.server, total - failed)
                add_requests(maps[ns], hops, FAILED_CODE, labels.server, failed)
        return maps
