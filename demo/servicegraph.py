"""Trace-derived telemetry for the edges seen through traces only: what the OpenTelemetry
Collector's servicegraph connector writes once it has paired a client span with its server
span (or a producer's with its consumer's), exported to Prometheus.

Each request is one pair. It failed when a span of the pair has status error (here: when
a fault hit it). Both spans' durations are recorded: the client's includes the network.
A database and an uninstrumented server send no span, and an uninstrumented client (a
user's browser) neither: the connector then records what it has, so a database edge
carries the client span's duration on both sides, and a missing span counts as 0 s.
"""

from __future__ import annotations

from demo.telemetry import MetricStore, label_values
from demo.topologies import RequestEdge

REQUESTS = "traces_service_graph_request_total"
FAILED = "traces_service_graph_request_failed_total"
SERVER = "traces_service_graph_request_server_seconds"
CLIENT = "traces_service_graph_request_client_seconds"
USER = "user"  # the connector's name for a caller that sends no spans


def virtual_client(edge: RequestEdge) -> bool:
    return edge.connection_type == "virtual_node" and edge.source.name == USER


def virtual_server(edge: RequestEdge) -> bool:
    return edge.connection_type == "virtual_node" and edge.source.name != USER


def trace_labels(edge: RequestEdge, failed: bool) -> dict[str, str]:
    """The labels of an edge's series (an empty value is no label)."""
    peer_server = edge.connection_type == "database" or virtual_server(edge)
    return {
        "client": edge.source.name,
        "server": edge.destination.name,
        "connection_type": edge.connection_type or "",
        "failed": "true" if failed else "false",
        "client_service_namespace": "" if virtual_client(edge) else edge.source.namespace,
        "server_service_namespace": "" if peer_server else edge.destination.namespace,
        "client_messaging_system": edge.broker,
    }


def record(store: MetricStore, edge: RequestEdge, labels: dict[str, str], n: int,
           server_ms: list[float], client_ms: list[float]) -> None:
    """Count `n` requests (all failed or none: `labels` say) with their spans' durations."""
    values = label_values(labels, REQUESTS)
    store.add(REQUESTS, values, n)
    if labels["failed"] == "true":
        store.add(FAILED, values, n)
    if edge.connection_type == "database":
        server_ms = client_ms
    elif virtual_server(edge):
        server_ms = [0.0] * n
    if virtual_client(edge):
        client_ms = [0.0] * n
    store.observe(SERVER, values, [ms / 1000 for ms in server_ms])
    store.observe(CLIENT, values, [ms / 1000 for ms in client_ms])
