"""Kiali's finalizers on a merged traffic map (isOutside and isInaccessible, isRoot), and
its service graph, reduced from the workload graph through the workloads between services.
"""

from __future__ import annotations

from graph import ids, traffic
from graph.options import MeshConfig


def mark_outsiders(tm: traffic.TrafficMap, namespaces: tuple[str, ...],
                   mesh: MeshConfig) -> None:
    """isOutside: a namespace not requested; isInaccessible: one the user may not see."""
    for n in tm.nodes.values():
        md = n["md"]
        node_type, namespace = n["node_type"], n["namespace"]
        if node_type == ids.NODE_UNKNOWN or (node_type == ids.NODE_SERVICE and (
                namespace == ids.UNKNOWN or md.get("isEgressCluster"))):
            md["isInaccessible"] = True
        elif namespace != ids.UNKNOWN and namespace not in namespaces:
            md["isOutside"] = True
        if "isInaccessible" not in md and not mesh.is_accessible(n["cluster"], namespace):
            md["isInaccessible"] = True


def mark_roots(tm: traffic.TrafficMap) -> None:
    """isRoot: a node that sends traffic and receives none (a traffic generator)."""
    targets = {target for edges in tm.out.values() for target, _ in edges}
    for node_id, n in tm.nodes.items():
        if tm.out[node_id] and node_id not in targets:
            n["md"]["isRoot"] = True


SERVICE_LIKE = frozenset((ids.NODE_SERVICE, *ids.PEER_NODE_TYPES))


def reduce_to_service_graph(tm: traffic.TrafficMap) -> traffic.TrafficMap:
    """Kiali's service graph: service -> service edges through the workloads between them;
    roots that call services stay as they are.

    The peers of trace-derived graphs (databases, brokers, uninstrumented ends) are no
    workloads to see through: they stay as services do, and a peer's own calls to
    services stay as they are."""
    reduced = traffic.TrafficMap()
    nodes = tm.nodes

    def service_like(node_id: str) -> bool:
        return nodes[node_id]["node_type"] in SERVICE_LIKE

    for node_id, n in nodes.items():
        md = n["md"]
        if not service_like(node_id):
            to_services = {key: d for key, d in tm.out[node_id].items()
                           if service_like(key[0])} if md.get("isRoot") else {}
            if to_services:
                traffic.reset_outgoing(md)
                reduced.add_node(node_id, **n)
                for d in to_services.values():
                    traffic.add_outgoing(md, d["md"])
                reduced.out[node_id] = to_services
            continue
        reduced.add_node(node_id, **n)
        traffic.reset_outgoing(md)
        edges = reduced.out[node_id]
        is_peer = n["node_type"] in ids.PEER_NODE_TYPES
        for (target, target_protocol), target_edge in list(tm.out[node_id].items()):
            # Like Kiali, once per edge: a workload reached by two protocols counts twice.
            if is_peer and service_like(target):
                hops = [((target, target_protocol), target_edge)]
            else:
                hops = list(tm.out[target].items())
            for (service, protocol), d in hops:
                if not service_like(service):
                    continue
                traffic.add_outgoing(md, d["md"])
                existing = edges.get((service, protocol))
                if existing is None:
                    edges[(service, protocol)] = {**d, "source_md": md}
                else:
                    traffic.aggregate_edge(existing["md"], d["md"], protocol)
    return reduced
