"""mTLS on edges: the share of an edge's traffic on mutual TLS connections (isMTLS, a
"%.0f" percent, only when some is) and the principals of its two ends.

Read from destination-reported telemetry, which is what records the connection's
security policy: requests for HTTP and gRPC edges, the TCP byte counters (those the
traffic reads) for TCP edges. Unlike Kiali, which keys the policy by node pair and keeps
one rate per policy, the rates of every row of an edge add up, per protocol, so the
share is the share of the edge's traffic. With service nodes injected, both the caller
-> service and the service -> workload edges carry it.

Kiali's appender reads the rows whose source workload or destination service is in a
requested namespace. Most of them are in the traffic's inbound query (destination
workload in a requested namespace), which groups by the security labels too when this
appender runs (queries.inbound_query): this appender reads that same answer, sent once,
keeping the rows whose source or destination service is in a requested namespace; a
small query of its own reads the rest (destination workload elsewhere). The rows are
applied in the order Kiali's one query over both gives them: source in a requested
namespace first, then the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import networkx as nx
import numpy as np

from graph import ids, traffic
from graph.answer_columns import Vector
from graph.appender_context import AppenderContext
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query, Row
from graph.promql import none_of
from graph.sources.istio import security_counts
from graph.sources.istio.edge_keys import EdgeIds, EdgeResolver, rate_at_either_end
from graph.sources.istio.labels import SecurityLabels
from graph.sources.istio.queries import (
    REQUESTS,
    SECURITY_POLICY,
    drops_idle,
    metrics_for,
    reporter,
    secured_inbound,
    secured_record,
    shares,
    tcp_app_filter,
)
from graph.sources.istio.security_counts import Counted, kiali_order, secured_rows

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


def outside_promql(protocol: str, metric: str, options: GraphOptions, mesh: MeshConfig) -> str:
    """The rows Kiali's appender reads that the inbound query does not: destination
    workload outside the requested namespaces."""
    app = tcp_app_filter(options.rates) if protocol == traffic.TCP else ()
    base = (*app, reporter("destination", options.rates),
            none_of("destination_workload_namespace", options.namespaces))
    return rate_at_either_end(metric, base, options.namespaces, options.duration, LABELS,
                              mesh.scope())


def security_queries(protocol: str, metric: str, options: GraphOptions,
                     mesh: MeshConfig) -> list[Query]:
    """The inbound queries as the traffic sends them (by the secured record, one per share
    of the namespaces), then the rest."""
    record = secured_record(metric)
    assert record is not None  # security_metrics gives requests and TCP bytes only
    return [*(Query(secured_inbound(metric, options, mesh, share), record._fields, joined=True,
                    positive=drops_idle(options))
              for share in shares(metric, options.namespaces)),
            Query(outside_promql(protocol, metric, options, mesh), LABELS, joined=True)]


Resolved = tuple[Any, EdgeIds, float]  # the row as a record, its edge, its value


class SecurityPolicy:
    name = SECURITY_POLICY

    def queries(self, ctx: AppenderContext) -> list[Query]:
        return [q for protocol, metric in security_metrics(ctx.options)
                for q in security_queries(protocol, metric, ctx.options, ctx.mesh)]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        self.annotate(g, self.prepare(results, ctx), ctx)

    def prepare(self, results: Sequence[list[Row]],
                ctx: AppenderContext) -> dict[EdgeKey, Policy] | Counted:
        """Each edge's policy, from the rows alone (the build calls this as soon as the
        answers are in, while Prometheus still works on the traffic's others): on numbers
        where it can (security_counts), else row by row."""
        options = ctx.options
        if security_counts.applies(options):
            counted = counted_policies(results, options)
            if counted is not None:
                return counted
        return policies_by_row(results, options)

    def annotate(self, g: nx.MultiDiGraph, policies: dict[EdgeKey, Policy] | Counted,
                 ctx: AppenderContext) -> None:
        if isinstance(policies, Counted):
            security_counts.annotate(g, policies)
            return
        for (u, v, protocol), policy in policies.items():
            if g.has_edge(u, v, key=protocol):
                policy.annotate(g.edges[u, v, protocol]["md"])


def policies_by_row(results: Sequence[list[Row]], options: GraphOptions,
                    ) -> dict[EdgeKey, Policy]:
    """Each edge's policy, row by row."""
    policies: dict[EdgeKey, Policy] = {}
    behind: dict[str, set[str]] = {}  # workload -> the injected services in front of it
    answers = iter(results)
    for protocol, metric in security_metrics(options):
        record = secured_record(metric)
        assert record is not None  # security_metrics gives requests and TCP bytes only
        inbound = resolved([row for _ in shares(metric, options.namespaces)
                            for row in next(answers)], EdgeResolver(options, record))
        if options.include_idle_edges:  # the inbound query keeps idle rows then
            inbound = busy(inbound)
        outside = resolved(next(answers), EdgeResolver(options, SecurityLabels))
        for edge, value, edge_protocol, is_mtls, principals in secured_rows(
                kiali_order(inbound, outside, options.namespaces), protocol):
            for u, v in edge.hops():
                policies.setdefault((u, v, edge_protocol), Policy()).add(
                    value, is_mtls, principals)
            if edge.service is not None:
                behind.setdefault(edge.dest, set()).add(edge.service)
    if options.graph_type == ids.SERVICE:
        policies |= service_to_service(policies, behind)
    return policies


def counted_policies(results: Sequence[list[Row]], options: GraphOptions) -> Counted | None:
    """SecurityPolicy.prepare on numbers (security_counts): the sums of the Counting kept
    for rows with these keys, made first if there is none; None when a value is NaN (or a
    key cannot be digested)."""
    values = np.concatenate([np.zeros(0), *(
        rows.values if isinstance(rows, Vector)
        else np.fromiter(map(itemgetter(1), rows), np.float64, len(rows)) for rows in results)])
    digest = security_counts.keys_digest(results)
    if digest is None or np.isnan(values).any():
        return None
    metrics = security_metrics(options)
    scope = (options.graph_type, options.inject_service_nodes, options.namespaces,
             tuple(metrics))
    counting = security_counts.COUNTINGS.get(scope, digest)
    if counting is None:
        found, parts = [], []
        answers = iter(results)
        for _, metric in metrics:
            record = secured_record(metric)
            assert record is not None  # security_metrics gives requests and TCP bytes only
            n = len(shares(metric, options.namespaces))
            resolvers = [EdgeResolver(options, record)] * n + [
                EdgeResolver(options, SecurityLabels)]
            found += [[resolver.resolve(key) for key, _ in next(answers)]
                      for resolver in resolvers]
            parts.append(n)
        counting = security_counts.make_counting(digest, found, [p for p, _ in metrics],
                                                 parts, options.namespaces)
        security_counts.COUNTINGS.put(scope, counting)
    return security_counts.add_up(counting, values)


def resolved(rows: list[Row], resolver: EdgeResolver[Any]) -> list[Resolved]:
    """The rows that name an edge, as records."""
    out = []
    for key, value in rows:
        found = resolver.resolve(key)
        if found is not None and not math.isnan(value):
            out.append((found[0], found[1], value))
    return out


def busy(rows: list[Resolved]) -> list[Resolved]:
    """The rows of the security groups (SecurityLabels) that carry traffic: Kiali's `> 0`,
    which the inbound query leaves out when idle edges are asked for."""
    def group(row: Any) -> tuple[str, ...]:
        return tuple(getattr(row, name) for name in LABELS)

    totals: dict[tuple[str, ...], float] = {}
    for row, _, value in rows:
        totals[group(row)] = totals.get(group(row), 0.0) + value
    return [r for r in rows if totals[group(r[0])] > 0]


def service_to_service(policies: dict[EdgeKey, Policy],
                       behind: dict[str, set[str]]) -> dict[EdgeKey, Policy]:
    """The service graph draws S -> T for every workload W behind S that calls T, adding
    up those W -> T edges (graph/build.py, reduce_to_service_graph): so do their policies."""
    reduced: dict[EdgeKey, Policy] = {}
    for (workload, target, protocol), policy in policies.items():
        for service in sorted(behind.get(workload, ())):
            reduced.setdefault((service, target, protocol), Policy()).merge(policy)
    return reduced
