"""Which telemetry dialects a Prometheus holds, from its metric names.

    detect_dialects(prom, DIALECTS.values(), Scope(), int(time.time()))  # ("istio",)

One request: the metric names (`/api/v1/label/__name__/values`) among the series of
every dialect's discovery metrics. It is an index lookup in Prometheus, not a query over
samples, so it is cheap even over the whole retention (asked from `since`, by default
the Unix epoch: a backfilled or quiet server still shows what it holds).
"""

from __future__ import annotations

from collections.abc import Iterable

from graph.prometheus import Prometheus
from graph.promql import Scope
from graph.sources.dialect import Dialect


def detect_dialects(prom: Prometheus, dialects: Iterable[Dialect], scope: Scope, until: int,
                    since: int = 0) -> tuple[str, ...]:
    """The names of `dialects` (in their order) whose discovery metrics have series in
    the scope between `since` and `until`. Raises PrometheusError when it cannot tell."""
    candidates = list(dialects)
    series = [scope.selector(metric) for d in candidates for metric in d.discovery.metrics]
    if not series:
        return ()
    present = set(prom.label_values("__name__", series, since, until))
    return tuple(d.name for d in candidates if present.intersection(d.discovery.metrics))
