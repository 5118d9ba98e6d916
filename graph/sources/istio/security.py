"""mTLS on edges: the share of an edge's traffic on mutual TLS connections (isMTLS, a
"%.0f" percent, only when some is) and the principals of its two ends.

Read from destination-reported telemetry, which is what records the connection's
security policy: requests for HTTP and gRPC edges, the TCP byte counters (those the
traffic reads) for TCP edges. Unlike Kiali, which keys the policy by node pair and keeps
one rate per policy, the rates of every row of an edge add up, per protocol, so the
share is the share of the edge's traffic. With service nodes injected, both the caller
-> service and the service -> workload edges carry it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from graph import ids, traffic
from graph.appender_context import AppenderContext
from graph.options import GraphOptions
from graph.prometheus import Query, Row
from graph.promql import Scope
from graph.sources.istio.edge_keys import EdgeResolver, rate_at_either_end
from graph.sources.istio.labels import SecurityLabels
from graph.sources.istio.queries import REQUESTS, metrics_for, reporter, tcp_app_filter

MTLS = "mutual_tls"
LABELS = SecurityLabels._fields
EdgeKey = tuple[str, str, str]  # source id, destination id, protocol


@dataclass
class Policy:
    """What one edge's rows say: traffic in all and on mTLS, and the principals."""

    mtls: float = 0.0
    total: float = 0.0
    principals: tuple[str, str] = ("", "")
    principals_mtls: bool | None = None  # None: no principals seen yet

    def add(self, value: float, is_mtls: bool, principals: tuple[str, str]) -> None:
        self.total += value
        self.mtls += value if is_mtls else 0.0
        self.offer(principals, is_mtls)

    def merge(self, other: Policy) -> None:
        self.total += other.total
        self.mtls += other.mtls
        if other.principals_mtls is not None:
            self.offer(other.principals, other.principals_mtls)

    def offer(self, principals: tuple[str, str], is_mtls: bool) -> None:
        """The first principals win, but a plain-text connection proves no identity: those of
        an mTLS connection replace them."""
        if self.principals_mtls is None or (is_mtls and not self.principals_mtls):
            self.principals, self.principals_mtls = principals, is_mtls

    def annotate(self, md: traffic.Metadata) -> None:
        if self.mtls > 0:
            md["isMTLS"] = f"{self.mtls / self.total * 100:.0f}"
        for key, principal in zip(("sourcePrincipal", "destPrincipal"), self.principals,
                                  strict=True):
            if principal:
                md[key] = principal


def security_metrics(options: GraphOptions) -> list[tuple[str, str]]:
    """(protocol, metric) of each query: requests (the protocol is in each row), then each
    TCP byte counter the traffic reads (one query each: their rows add up per edge)."""
    rates = options.rates
    out = []
    if rates.http == "requests" or rates.grpc != "none":
        out.append(("", REQUESTS))
    out += [(traffic.TCP, m) for m in metrics_for(options) if m.startswith("istio_tcp")]
    return out


def security_promql(protocol: str, metric: str, options: GraphOptions, scope: Scope) -> str:
    app = tcp_app_filter(options.rates) if protocol == traffic.TCP else ()
    base = (*app, reporter("destination", options.rates))
    return rate_at_either_end(metric, base, options.namespaces, options.duration, LABELS, scope)


class SecurityPolicy:
    name = "securityPolicy"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        scope = ctx.mesh.scope()
        return [Query(security_promql(protocol, metric, ctx.options, scope), LABELS,
                      joined=True)
                for protocol, metric in security_metrics(ctx.options)]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        options = ctx.options
        resolver = EdgeResolver(options, SecurityLabels)
        policies: dict[EdgeKey, Policy] = {}
        behind: dict[str, set[str]] = {}  # workload -> the injected services in front of it
        for (protocol, _), rows in zip(security_metrics(options), results, strict=True):
            for key, value in rows:
                resolved = resolver.resolve(key)
                if resolved is None or math.isnan(value):
                    continue
                row, edge = resolved
                edge_protocol = protocol or row.request_protocol
                if edge_protocol not in traffic.PROTOCOLS:
                    continue
                is_mtls = row.connection_security_policy == MTLS
                principals = (row.source_principal, row.destination_principal)
                for u, v in edge.hops():
                    policies.setdefault((u, v, edge_protocol), Policy()).add(
                        value, is_mtls, principals)
                if edge.service is not None:
                    behind.setdefault(edge.dest, set()).add(edge.service)
        if options.graph_type == ids.SERVICE:
            policies |= service_to_service(policies, behind)
        for (u, v, protocol), policy in policies.items():
            if g.has_edge(u, v, key=protocol):
                policy.annotate(g.edges[u, v, protocol]["md"])


def service_to_service(policies: dict[EdgeKey, Policy],
                       behind: dict[str, set[str]]) -> dict[EdgeKey, Policy]:
    """The service graph draws S -> T for every workload W behind S that calls T, adding
    up those W -> T edges (graph/build.py, reduce_to_service_graph): so do their policies."""
    reduced: dict[EdgeKey, Policy] = {}
    for (workload, target, protocol), policy in policies.items():
        for service in sorted(behind.get(workload, ())):
            reduced.setdefault((service, target, protocol), Policy()).merge(policy)
    return reduced
