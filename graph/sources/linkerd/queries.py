"""The Linkerd dialect's queries (how their rows become traffic is in traffic.py).

Linkerd's proxies report each request twice: the caller's proxy as `direction="outbound"`,
naming the destination by its `dst_*` labels, and the callee's proxy as `inbound`, which
names no caller workload. Meshlens draws an edge from the outbound series, and reads
inbound series only for callers without a mesh identity (`tls!="true"`: they have no
proxy, hence no outbound series), drawn from the `unknown` node.

A namespace graph sends, over all requested namespaces at once:
- `workloads`: the app and version pod labels of every workload that reports inbound
  traffic (outbound series do not carry the destination's pod labels);
- `outbound`: response_total of the calls out of or into the requested namespaces;
- `unmeshed`: response_total reported inbound, in the requested namespaces, from callers
  without identity;
- the TCP byte counters the same two ways.
A node graph sends the same over the node's namespace and keeps the rows that touch it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query, joined_sum
from graph.promql import Matcher, Scope, any_of, eq, ne, none_of
from graph.sources.dialect import NodeTarget
from graph.sources.linkerd.labels import (
    POD,
    PodLabels,
    RequestLabels,
    TcpLabels,
    UnmeshedLabels,
)

RESPONSES = "response_total"
LATENCY = "response_latency_ms"
TCP_READ = "tcp_read_bytes_total"
TCP_WRITE = "tcp_write_bytes_total"

WORKLOADS, OUTBOUND, UNMESHED = "workloads", "outbound", "unmeshed"
TCP_OUTBOUND, TCP_UNMESHED = "tcpOutbound", "tcpUnmeshed"

OUT = eq("direction", "outbound")
IN = eq("direction", "inbound")
NO_IDENTITY = ne("tls", "true")


@dataclass(frozen=True)
class LinkerdQuery:
    """A traffic query: `kind` says how its rows are read; `cluster` names the cluster of
    every node (Linkerd's metrics have no cluster label); `target`, in a node graph, the
    node whose edges are kept."""

    metric: str
    kind: str
    query: Query
    cluster: str
    target: NodeTarget | None = None


def rate_at_either_end(metric: str, base: Sequence[Matcher], namespaces: Sequence[str],
                       duration: int, scope: Scope) -> str:
    """The outbound series of a caller in `namespaces`, or of a callee there: two disjoint
    selectors, so each series is read once."""
    source = any_of("namespace", namespaces)
    elsewhere = none_of("namespace", namespaces)
    dest = any_of("dst_namespace", namespaces)
    return (f"rate({scope.selector(metric, *base, source)}[{duration}s]) or "
            f"rate({scope.selector(metric, *base, elsewhere, dest)}[{duration}s])")


def rate_in(metric: str, base: Sequence[Matcher], namespaces: Sequence[str], duration: int,
            scope: Scope) -> str:
    """Series reported by the proxies of `namespaces`."""
    return f"rate({scope.selector(metric, *base, any_of('namespace', namespaces))}[{duration}s])"


def summed(rates: str, labels: Sequence[str], options: GraphOptions) -> Query:
    idle = "" if options.include_idle_edges else " > 0"
    return Query(f"{joined_sum(rates, labels)}{idle}", tuple(labels), joined=True)


def workloads_query(options: GraphOptions, scope: Scope) -> Query:
    """Every workload's pod labels, from the series its own proxy reports inbound."""
    rates = f"rate({scope.selector(RESPONSES, IN)}[{options.duration}s])"
    return Query(joined_sum(rates, POD), POD, joined=True)


def tcp_metrics(tcp: str) -> tuple[tuple[str, str], ...]:
    """(outbound metric, unmeshed metric) pairs for Kiali's rateTcp: bytes the caller sent
    are written by its proxy to the destination (outbound) and read by the callee's proxy
    from the caller (inbound)."""
    sent, received = (TCP_WRITE, TCP_READ), (TCP_READ, TCP_WRITE)
    return {"sent": (sent,), "received": (received,), "total": (sent, received)}.get(tcp, ())


def traffic_queries(options: GraphOptions, namespaces: Sequence[str], mesh: MeshConfig,
                    target: NodeTarget | None = None) -> list[LinkerdQuery]:
    """The traffic queries over `namespaces`, in the order their rows are applied (the
    workloads' labels first: the other rows' nodes need them)."""
    scope, window, rates = mesh.scope(), options.duration, options.rates
    cluster = mesh.cluster_name

    def query(metric: str, kind: str, q: Query) -> LinkerdQuery:
        return LinkerdQuery(metric, kind, q, cluster, target)

    out = [query(RESPONSES, WORKLOADS, workloads_query(options, scope))]
    if "requests" in (rates.http, rates.grpc):
        out.append(query(RESPONSES, OUTBOUND, summed(
            rate_at_either_end(RESPONSES, (OUT,), namespaces, window, scope),
            RequestLabels._fields, options)))
        out.append(query(RESPONSES, UNMESHED, summed(
            rate_in(RESPONSES, (IN, NO_IDENTITY), namespaces, window, scope),
            UnmeshedLabels._fields, options)))
    for outbound, inbound in tcp_metrics(rates.tcp):
        out.append(query(outbound, TCP_OUTBOUND, summed(
            rate_at_either_end(outbound, (OUT, eq("peer", "dst")), namespaces, window, scope),
            TcpLabels._fields, options)))
        out.append(query(inbound, TCP_UNMESHED, summed(
            rate_in(inbound, (IN, eq("peer", "src"), NO_IDENTITY), namespaces, window, scope),
            PodLabels._fields, options)))
    return out


def namespace_queries(options: GraphOptions, mesh: MeshConfig) -> list[LinkerdQuery]:
    return traffic_queries(options, options.namespaces, mesh)


def node_queries(options: GraphOptions, target: NodeTarget,
                 mesh: MeshConfig) -> list[LinkerdQuery]:
    """The node's namespace's traffic, of which the rows that touch the node are kept."""
    return traffic_queries(options, (target.namespace,), mesh, target)
