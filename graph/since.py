"""Since when a failing edge has been unhealthy, within the graph's window.

The graph judges an edge over its whole window (one rate over `duration`). To say since
when it fails, the edge's responses are read again over the window at a step, one range
query for all the listed edges (each edge's sum tagged with its index, the parts joined
by `or`), and every step is judged with the same tolerances as the graph. The edge's
`since` is the first step of its latest run of unhealthy (Degraded or Failure) steps:

    steps   t0  t1  t2  t3  t4  t5
    status  OK  F   OK  D   F   F      -> since = t3

A step with no requests is not unhealthy. A run that starts at the first step started at
the window's start or before it. Istio request telemetry only (TCP edges are never
unhealthy); an edge of another dialect gets `since` None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph import ids
from graph.health import (
    DEGRADED,
    FAILURE,
    INBOUND,
    OUTBOUND,
    REQUEST_PROTOCOLS,
    HealthConfig,
    Tolerance,
    responses_status,
    worst,
)
from graph.prometheus import Curve, Prometheus
from graph.promql import Scope, label_list, string
from graph.sources.dialect import Endpoint
from graph.sources.istio.node import into, out_of, status
from graph.sources.istio.queries import REQUESTS

# The most edges whose `since` one answer works out (worst first): the range query grows
# with each, and the on-call reads the top of the list.
MAX_EDGES = 100
# About this many steps over the window, none shorter than MIN_STEP_S.
TARGET_STEPS = 30
MIN_STEP_S = 10
# Each step's rate looks back this far at least, so that it holds two scrapes of a mesh
# scraped every 15-30 s. Only the end of a run lags by it: a step sees an error as soon
# as the first scrape after it.
MIN_RATE_WINDOW_S = 60
EDGE_LABEL = "meshlens_edge"
BY = ("request_protocol", "response_code", "grpc_response_status")
UNHEALTHY = frozenset({DEGRADED, FAILURE})


@dataclass(frozen=True)
class Window:
    """The steps of a range query: from `start` to `end` every `step` s, each step's rate
    over the `rate_window` s before it."""

    start: int
    end: int
    step: int
    rate_window: int

    @classmethod
    def over(cls, end: int, duration: int) -> Window:
        """The window of a graph at `end` over `duration` s; its last step is `end`."""
        step = max(MIN_STEP_S, -(-duration // TARGET_STEPS))
        start = end - step * (duration // step)
        return cls(start, end, step, max(2 * step, MIN_RATE_WINDOW_S))

    def times(self) -> range:
        return range(self.start, self.end + 1, self.step)


def endpoint(node: Mapping[str, Any]) -> Endpoint | None:
    """A graph node's data (as /api/v1/edges names it) -> the Endpoint its telemetry is
    selected by; None for a node whose requests Istio's labels do not name."""
    kind = node.get("nodeType")
    namespace = node.get("namespace", "")
    if kind == ids.NODE_UNKNOWN:
        return Endpoint(ids.NODE_UNKNOWN)
    if kind == ids.NODE_WORKLOAD and node.get("workload"):
        return Endpoint(ids.NODE_WORKLOAD, namespace, node["workload"])
    if kind == ids.NODE_APP and node.get("app"):
        version = node.get("version", "")
        return Endpoint(ids.NODE_APP, namespace, node["app"], version if ids.is_ok(version) else "")
    if kind == ids.NODE_SERVICE and node.get("service"):
        return Endpoint(ids.NODE_SERVICE, namespace, node["service"])
    return None


def rule_name(node: Mapping[str, Any]) -> tuple[str, str, str]:
    """The namespace, kind and name a health rule matches for a node."""
    kind = node.get("nodeType")
    if kind == ids.NODE_SERVICE:
        return node.get("namespace", ""), "service", node.get("service", "")
    if kind == ids.NODE_APP:
        return node.get("namespace", ""), "app", node.get("app", "")
    return node.get("namespace", ""), "workload", node.get("workload", ids.UNKNOWN)


def edge_query(index: int, source: Endpoint, dest: Endpoint, scope: Scope,
               window: Window) -> str:
    """The edge's requests per second by protocol and code, tagged with its index."""
    selector = scope.selector(REQUESTS, *out_of(source), *into(dest))
    summed = f"sum by ({label_list(BY)}) (rate({selector}[{window.rate_window}s]))"
    return f"label_replace({summed}, {string(EDGE_LABEL)}, {string(str(index))}, \"\", \"\")"


# edge index -> step time -> protocol -> response code -> requests per second
Counts = dict[int, dict[int, dict[str, dict[str, float]]]]


def counts_by_step(series: Iterable[Curve]) -> Counts:
    counts: Counts = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for item in series:
        protocol = item.labels.get("request_protocol", "")
        index = item.labels.get(EDGE_LABEL, "")
        if protocol not in REQUEST_PROTOCOLS or not index.isdigit():
            continue
        code = status(item.labels)
        for t, value in item.points:
            codes = counts[int(index)][t][protocol]
            codes[code] = codes.get(code, 0.0) + value
    return counts


def step_status(by_protocol: Mapping[str, Mapping[str, float]],
                outbound: Sequence[Tolerance], inbound: Sequence[Tolerance]) -> str:
    """One step of an edge, judged as the graph judges it: the source's outbound and the
    destination's inbound tolerances, the worse of the two, over every protocol."""
    statuses = []
    for protocol, codes in by_protocol.items():
        if sum(codes.values()) <= 0:
            continue
        responses = {code: {"flags": {"-": rate}} for code, rate in codes.items()}
        statuses.append(responses_status(protocol, responses, OUTBOUND, outbound))
        statuses.append(responses_status(protocol, responses, INBOUND, inbound))
    return worst(statuses)


def run_start(times: Iterable[int], unhealthy: Iterable[int]) -> int | None:
    """The first time of the latest run of unhealthy times; None when there is none."""
    bad = set(unhealthy)
    start = None
    for t in sorted(times, reverse=True):
        if t in bad:
            start = t
        elif start is not None:
            break
    return start


def add_since(prometheus: Prometheus, edges: list[dict[str, Any]], end: int, duration: int,
              health: HealthConfig, scope: Scope) -> None:
    """Set `since` (Unix s, or None) on each of `edges` (failing_edges's items, worst
    first): the first step of its latest unhealthy run within the window."""
    window = Window.over(end, duration)
    parts, judged = [], []
    for index, edge in enumerate(edges):
        edge["since"] = None
        source, dest = endpoint(edge["source"]), endpoint(edge["target"])
        if index >= MAX_EDGES or source is None or dest is None or dest.kind == ids.NODE_UNKNOWN:
            continue
        parts.append(edge_query(index, source, dest, scope, window))
        judged.append(index)
    if not parts:
        return
    answer = prometheus.query_range(" or ".join(parts), window.start, window.end, window.step)
    counts = counts_by_step(answer)
    for index in judged:
        edge = edges[index]
        outbound = health.tolerances(*rule_name(edge["source"]))
        inbound = health.tolerances(*rule_name(edge["target"]))
        steps = counts.get(index, {})
        bad = [t for t, by_protocol in steps.items()
               if step_status(by_protocol, outbound, inbound) in UNHEALTHY]
        edge["since"] = run_start(window.times(), bad)
