"""What changed: a graph against the same window ending at an earlier time.

Both graphs are read as the API serves them (their `elements`); element ids are hashes of
what a node or edge is (namespace, workload, protocol, ...), the same at any time, so an
id found in one graph and not the other is an element that appeared or vanished.

    changes = graph_diff(now, then, Thresholds(error=5.0, p95=100.0))
    changes["edges"]["changed"]  # edges whose error % or p95 moved beyond a threshold
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph.edges import endpoint
from graph.impact import edge_error_ratio, edge_rate
from graph.options import OptionError, parse_duration, parse_query_time, shown

# An edge has changed when its error % moved by more than 5 percentage points, or its
# response time (p95 by default) by more than 100 ms.
DEFAULT_ERROR_POINTS = 5.0
DEFAULT_P95_MS = 100.0
ADDED, VANISHED, CHANGED = "added", "vanished", "changed"


@dataclass(frozen=True)
class Thresholds:
    error: float = DEFAULT_ERROR_POINTS  # percentage points of error %
    p95: float = DEFAULT_P95_MS  # milliseconds of the edge's responseTime


def parse_threshold(value: str | None, param: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise OptionError(param, f"{shown(value)} is not a number >= 0")
    return number


def parse_thresholds(query: Mapping[str, str]) -> Thresholds:
    return Thresholds(
        error=parse_threshold(query.get("threshold_error"), "threshold_error",
                              DEFAULT_ERROR_POINTS),
        p95=parse_threshold(query.get("threshold_p95"), "threshold_p95", DEFAULT_P95_MS))


def parse_compare_to(value: str | None, query_time: int) -> int:
    """The earlier time a graph at `query_time` is compared with: a duration back from it
    (`1h`, `1d`, `30m`), or a Unix time in seconds (digits only) before it."""
    if value is None or value.strip() == "":
        raise OptionError("compare_to", "give a time to compare with: 1h, 1d or a Unix time")
    text = value.strip()
    if text.isdigit():
        earlier = parse_query_time(text, "compare_to") or 0
    else:
        earlier = query_time - parse_duration(text, "compare_to")
    if earlier >= query_time:
        raise OptionError("compare_to", f"{shown(value)} is not before the graph's time "
                                        f"({query_time})")
    return earlier


def error_percent(edge: Mapping[str, Any]) -> float:
    return round(edge_error_ratio(edge) * 100.0, 6)


def response_time(edge: Mapping[str, Any]) -> float | None:
    value = edge.get("responseTime")
    try:
        number = float(value) if value not in (None, "") else math.nan
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def edge_changes(now: Mapping[str, Any], then: Mapping[str, Any],
                 thresholds: Thresholds) -> dict[str, Any] | None:
    """How an edge present at both times moved, when beyond a threshold; else None."""
    moved: dict[str, Any] = {}
    before, after = error_percent(then), error_percent(now)
    if abs(after - before) > thresholds.error:
        moved["errorPercent"] = {"then": before, "now": after}
    before_rt, after_rt = response_time(then), response_time(now)
    if before_rt is not None and after_rt is not None and \
            abs(after_rt - before_rt) > thresholds.p95:
        moved["responseTime"] = {"then": before_rt, "now": after_rt}
    return moved or None


def by_id(graph: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {e["data"]["id"]: e["data"] for e in graph["elements"][kind]}


def edge_entry(edge: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {"id": edge["id"], "protocol": (edge.get("traffic") or {}).get("protocol"),
            "rate": edge_rate(edge), "errorPercent": error_percent(edge),
            "source": endpoint(nodes[edge["source"]]), "target": endpoint(nodes[edge["target"]])}


def graph_diff(now: Mapping[str, Any], then: Mapping[str, Any],
               thresholds: Thresholds) -> dict[str, Any]:
    """Nodes and edges added since `then` and vanished from it, and edges present in both
    whose error % or response time moved beyond `thresholds`; lists sorted by id."""
    nodes_now, nodes_then = by_id(now, "nodes"), by_id(then, "nodes")
    edges_now, edges_then = by_id(now, "edges"), by_id(then, "edges")
    changed = []
    for edge_id in sorted(edges_now.keys() & edges_then.keys()):
        moved = edge_changes(edges_now[edge_id], edges_then[edge_id], thresholds)
        if moved:
            changed.append(edge_entry(edges_now[edge_id], nodes_now) | {"changes": moved})
    return {
        "thresholds": {"error": thresholds.error, "p95": thresholds.p95},
        "nodes": {
            ADDED: [endpoint(nodes_now[n]) for n in sorted(nodes_now.keys() - nodes_then.keys())],
            VANISHED: [endpoint(nodes_then[n])
                       for n in sorted(nodes_then.keys() - nodes_now.keys())],
        },
        "edges": {
            ADDED: [edge_entry(edges_now[e], nodes_now)
                    for e in sorted(edges_now.keys() - edges_then.keys())],
            VANISHED: [edge_entry(edges_then[e], nodes_then)
                       for e in sorted(edges_then.keys() - edges_now.keys())],
            CHANGED: changed,
        },
    }


def mark_diff(now: dict[str, Any], then: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    """Mark `now`'s elements in place with `diff`: "added" or "changed" (with the changed
    edges' `diffChanges`); vanished elements are appended with their data at `then`,
    marked "vanished"."""
    nodes_now, edges_now = by_id(now, "nodes"), by_id(now, "edges")
    nodes_then, edges_then = by_id(then, "nodes"), by_id(then, "edges")
    for entry in changes["nodes"][ADDED]:
        nodes_now[entry["id"]]["diff"] = ADDED
    for entry in changes["edges"][ADDED]:
        edges_now[entry["id"]]["diff"] = ADDED
    for entry in changes["edges"][CHANGED]:
        edges_now[entry["id"]]["diff"] = CHANGED
        edges_now[entry["id"]]["diffChanges"] = entry["changes"]
    for kind, vanished, earlier in (("nodes", changes["nodes"][VANISHED], nodes_then),
                                    ("edges", changes["edges"][VANISHED], edges_then)):
        for entry in vanished:
            now["elements"][kind].append({"data": {**earlier[entry["id"]], "diff": VANISHED}})
