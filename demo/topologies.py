"""The simulated meshes, as plain data: Istio Bookinfo and Google Online Boutique,
Linkerd's emojivoto (its workloads' metrics are Linkerd's: Workload.mesh), and
DeathStarBench's socialNetwork (seen through trace-derived service-graph metrics).

A topology is a set of workloads (Kubernetes deployments with Istio's `app` and
`version` labels) and the edges between them. Request edges (HTTP or gRPC) carry a
rate in requests per second and the shape of their latency and sizes; TCP edges carry
byte and connection rates. The rates are per edge, chosen so that a fan-out looks like
the real application: every product page asks details and one of the three reviews.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Protocol = Literal["http", "grpc"]


class TopologyError(ValueError):
    """An unknown topology name, or a topology that refers to a missing workload."""


@dataclass(frozen=True)
class Workload:
    name: str
    namespace: str
    app: str
    version: str = "v1"
    # Istio's canonical revision is the version label, or "latest" when there is none.
    canonical_revision: str = "v1"
    # The Kubernetes Service in front of the workload; None for pure clients.
    service: str | None = None
    # Whose proxy it runs, hence which metrics describe its traffic: "istio" or "linkerd".
    mesh: str = "istio"

    def host(self) -> str:
        """The FQDN Istio reports as destination_service."""
        return f"{self.service}.{self.namespace}.svc.cluster.local"


# A client without a sidecar: only the destination proxy sees it, and knows nothing of it.
UNKNOWN = Workload(
    name="unknown", namespace="unknown", app="unknown", version="unknown",
    canonical_revision="unknown",
)


@dataclass(frozen=True)
class Edge:
    """What request and TCP edges have in common: their ends, the first two fields."""

    source: Workload
    destination: Workload

    @property
    def key(self) -> tuple[str, str]:
        return (self.source.name, self.destination.name)


@dataclass(frozen=True)
class RequestEdge(Edge):
    protocol: Protocol
    rate: float  # requests per second
    latency_ms: tuple[float, float]  # mean, standard deviation
    request_bytes: float  # mean
    response_bytes: float  # mean
    mtls: bool = True
    not_found: float = 0.0  # background share of 404s (HTTP only)
    # None: Istio's proxies report the edge. Otherwise the edge is seen in traces only, and
    # is reported as an OpenTelemetry servicegraph connector would, with this connection
    # type ("" service to service, "database", "messaging_system", "virtual_node").
    connection_type: str | None = None
    broker: str = ""  # messaging_system: the producer's messaging.system


@dataclass(frozen=True)
class TcpEdge(Edge):
    sent_bytes: float  # per second, server to client (Istio's "sent" is the response side)
    received_bytes: float  # per second, client to server
    connections: float  # opened per second
    mtls: bool = True


@dataclass(frozen=True)
class Topology:
    name: str
    workloads: tuple[Workload, ...]
    requests: tuple[RequestEdge, ...]
    tcp: tuple[TcpEdge, ...] = field(default=())


def _bookinfo() -> Topology:
    ns = "bookinfo"
    gateway = Workload(
        "istio-ingressgateway", "istio-system", "istio-ingressgateway",
        version="unknown", canonical_revision="latest", service="istio-ingressgateway",
    )
    productpage = Workload("productpage-v1", ns, "productpage", service="productpage")
    details = Workload("details-v1", ns, "details", service="details")
    reviews = [
        Workload(f"reviews-{v}", ns, "reviews", version=v, canonical_revision=v, service="reviews")
        for v in ("v1", "v2", "v3")
    ]
    ratings = Workload("ratings-v1", ns, "ratings", service="ratings")
    # Bookinfo's MongoDB-backed ratings; routing sends it nothing now, but its series from
    # an earlier rollout remain: the idle edges and idle node of the demo.
    ratings_v2 = Workload("ratings-v2", ns, "ratings", version="v2", canonical_revision="v2",
                          service="ratings")
    page_rate = 10.0 + 0.5  # through the gateway, plus a trickle from outside the mesh
    requests = [
        RequestEdge(gateway, productpage, "http", 10.0, (45, 20), 720, 5200, not_found=0.01),
        RequestEdge(UNKNOWN, productpage, "http", 0.5, (40, 15), 650, 5100, mtls=False,
                    not_found=0.02),
        RequestEdge(productpage, details, "http", page_rate, (3, 1.5), 410, 180),
        RequestEdge(productpage, reviews[0], "http", page_rate / 3, (6, 3), 450, 300),
        RequestEdge(productpage, reviews[1], "http", page_rate / 3, (14, 6), 450, 440),
        RequestEdge(productpage, reviews[2], "http", page_rate / 3, (15, 6), 450, 440),
        RequestEdge(reviews[1], ratings, "http", page_rate / 3, (2, 1), 350, 90),
        RequestEdge(reviews[2], ratings, "http", page_rate / 3, (2, 1), 350, 90),
        RequestEdge(reviews[1], ratings_v2, "http", 0.0, (3, 1), 350, 90),
        RequestEdge(reviews[2], ratings_v2, "http", 0.0, (3, 1), 350, 90),
    ]
    workloads = (gateway, productpage, details, *reviews, ratings, ratings_v2)
    return Topology("bookinfo", workloads, tuple(requests))


def _boutique() -> Topology:
    ns = "boutique"

    def workload(name: str, service: bool = True) -> Workload:
        return Workload(name, ns, name, service=name if service else None)

    loadgenerator = workload("loadgenerator", service=False)
    names = (
        "frontend adservice cartservice checkoutservice currencyservice emailservice "
        "paymentservice productcatalogservice recommendationservice shippingservice redis-cart"
    ).split()
    w = {name: workload(name) for name in names}

    def grpc(src: str, dst: str, rate: float, latency: tuple[float, float],
             sizes: tuple[float, float]) -> RequestEdge:
        return RequestEdge(w[src], w[dst], "grpc", rate, latency, *sizes)

    requests = [
        # The load generator has no client certificate here: the one plain-text edge.
        RequestEdge(loadgenerator, w["frontend"], "http", 20.0, (60, 30), 520, 8200, mtls=False),
        grpc("frontend", "currencyservice", 40.0, (2, 1), (60, 45)),
        grpc("frontend", "productcatalogservice", 30.0, (3, 1.5), (40, 2100)),
        grpc("frontend", "cartservice", 12.0, (5, 2), (60, 120)),
        grpc("frontend", "adservice", 8.0, (4, 2), (30, 260)),
        grpc("frontend", "recommendationservice", 6.0, (15, 6), (90, 70)),
        grpc("frontend", "shippingservice", 3.0, (3, 1), (110, 40)),
        grpc("frontend", "checkoutservice", 1.0, (120, 40), (380, 420)),
        grpc("checkoutservice", "cartservice", 2.0, (5, 2), (60, 120)),
        grpc("checkoutservice", "currencyservice", 3.0, (2, 1), (60, 45)),
        grpc("checkoutservice", "emailservice", 1.0, (25, 10), (420, 5)),
        grpc("checkoutservice", "paymentservice", 1.0, (8, 3), (90, 50)),
        grpc("checkoutservice", "productcatalogservice", 2.0, (3, 1.5), (30, 210)),
        grpc("checkoutservice", "shippingservice", 2.0, (3, 1), (110, 40)),
        grpc("recommendationservice", "productcatalogservice", 6.0, (3, 1.5), (20, 2100)),
    ]
    tcp = [TcpEdge(w["cartservice"], w["redis-cart"], 4200.0, 2600.0, 0.2)]
    return Topology("boutique", (loadgenerator, *w.values()), tuple(requests), tuple(tcp))


def _social() -> Topology:
    """DeathStarBench's socialNetwork, seen through traces only: its Thrift services, their
    MongoDB, Redis and Memcached stores (client spans with db.* attributes), the RabbitMQ
    queue from compose-post to write-home-timeline, and users' browsers (no spans)."""
    ns = "social"
    names = (
        "nginx-web-server compose-post-service text-service url-shorten-service "
        "user-mention-service media-service unique-id-service user-service "
        "post-storage-service user-timeline-service home-timeline-service "
        "social-graph-service write-home-timeline-service"
    ).split()
    stores = (
        "post-storage-mongodb post-storage-memcached user-timeline-mongodb "
        "user-timeline-redis home-timeline-redis social-graph-mongodb social-graph-redis "
        "user-mongodb user-memcached url-shorten-mongodb url-shorten-memcached"
    ).split()
    w = {name: Workload(name, ns, name, service=name) for name in (*names, *stores)}
    user = Workload("user", ns, "user")

    def call(src: str, dst: str, rate: float, latency: tuple[float, float],
             connection_type: str = "") -> RequestEdge:
        return RequestEdge(w[src], w[dst], "http", rate, latency, 300, 900,
                           connection_type=connection_type)

    def db(src: str, dst: str, rate: float) -> RequestEdge:
        return call(src, dst, rate, (1.5, 0.8), "database")

    requests = [
        RequestEdge(user, w["nginx-web-server"], "http", 20.0, (40, 15), 600, 4000,
                    connection_type="virtual_node"),
        call("nginx-web-server", "compose-post-service", 2.0, (25, 8)),
        call("nginx-web-server", "home-timeline-service", 10.0, (12, 5)),
        call("nginx-web-server", "user-timeline-service", 6.0, (10, 4)),
        call("nginx-web-server", "user-service", 1.0, (8, 3)),
        call("nginx-web-server", "social-graph-service", 1.0, (6, 2)),
        call("compose-post-service", "text-service", 2.0, (8, 3)),
        call("compose-post-service", "media-service", 2.0, (2, 1)),
        call("compose-post-service", "unique-id-service", 2.0, (1, 0.5)),
        call("compose-post-service", "user-service", 2.0, (3, 1)),
        call("compose-post-service", "post-storage-service", 2.0, (4, 2)),
        call("compose-post-service", "user-timeline-service", 2.0, (4, 2)),
        RequestEdge(w["compose-post-service"], w["write-home-timeline-service"], "http", 2.0,
                    (6, 3), 300, 100, connection_type="messaging_system", broker="rabbitmq"),
        call("text-service", "url-shorten-service", 2.0, (3, 1)),
        call("text-service", "user-mention-service", 2.0, (3, 1)),
        call("user-timeline-service", "post-storage-service", 8.0, (4, 2)),
        call("home-timeline-service", "post-storage-service", 10.0, (4, 2)),
        call("home-timeline-service", "social-graph-service", 1.0, (3, 1)),
        call("write-home-timeline-service", "social-graph-service", 2.0, (3, 1)),
        call("social-graph-service", "user-service", 1.0, (3, 1)),
        db("url-shorten-service", "url-shorten-mongodb", 2.0),
        db("url-shorten-service", "url-shorten-memcached", 2.0),
        db("user-mention-service", "user-memcached", 2.0),
        db("user-service", "user-memcached", 4.0),
        db("user-service", "user-mongodb", 1.0),
        db("post-storage-service", "post-storage-memcached", 20.0),
        db("post-storage-service", "post-storage-mongodb", 4.0),
        db("user-timeline-service", "user-timeline-redis", 8.0),
        db("user-timeline-service", "user-timeline-mongodb", 2.0),
        db("home-timeline-service", "home-timeline-redis", 10.0),
        db("write-home-timeline-service", "home-timeline-redis", 2.0),
        db("social-graph-service", "social-graph-redis", 4.0),
        db("social-graph-service", "social-graph-mongodb", 1.0),
    ]
    return Topology("social", (user, *w.values()), tuple(requests))


def _emojivoto() -> Topology:
    """Linkerd's demo application: a bot votes through the web front end, which asks the
    emoji and voting gRPC services; a trickle of requests comes from outside the mesh. The
simulator writes an edge in the metrics of its destination's mesh."""
    ns = "emojivoto"

    def workload(name: str, service: str | None) -> Workload:
        return Workload(name, ns, name, version="v11", canonical_revision="v11",
                        service=service, mesh="linkerd")

    bot, web = workload("vote-bot", None), workload("web", "web-svc")
    emoji, voting = workload("emoji", "emoji-svc"), workload("voting", "voting-svc")
    requests = [
        RequestEdge(bot, web, "http", 6.0, (25, 10), 300, 900),
        RequestEdge(UNKNOWN, web, "http", 0.5, (20, 8), 250, 900, mtls=False),
        RequestEdge(web, emoji, "grpc", 9.0, (3, 1), 40, 1800),
        RequestEdge(web, voting, "grpc", 3.0, (5, 2), 60, 30),
    ]
    return Topology("emojivoto", (bot, web, emoji, voting), tuple(requests))


TOPOLOGIES: dict[str, Topology] = {
    t.name: t for t in (_bookinfo(), _boutique(), _emojivoto(), _social())}


@dataclass(frozen=True)
class Mesh:
    """The union of the selected topologies."""

    topologies: tuple[Topology, ...]

    @property
    def requests(self) -> tuple[RequestEdge, ...]:
        return tuple(e for t in self.topologies for e in t.requests)

    @property
    def tcp(self) -> tuple[TcpEdge, ...]:
        return tuple(e for t in self.topologies for e in t.tcp)

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return tuple(w for t in self.topologies for w in t.workloads)


def parse_names(value: str | Iterable[str]) -> list[str]:
    """Split `bookinfo,boutique` (or a list of such strings) into topology names."""
    parts = [value] if isinstance(value, str) else list(value)
    names = [n.strip() for part in parts for n in part.split(",") if n.strip()]
    if not names:
        raise TopologyError(f"no topology given; choose from {', '.join(TOPOLOGIES)}")
    unknown = [n for n in names if n not in TOPOLOGIES]
    if unknown:
        raise TopologyError(
            f"unknown topology {', '.join(unknown)}; choose from {', '.join(TOPOLOGIES)}"
        )
    return list(dict.fromkeys(names))


def select(value: str | Iterable[str]) -> Mesh:
    """The mesh made of the named topologies, e.g. `select("bookinfo,boutique")`."""
    return Mesh(tuple(TOPOLOGIES[name] for name in parse_names(value)))
