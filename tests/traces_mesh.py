"""Trace-derived service-graph telemetry for tests: the series Tempo's metrics-generator or
the OpenTelemetry Collector's servicegraph connector writes for an edge.

    nginx = Service("nginx", "social")
    series = request_edge(nginx, Service("compose-post", "social"), 6.0, failed=1.2)
    series += histogram(nginx, compose, "server", {"0.05": 3.0, "0.1": 6.0, "+Inf": 6.0}, 0.4)

A Service without a namespace writes no service.namespace dimension (its series are in the
configured default namespace). `connector=True` writes the connector's variant: a
`failed` label on every series, and histogram names without the `_seconds` suffix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUESTS = "traces_service_graph_request_total"
FAILED = "traces_service_graph_request_failed_total"


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str = ""  # "": no service.namespace dimension


def edge_labels(client: Service, server: Service, connection_type: str = "",
                **extra: str) -> dict[str, str]:
    labels = {"client": client.name, "server": server.name, "connection_type": connection_type,
              "client_service_namespace": client.namespace,
              "server_service_namespace": server.namespace}
    return {k: v for k, v in (labels | extra).items() if v}


def request_edge(client: Service, server: Service, requests: float, failed: float = 0.0,
                 connection_type: str = "", connector: bool = False,
                 **extra: str) -> list[dict[str, Any]]:
    """request_total and request_failed_total of one edge, in requests/s."""
    labels = edge_labels(client, server, connection_type, **extra)
    if not connector:
        out = [{"metric": REQUESTS, "labels": labels, "rate": requests}]
        if failed:
            out.append({"metric": FAILED, "labels": labels, "rate": failed})
        return out
    out = [{"metric": REQUESTS, "labels": labels | {"failed": "false"},
            "rate": requests - failed}]
    if failed:
        out += [{"metric": REQUESTS, "labels": labels | {"failed": "true"}, "rate": failed},
                {"metric": FAILED, "labels": labels | {"failed": "true"}, "rate": failed}]
    return out


def histogram(client: Service, server: Service, side: str, buckets: dict[str, float],
              sum_seconds: float, connection_type: str = "", connector: bool = False,
              **extra: str) -> list[dict[str, Any]]:
    """The `side` ("server" or "client") duration histogram of one edge: requests/s in each
    cumulative bucket {le in seconds: rate} (the last "+Inf", also the _count), seconds/s
    in _sum."""
    name = f"traces_service_graph_request_{side}" + ("" if connector else "_seconds")
    labels = edge_labels(client, server, connection_type, **extra)
    if connector:
        labels |= {"failed": "false"}
    out = [{"metric": f"{name}_bucket", "labels": labels | {"le": le}, "rate": rate}
           for le, rate in buckets.items()]
    return out + [{"metric": f"{name}_sum", "labels": labels, "rate": sum_seconds},
                  {"metric": f"{name}_count", "labels": labels, "rate": buckets["+Inf"]}]


# DeathStarBench's socialNetwork, in part, with service.namespace dimensions.
USER = Service("user")
NGINX = Service("nginx-web-server", "social")
COMPOSE = Service("compose-post-service", "social")
HOME = Service("home-timeline-service", "social")
WRITER = Service("write-home-timeline-service", "social")
MONGODB = Service("post-storage-mongodb")
REDIS = Service("home-timeline-redis")
CDN = Service("media-cdn")


def social_network(compose_failed: float = 1.2) -> list[dict[str, Any]]:
    """user (virtual) -> nginx (10/s) -> compose-post (6/s, `compose_failed` failing)
                                      -> home-timeline (4/s)
    compose-post -> post-storage-mongodb (database, 3/s)
    compose-post -> rabbitmq (broker) -> write-home-timeline (messaging, 2/s)
    home-timeline -> home-timeline-redis (database, 4/s)
    home-timeline -> media-cdn (uninstrumented server, 1/s)
    """
    return (
        request_edge(USER, NGINX, 10.0, connection_type="virtual_node")
        + request_edge(NGINX, COMPOSE, 6.0, failed=compose_failed)
        + request_edge(NGINX, HOME, 4.0)
        + request_edge(COMPOSE, MONGODB, 3.0, connection_type="database")
        + request_edge(COMPOSE, WRITER, 2.0, connection_type="messaging_system",
                       client_messaging_system="rabbitmq")
        + request_edge(HOME, REDIS, 4.0, connection_type="database")
        + request_edge(HOME, CDN, 1.0, connection_type="virtual_node")
    )
