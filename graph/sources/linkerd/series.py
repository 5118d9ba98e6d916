"""Which Linkerd series are a node's, an edge's or a whole graph's requests, for the charts
(graph/series.py): response_total and response_latency_ms, with the series the exemplars
read (exemplars.py: `calls` into an element, `sent` out of it), each request once: from
the caller's outbound series, or, for a caller without identity, the callee's inbound one.

A workload is the deployment, statefulset or daemonset that owns the pods (the first one
set, as labels.workload_of reads it), which one matcher cannot say: each owner is three
disjoint selectors. Failed requests are those Linkerd classifies as failures, and 4xx
responses, which it classifies as successes but Kiali counts as errors. As for exemplars,
an edge into an app node cannot be told apart from the caller's other calls: no charts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from graph import ids
from graph.options import MeshConfig
from graph.promql import Matcher, Scope, any_of, eq, matches, ne
from graph.sources.dialect import Endpoint, RequestSeries
from graph.sources.linkerd.exemplars import BUCKETS, Series, calls, sent
from graph.sources.linkerd.queries import IN, NO_IDENTITY, OUT, RESPONSES

FAILED = ((eq("classification", "failure"),),
          (ne("classification", "failure"), matches("status_code", "4.*")))


def owned_by(name: str, prefix: str = "") -> list[tuple[Matcher, ...]]:
    """The pods whose owner is `name`: disjoint, as workload_of picks the first owner."""
    if not name:
        return [()]
    kinds = ("deployment", "statefulset", "daemonset")
    return [(*(eq(f"{prefix}{k}", "") for k in kinds[:i]), eq(f"{prefix}{kind}", name))
            for i, kind in enumerate(kinds)]


def selections(series: Sequence[Series]) -> list[tuple[Matcher, ...]]:
    """Each Series as matchers, its owners spelled out."""
    out = []
    for s in series:
        prefix = "dst_" if OUT in s.matchers else ""
        for own, dst in itertools.product(owned_by(s.workload), owned_by(s.dst_workload, prefix)):
            out.append((*s.matchers, *own, *dst))
    return out


def direction(scope: Scope, series: Sequence[Series]) -> RequestSeries:
    chosen = selections(series)
    return RequestSeries(
        requests=tuple(scope.selector(RESPONSES, *m) for m in chosen),
        errors=tuple(scope.selector(RESPONSES, *m, *failed) for m in chosen for failed in FAILED),
        buckets=tuple(scope.selector(BUCKETS, *m) for m in chosen),
    )


def graph_series(namespaces: Sequence[str], scope: Scope) -> dict[str, RequestSeries]:
    inbound = [Series((OUT, any_of("dst_namespace", namespaces))),
               Series((IN, NO_IDENTITY, any_of("namespace", namespaces)))]
    outbound = [Series((OUT, any_of("namespace", namespaces)))]
    return {"inbound": direction(scope, inbound), "outbound": direction(scope, outbound)}


def request_series(source: Endpoint | None, dest: Endpoint | None, namespaces: Sequence[str],
                   mesh: MeshConfig) -> dict[str, RequestSeries] | None:
    scope = mesh.scope()
    if dest is None:
        return graph_series(namespaces, scope)
    if dest.kind not in (ids.NODE_WORKLOAD, ids.NODE_APP, ids.NODE_SERVICE, ids.NODE_UNKNOWN):
        return None
    if source is not None:
        edge = calls(source, dest)
        if edge is None:
            return None
        return {"requests": direction(scope, edge)} if edge else {}
    if dest.kind == ids.NODE_UNKNOWN:
        return {"outbound": direction(scope, sent(dest))}
    into = calls(None, dest)
    if into is None:
        return None
    out = {"inbound": direction(scope, into)}
    if dest.kind != ids.NODE_SERVICE:
        out["outbound"] = direction(scope, sent(dest))
    return out
