"""Which of Linkerd's series hold the exemplars of a node or an edge: the buckets of
response_latency_ms, as the traffic reads them (queries.py): a call between meshed
workloads from the caller's outbound series, a call from an unmeshed caller from the
callee's inbound series without identity.

A workload may be a deployment, a statefulset or a daemonset, which no one selector can
say: its series are selected by namespace and kept by their owner (`keep`). Outbound series
name no labels of the destination's pods, so the exemplars of an edge into an app node
cannot be told apart from those of the caller's other calls: none are listed for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from graph import ids
from graph.options import MeshConfig
from graph.promql import Matcher, eq
from graph.sources.dialect import Endpoint, ExemplarQuery
from graph.sources.linkerd.labels import workload_of
from graph.sources.linkerd.queries import IN, LATENCY, NO_IDENTITY, OUT

BUCKETS = LATENCY + "_bucket"


@dataclass(frozen=True)
class Series:
    """One selector, and the owners its series must have ("" for any)."""

    matchers: tuple[Matcher, ...]
    workload: str = ""  # the reporting pod's owner
    dst_workload: str = ""  # outbound: the destination's owner


def owner(labels: Mapping[str, str], prefix: str = "") -> str:
    return workload_of(labels.get(f"{prefix}deployment", ""),
                       labels.get(f"{prefix}statefulset", ""),
                       labels.get(f"{prefix}daemonset", ""))


def pod(end: Endpoint) -> tuple[Matcher, ...]:
    """The reporting pod's labels for a workload or an app (version)."""
    if end.kind == ids.NODE_APP:
        version = (eq("version", end.version),) if end.version else ()
        return (eq("namespace", end.namespace), eq("app", end.name), *version)
    return (eq("namespace", end.namespace),)


def calls(source: Endpoint | None, dest: Endpoint) -> list[Series] | None:
    """The series of the calls from `source` (None: any caller) into `dest`."""
    dst_workload = dest.name if dest.kind == ids.NODE_WORKLOAD else ""
    if source is not None and source.kind == ids.NODE_UNKNOWN:
        if dest.kind == ids.NODE_SERVICE:
            return []  # unmeshed callers are drawn straight to the workload
        return [Series((IN, NO_IDENTITY, *pod(dest)), dst_workload)]
    if dest.kind == ids.NODE_APP:
        return None if source is not None else [Series((IN, *pod(dest)))]
    if source is None or source.kind == ids.NODE_SERVICE:
        by_service = (eq("dst_service", source.name),) if source else ()
        out = [Series((OUT, eq("dst_namespace", dest.namespace), *by_service,
                       *((eq("dst_service", dest.name),) if dest.kind == ids.NODE_SERVICE
                         else ())), dst_workload=dst_workload)]
        if source is None and dest.kind == ids.NODE_WORKLOAD:
            out.append(Series((IN, NO_IDENTITY, *pod(dest)), dst_workload))
        return out
    caller = source.name if source.kind == ids.NODE_WORKLOAD else ""
    service = (eq("dst_service", dest.name),) if dest.kind == ids.NODE_SERVICE else ()
    return [Series((OUT, *pod(source), eq("dst_namespace", dest.namespace), *service), caller,
                   dst_workload)]


def sent(source: Endpoint) -> list[Series]:
    """Every call out of a workload or an app (a service's are its calls in)."""
    if source.kind == ids.NODE_UNKNOWN:
        return [Series((IN, NO_IDENTITY))]
    caller = source.name if source.kind == ids.NODE_WORKLOAD else ""
    return [Series((OUT, *pod(source)), caller)]


def holds(matcher: Matcher, labels: Mapping[str, str]) -> bool:
    """An = or != matcher, as Prometheus applies it (a missing label is "")."""
    equal = labels.get(matcher.label, "") == matcher.value
    return equal if matcher.op == "=" else not equal


def keeper(series: list[Series]) -> Callable[[Mapping[str, str]], bool]:
    """Keeps a series that one of `series` selects, owners included."""

    def keep(labels: Mapping[str, str]) -> bool:
        outbound = labels.get("direction") == "outbound"
        return any(
            all(holds(m, labels) for m in s.matchers)
            and (not s.workload or owner(labels) == s.workload)
            and (not s.dst_workload or owner(labels, "dst_" if outbound else "") == s.dst_workload)
            for s in series)

    return keep


def status(labels: Mapping[str, str]) -> str:
    """The HTTP status ("-" for none): the histogram has no gRPC status."""
    return labels.get("status_code") or "-"


def exemplar_query(source: Endpoint | None, dest: Endpoint,
                   mesh: MeshConfig) -> ExemplarQuery | None:
    if source is None and dest.kind == ids.NODE_UNKNOWN:
        series: list[Series] | None = sent(dest)
    elif source is None:
        into = calls(None, dest)
        series = None if into is None else [*into, *(sent(dest) if dest.kind != ids.NODE_SERVICE
                                                      else [])]
    else:
        series = calls(source, dest)
    if series is None:
        return None
    scope = mesh.scope()
    return ExemplarQuery(tuple(scope.selector(BUCKETS, *s.matchers) for s in series),
                         unit_ms=1.0, status=status, keep=keeper(series))
