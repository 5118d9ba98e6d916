"""The nodes a service-graph edge is drawn through, in each graph type.

An instrumented service (an OpenTelemetry `service.name`) is one deployable unit answering
to one name: it is read as a workload, an app and a service of that name, so that each
graph type draws it as its own kind (a workload node in the workload graph, an app node in
the app graphs, a service node once the service graph is reduced) and a service that Istio
knows by the same name is the same node. As in Istio's graphs, a service node is injected
in front of the server when service nodes are asked for (and always for the service graph,
which is reduced from them). Databases, brokers and virtual peers are nodes of their own
types, the same in every graph type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graph import ids, traffic
from graph.sources.traces.labels import PEER_PREFIX, SERVICE, End, Ends


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    fields: dict[str, Any]  # traffic.node_fields without "md": copied into each map
    injected: bool = False

    def place(self, g: traffic.TrafficMap) -> traffic.Metadata:
        """Add the node to the map unless it is there; return its metadata."""
        n = g.nodes.get(self.id)
        if n is None:
            md: traffic.Metadata = {"isInjected": True} if self.injected else {}
            g.nodes[self.id] = n = {**self.fields, "md": md}
            g.out[self.id] = {}
        return n["md"]  # type: ignore[no-any-return]


def without_md(fields: dict[str, Any]) -> dict[str, Any]:
    fields.pop("md")
    return fields


@lru_cache(maxsize=1 << 14)
def node(end: End, cluster: str, graph_type: str) -> Node:
    ns, name = end.namespace, end.name
    if end.kind == SERVICE:
        found = ids.node_id(cluster, ns, name, ns, name, name, "", graph_type)
        return Node(found.id, without_md(traffic.node_fields(
            found.node_type, cluster, ns, name, name, "", name, graph_type)))
    return Node(f"{PEER_PREFIX[end.kind]}_{cluster}_{ns}_{name}",
                {"node_type": end.kind, "cluster": cluster, "namespace": ns, "workload": "",
                 "app": "", "version": "", "service": name})


@lru_cache(maxsize=1 << 14)
def service_node(end: End, cluster: str, graph_type: str) -> Node:
    """The service node injected in front of an instrumented server."""
    found = ids.node_id(cluster, end.namespace, end.name, "", "", "", "", graph_type)
    return Node(found.id, without_md(traffic.node_fields(
        ids.NODE_SERVICE, cluster, end.namespace, "", "", "", end.name, graph_type)),
        injected=True)


@lru_cache(maxsize=1 << 14)
def path(ends: Ends, cluster: str, graph_type: str, inject: bool) -> tuple[Node, ...]:
    """caller [-> broker | -> service] -> server"""
    client, server = node(ends.client, cluster, graph_type), node(ends.server, cluster,
                                                                  graph_type)
    if ends.broker is not None:
        return client, node(ends.broker, cluster, graph_type), server
    if inject and ends.server.kind == SERVICE:
        return client, service_node(ends.server, cluster, graph_type), server
    return client, server
