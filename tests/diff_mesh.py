"""Bookinfo in two periods, for "what changed" tests: as tests/mesh.py draws it until
`change`, and from `change` on with reviews-v1 replaced by reviews-v4, reviews-v2 ->
ratings failing 50 %, and productpage -> details slowed from p95 47.5 ms to 477.5 ms.

    series = changed_bookinfo(change=query_time - 1800)
"""

from __future__ import annotations

from typing import Any

from tests import mesh

REVIEWS_V4 = mesh.Workload("bookinfo", "reviews-v4", "reviews", "v4", service="reviews")


def from_change(series: list[dict[str, Any]], change: int, before: float | None,
                after: float | None = None) -> list[dict[str, Any]]:
    """The series at rate `before` (their own if None) until `change`, `after` from then
    on (their own if None)."""
    return [s | {"rate": s["rate"] if before is None else before,
                 "rates": [[change, s["rate"] if after is None else after]]} for s in series]


def changed_bookinfo(change: int) -> list[dict[str, Any]]:
    """Bookinfo (tests/mesh.py) whose edges change at `change` (see the module doc)."""
    series = []
    for item in mesh.bookinfo():
        lbl = item["labels"]
        edge = (lbl["source_workload"], lbl["destination_workload"])
        if edge == ("productpage-v1", "reviews-v1"):
            series += from_change([item], change, None, 0.0)
        elif edge == ("reviews-v2", "ratings-v1"):
            series += from_change([item], change, 3.0, 1.5)
        else:
            series.append(item)
    series += from_change(mesh.request_edge(mesh.PRODUCTPAGE, REVIEWS_V4, {"200": 4.0}),
                          change, 0.0)
    series += from_change(mesh.request_edge(mesh.REVIEWS_V2, mesh.RATINGS, {"503": 1.5}),
                          change, 0.0)
    fast = {"50": 10.0, "500": 10.0, "+Inf": 10.0}
    slow = {"50": 0.0, "500": 10.0, "+Inf": 10.0}
    for item in mesh.duration_histogram(mesh.PRODUCTPAGE, mesh.DETAILS, fast, sum_ms=300.0):
        le = item["labels"].get("le")
        series += from_change([item], change, fast[le], slow[le]) if le else [item]
    return series
