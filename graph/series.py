"""Time series of a node, an edge or a whole graph over a window, for the side panel's
charts: request rate, error % and latency p50/p95/p99, per direction, from range queries.

    GET /api/v1/series?namespaces=bookinfo&node=workload:bookinfo/reviews-v2&duration=10m

Which series are about the element is the dialect's business (its `request_series`,
graph/sources/dialect.py: selectors of its request counter, of the failed requests and of
its latency histogram); the PromQL made of them is the same for all:

    rate          sum(rate(R1[i]) or rate(R2[i]))
    errorPercent  100 * (sum(rate(E[i]) ...) or 0 * sum(rate(R[i]) ...)) / sum(rate(R[i]) ...)
    p50/p95/p99   histogram_quantile(q, sum by (le) (rate(B[i]) ...))   (in ms)

evaluated from `end - duration` to `end` every `step` seconds, the step fitted to the window
(60 to 121 points, see fitted_step), the rate interval `i` the larger of the step and
`rate_interval` (so that no sample falls between two points). A step without traffic has no
error % or latency (null), as a step that Prometheus has no value for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from graph.exemplars import parse_edge, parse_endpoint
from graph.options import (
    MeshConfig,
    OptionError,
    parse_duration,
    parse_names,
    parse_namespaces,
    parse_query_time,
)
from graph.prometheus import Curve, Prometheus
from graph.sources import dialect_named
from graph.sources.dialect import Endpoint, RequestSeries, SeriesSource

# Steps a chart's points are spaced by, in seconds: round numbers on a time axis.
STEPS = (1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200,
         10800, 21600, 43200, 86400)
MAX_POINTS = 120
DEFAULT_RATE_INTERVAL = 60
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
# The charts of a direction, in the order they are drawn.
CHARTS = ("rate", "errorPercent", "p50", "p95", "p99")
DIGITS = 6  # what a chart can show; leaves float noise out of the answer

Values = dict[str, dict[str, list[float | None]]]  # by direction, by chart: one per time


@dataclass(frozen=True)
class SeriesRequest:
    """A node (`dest` alone), an edge (`source` -> `dest`) or, with neither, the graph of
    `namespaces`, over [end - duration, end]."""

    namespaces: tuple[str, ...]
    dest: Endpoint | None
    source: Endpoint | None
    end: int
    duration: int
    rate_interval: int = DEFAULT_RATE_INTERVAL
    explicit_end: bool = False  # query_time was given (a link then names the end)
    sources: tuple[str, ...] = ()
    dialects: tuple[str, ...] = ()

    @property
    def step(self) -> int:
        return fitted_step(self.duration)

    @property
    def start(self) -> int:
        return self.end - self.duration

    @property
    def interval(self) -> int:
        return max(self.step, self.rate_interval)

    def times(self) -> list[int]:
        return list(range(self.start, self.end + 1, self.step))

    def shared_key(self) -> str:
        """A canonical string of what the answer depends on, for a cache shared by every
        viewer: the element, the window and its step, the rate interval, the sources and
        dialects; the end only when asked for (a live window ends now, and the answer of a
        moment ago stands for it until the cache expires)."""
        end = str(self.end) if self.explicit_end else "now"
        return "|".join([",".join(self.namespaces), repr(self.source), repr(self.dest),
                         f"{self.duration}/{self.step}/{self.rate_interval}", end,
                         ",".join(self.sources), ",".join(self.dialects)])


def fitted_step(duration: int) -> int:
    """The smallest round step that puts at most MAX_POINTS intervals in the window (at
    least 60 when the window allows it): 60s -> 1s, 5m -> 3s, 1h -> 30s, 1d -> 15m."""
    wanted = duration / MAX_POINTS
    return next((step for step in STEPS if step >= wanted), STEPS[-1])


KNOWN = ("namespaces", "node", "edge", "duration", "query_time", "rate_interval", "sources",
         "dialects")


def parse_request(query: Mapping[str, str]) -> SeriesRequest:
    """The series route's parameters; OptionError names a bad one."""
    for name in query:
        if name not in KNOWN:
            raise OptionError(name, f"unknown parameter; use {', '.join(sorted(KNOWN))}")
    node, edge = query.get("node"), query.get("edge")
    if node and edge:
        raise OptionError("edge", "give node=... or edge=..., not both")
    namespaces = parse_namespaces(query["namespaces"]) if query.get("namespaces") else ()
    source: Endpoint | None = None
    dest: Endpoint | None = None
    if edge:
        source, dest = parse_edge(edge)
    elif node:
        dest = parse_endpoint(node, "node")
    elif not namespaces:
        raise OptionError("namespaces", "give namespaces=... for the whole graph's series, "
                                        "or node=... or edge=...")
    duration = parse_duration(query.get("duration"))
    interval = parse_duration(query.get("rate_interval"), "rate_interval",
                              DEFAULT_RATE_INTERVAL)
    at = parse_query_time(query.get("query_time"))
    return SeriesRequest(namespaces, dest, source, at or int(time.time()), duration, interval,
                         explicit_end=at is not None,
                         sources=parse_names(query.get("sources"), "sources"),
                         dialects=parse_names(query.get("dialects"), "dialects"))


# --- PromQL --------------------------------------------------------------------------------


def rates(selectors: Sequence[str], interval: int) -> str:
    """The per-second rates of the series of `selectors` (disjoint), as one vector."""
    return " or ".join(f"rate({s}[{interval}s])" for s in selectors)


def chart_queries(series: RequestSeries, interval: int) -> dict[str, str]:
    """The PromQL of each chart of one direction."""
    requests = f"sum({rates(series.requests, interval)})"
    errors = f"sum({rates(series.errors, interval)})"
    buckets = f"sum by (le) ({rates(series.buckets, interval)})"
    unit = "" if series.unit_ms == 1 else f" * {series.unit_ms:g}"
    out = {"rate": requests,
           "errorPercent": f"100 * ({errors} or 0 * {requests}) / {requests}"}
    for name, q in QUANTILES.items():
        out[name] = f"histogram_quantile({q}, {buckets}){unit}"
    return out


def element_queries(request: SeriesRequest, mesh: MeshConfig,
                    dialect: str) -> dict[str, dict[str, str]] | None:
    """The PromQL of every chart, by direction, in `dialect`; None when the dialect has
    no charts for the element."""
    found = dialect_named(dialect)
    if not isinstance(found, SeriesSource):
        return None
    directions = found.request_series(request.source, request.dest, request.namespaces, mesh)
    if directions is None:
        return None
    return {name: chart_queries(series, request.interval) for name, series in directions.items()}


# --- answers -------------------------------------------------------------------------------


def aligned(curves: Sequence[Curve], times: Sequence[int]) -> list[float | None]:
    """The answer's values at `times` (a query of these charts gives one series at most),
    null where it has none or NaN."""
    by_time = {t: v for curve in curves for t, v in curve.points}
    out: list[float | None] = []
    for t in times:
        value = by_time.get(t)
        out.append(None if value is None or not math.isfinite(value) else round(value, DIGITS))
    return out


def read_series(prometheus: Prometheus, request: SeriesRequest,
                queries: Mapping[str, Mapping[str, str]]) -> Values:
    """Every chart's values at request.times(), by direction; the range queries run side
    by side."""
    jobs = [(direction, chart, promql) for direction, charts in queries.items()
            for chart, promql in charts.items()]
    times = request.times()
    out: Values = {d: {} for d in queries}
    if not jobs:
        return out
    with ThreadPoolExecutor(max_workers=min(prometheus.max_parallel, len(jobs))) as pool:
        answers = pool.map(lambda job: prometheus.query_range(
            job[2], request.start, request.end, request.step), jobs)
        for (direction, chart, _), curves in zip(jobs, answers, strict=True):
            out[direction][chart] = aligned(curves, times)
    return out


def has_data(values: Mapping[str, Mapping[str, Sequence[float | None]]]) -> bool:
    return any(v is not None for charts in values.values() for points in charts.values()
               for v in points)


# --- links ---------------------------------------------------------------------------------


def duration_text(seconds: int) -> str:
    """`1h30m`, `5m`, `20s`: a duration as Prometheus's graph page reads it."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def graph_link(base_url: str, promql: str, request: SeriesRequest) -> str:
    """The same chart in Prometheus's own graph page at `base_url`: the expression, the
    window and the step, and the end when the request named one (else: now)."""
    params = {"g0.expr": promql, "g0.tab": "0",
              "g0.range_input": duration_text(request.duration),
              "g0.step_input": str(request.step)}
    if request.explicit_end:
        end = datetime.fromtimestamp(request.end, UTC)
        params["g0.end_input"] = end.strftime("%Y-%m-%d %H:%M:%S")
        params["g0.moment_input"] = params["g0.end_input"]
    return f"{base_url.rstrip('/')}/graph?{urlencode(params)}"


def links(base_url: str, queries: Mapping[str, Mapping[str, str]],
          request: SeriesRequest) -> dict[str, dict[str, str]]:
    return {direction: {chart: graph_link(base_url, promql, request)
                        for chart, promql in charts.items()}
            for direction, charts in queries.items()}


def body(request: SeriesRequest, values: Values,
         queries: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The answer's common part (the route adds where it was read and the links)."""
    return {"start": request.start, "end": request.end, "step": request.step,
            "rateInterval": request.interval, "times": request.times(), "series": values,
            "queries": queries}
