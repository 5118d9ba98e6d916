"""The Istio telemetry dialect: which queries to run (how their rows become traffic is
in traffic.py).

Kiali reads, per namespace, (0) source-reported requests that never reached a workload,
(1) destination-reported inbound traffic and (2) source-reported outbound traffic, and
drops the duplicates that both reporters send. Meshlens asks the same questions with a
few broad queries per kind over all requested namespaces (regex matchers; the big request
queries in SHARDS disjoint shares of the namespaces) and splits the rows per namespace
(traffic.NamespaceTraffic), which gives Kiali's graph at a fraction of the Prometheus
cost. Rates are rounded as Kiali rounds them and idle rows dropped as its `> 0` drops
them, but on reading (Query.round_to, Query.positive), and the inbound queries carry the
connection's security for the security appender when it runs (inbound_query), so that
Prometheus reads those series once. The request shares in and out may be answered by
remote read (Query.remote, `remote_share`): the engine decides per server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from graph.options import GraphOptions, MeshConfig, Rates
from graph.prometheus import Query, joined_sum
from graph.promql import Matcher, alternation, any_of, eq, matches, ne
from graph.remote_read import RemoteRead
from graph.sources.istio.labels import (
    EdgeLabels,
    RequestLabels,
    SecuredRequestLabels,
    SecuredTcpLabels,
    TcpLabels,
)

REQUESTS = "istio_requests_total"
REQUEST_MESSAGES = "istio_request_messages_total"
RESPONSE_MESSAGES = "istio_response_messages_total"
TCP_SENT = "istio_tcp_sent_bytes_total"
TCP_RECEIVED = "istio_tcp_received_bytes_total"

# The labels each metric's rows are grouped by, in the order of their records' fields.
EDGE_LABELS = EdgeLabels._fields
REQUEST_LABELS = RequestLabels._fields
TCP_LABELS = TcpLabels._fields

# The appender that reads the connection's security (graph/sources/istio/security.py).
# When a build has it, the inbound request and TCP queries group by the security labels
# too (the traffic sums them away on reading), and the appender reads the same answer
# (sent once) instead of reading the same series again in a query of its own.
SECURITY_POLICY = "securityPolicy"

# Kiali rounds traffic rates to this (its queries' `round(..., 0.001)`).
ROUND_TO = 0.001

# The three kinds of namespace query, in the order Kiali applies them.
UNSERVICED, INBOUND, OUTBOUND = "unserviced", "inbound", "outbound"
# A node graph's queries are of one kind: all their rows go to the node's namespace map.
NODE = "node"


@dataclass(frozen=True)
class NamespaceQuery:
    metric: str
    kind: str
    query: Query


def metrics_for(options: GraphOptions) -> list[str]:
    rates = options.rates
    metrics = []
    if rates.http == "requests" or rates.grpc == "requests":
        metrics.append(REQUESTS)
    metrics += {"received": [RESPONSE_MESSAGES], "sent": [REQUEST_MESSAGES],
                "total": [REQUEST_MESSAGES, RESPONSE_MESSAGES]}.get(rates.grpc, [])
    # L4 telemetry is reported backwards (istio/istio#32399): "sent" reads received bytes.
    metrics += {"received": [TCP_SENT], "sent": [TCP_RECEIVED],
                "total": [TCP_RECEIVED, TCP_SENT]}.get(rates.tcp, [])
    return metrics


def labels_for(metric: str) -> tuple[str, ...]:
    if metric == REQUESTS:
        return REQUEST_LABELS
    if metric.startswith("istio_tcp"):
        return TCP_LABELS
    return EDGE_LABELS


def reporter(kind: str, rates: Rates) -> Matcher:
    """Kiali's reporter matcher: with ambient telemetry, waypoints report too."""
    if rates.ambient in ("waypoint", "total"):
        return any_of("reporter", ("waypoint", kind))
    return eq("reporter", kind)


def tcp_app_filter(rates: Rates) -> tuple[Matcher, ...]:
    """TCP metrics: leave out ztunnel's own series unless ztunnel traffic is wanted."""
    return (ne("app", "ztunnel"),) if rates.ambient in ("waypoint", "none") else ()


def drops_idle(options: GraphOptions) -> bool:
    """Whether the rows of idle edges (rate 0) are left out, as Kiali's `> 0` leaves them
    out unless asked: read as Query.positive, not sent in the query."""
    return not options.include_idle_edges


def rate_sum(metric: str, matchers: Sequence[Matcher], labels: Sequence[str],
             options: GraphOptions, mesh: MeshConfig) -> str:
    """Kiali's rate query, sum by `labels`, without its `> 0`: its readers drop the idle
    rows (Query(..., positive=drops_idle(options))), which spares Prometheus a pass over
    every row of the answer."""
    selector = mesh.scope().selector(metric, *matchers)
    return joined_sum(f"rate({selector} [{options.duration}s])", labels)


def promql(metric: str, matchers: Sequence[Matcher], options: GraphOptions,
           mesh: MeshConfig, weight: int = 0) -> Query:
    """Kiali's rate query of a metric, by the metric's labels, rounded to 0.001 as Kiali's
    `round(..., 0.001)` and idle rows dropped as its `> 0`, but both on reading
    (Query.round_to, Query.positive): the same rows and values, without Prometheus's two
    passes over the answer."""
    labels = labels_for(metric)
    return Query(rate_sum(metric, matchers, labels, options, mesh), labels, joined=True,
                 round_to=ROUND_TO, weight=weight, positive=drops_idle(options))


def remote_share(metric: str, matchers: Sequence[Matcher], options: GraphOptions,
                 mesh: MeshConfig) -> RemoteRead | None:
    """What a request share's rows are by remote read (its series over the rate window,
    the rates and sums computed by Meshlens): the ten request shares are most of the
    plan's Prometheus time, and remote read costs Prometheus 0.65-0.73 x their instant
    queries (bench/README.md, "sixth round: remote read, measured"). The other queries
    are small, and stay PromQL."""
    if metric != REQUESTS:
        return None
    return RemoteRead(metric, (*mesh.scope().matchers, *matchers), options.duration)


def secured_record(metric: str) -> type[SecuredRequestLabels] | type[SecuredTcpLabels] | None:
    """The labels a metric's inbound query groups by when the security appender reads its
    answer too; None for a metric that appender does not read."""
    if metric == REQUESTS:
        return SecuredRequestLabels
    if metric.startswith("istio_tcp"):
        return SecuredTcpLabels
    return None


# How many queries the big traffic queries (requests in and out) are split into, each over
# its share of the namespaces: disjoint, so that no series is read twice. Prometheus
# evaluates a query on one core; smaller ones spread over its cores, their answers come
# back (and are worked on) sooner, and together they cost it less CPU than one big one
# (at 10,000 workloads on 2 cores: 5.5-6.7 s in one, 4.4-4.8 s in five, 4.5 s in ten;
# bench/README.md, "Issue 7, second round").
SHARDS = 5

# Roughly how many series a namespace has in each metric, against its TCP byte counters,
# for Query.weight: Prometheus's cost of a query grows with the series it reads, and the
# heaviest are sent first. Request series are one per edge, response code and flags, and
# most edges are requests (bench meshes: 12,500 request series to 500 TCP per reporter).
SERIES_PER_EDGE = {REQUESTS: 10, REQUEST_MESSAGES: 1, RESPONSE_MESSAGES: 1, TCP_SENT: 1,
                   TCP_RECEIVED: 1}
HISTOGRAM_BUCKETS = 20


def weight(metric: str, namespaces: Sequence[str]) -> int:
    """Query.weight of a query of `metric` over `namespaces`."""
    return SERIES_PER_EDGE.get(metric, 1) * len(namespaces)


def shares(metric: str, namespaces: Sequence[str]) -> list[tuple[str, ...]]:
    """The namespaces each of a metric's inbound or outbound queries reads, in order."""
    count = max(1, min(SHARDS if metric == REQUESTS else 1, len(namespaces)))
    return [tuple(namespaces[i * len(namespaces) // count:(i + 1) * len(namespaces) // count])
            for i in range(count)]


def inbound_matchers(metric: str, options: GraphOptions,
                     namespaces: Sequence[str]) -> tuple[Matcher, ...]:
    app = tcp_app_filter(options.rates) if metric.startswith("istio_tcp") else ()
    return (*app, reporter("destination", options.rates),
            any_of("destination_workload_namespace", namespaces))


def secured_inbound(metric: str, options: GraphOptions, mesh: MeshConfig,
                    namespaces: Sequence[str]) -> str:
    """The inbound query of `metric` over `namespaces` (one of its shares), grouped by its
    secured record (traffic and security labels): the one text both its readers send, so
    that it is sent once."""
    record = secured_record(metric)
    if record is None:
        raise ValueError(f"{metric} carries no connection security")
    return rate_sum(metric, inbound_matchers(metric, options, namespaces), record._fields,
                    options, mesh)


def inbound_query(metric: str, options: GraphOptions, mesh: MeshConfig,
                  namespaces: Sequence[str]) -> Query:
    """The traffic's inbound query over `namespaces`: by the metric's labels, or, when the
    security appender reads the same series, by its secured record with the security
    labels summed away on reading (the rows and values of the plain query, one row per
    policy and principals added up)."""
    record = secured_record(metric)
    wanted = options.appenders is None or SECURITY_POLICY in options.appenders
    matchers = inbound_matchers(metric, options, namespaces)
    remote = remote_share(metric, matchers, options, mesh)
    if record is None or not wanted:
        return replace(promql(metric, matchers, options, mesh, weight(metric, namespaces)),
                       remote=remote)
    labels = labels_for(metric)
    return Query(secured_inbound(metric, options, mesh, namespaces), labels, joined=True,
                 round_to=ROUND_TO, summed_away=record._fields[len(labels):],
                 weight=weight(metric, namespaces), positive=drops_idle(options),
                 remote=remote)


def outbound_query(metric: str, options: GraphOptions, mesh: MeshConfig,
                   namespaces: Sequence[str]) -> Query:
    """The traffic's outbound query over `namespaces`, by the metric's labels."""
    app = tcp_app_filter(options.rates) if metric.startswith("istio_tcp") else ()
    matchers = (*app, reporter("source", options.rates),
                any_of("source_workload_namespace", namespaces))
    return replace(promql(metric, matchers, options, mesh, weight(metric, namespaces)),
                   remote=remote_share(metric, matchers, options, mesh))


def namespace_queries(options: GraphOptions, mesh: MeshConfig) -> list[NamespaceQuery]:
    """The queries of a namespace graph over all of options.namespaces: per metric, the
    unserviced query, then the inbound and the outbound queries (each split into shares
    of the namespaces: a namespace's rows come from one of them, in the order they would
    in one query)."""
    ns = options.namespaces
    source = reporter("source", options.rates)
    out = []
    for metric in metrics_for(options):
        app = tcp_app_filter(options.rates) if metric.startswith("istio_tcp") else ()
        unserviced = (
            *app, source, eq("destination_workload_namespace", "unknown"),
            eq("destination_workload", "unknown"),
            matches("destination_service", rf"^.+\.{alternation(ns)}\..+$"),
        )
        out.append(NamespaceQuery(metric, UNSERVICED,
                                  promql(metric, unserviced, options, mesh)))
        out += [NamespaceQuery(metric, INBOUND, inbound_query(metric, options, mesh, share))
                for share in shares(metric, ns)]
        out += [NamespaceQuery(metric, OUTBOUND, outbound_query(metric, options, mesh, share))
                for share in shares(metric, ns)]
    return out
