"""The on-call view: edges by health, worst first, with readable endpoints."""

from __future__ import annotations

from typing import Any

from graph.health import DEGRADED, FAILURE, HEALTHY, NA, PRIORITY
from graph.options import OptionError, shown

HEALTH_NAMES = {"failure": FAILURE, "degraded": DEGRADED, "healthy": HEALTHY, "na": NA}


def parse_health_filter(value: str | None) -> frozenset[str]:
    """`failure,degraded` (the default) -> the statuses to keep."""
    names = [v.strip().lower() for v in (value or "failure,degraded").split(",") if v.strip()]
    unknown = [n for n in names if n not in HEALTH_NAMES]
    if unknown or not names:
        raise OptionError("health", f"{shown(','.join(unknown) or value or '')} is not a list "
                                    "of failure, degraded, healthy, na")
    return frozenset(HEALTH_NAMES[n] for n in names)


# The most edges one answer lists: a mesh of 10,000 workloads has about 75,000.
MAX_LIMIT = 1_000_000


def parse_edge_limit(value: str | None) -> int | None:
    """`limit`: list the worst N edges only (the answer's `total` still counts them all);
    None (omitted) lists every one."""
    if value is None or value == "":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise OptionError("limit", f"{shown(value)} is not a whole number from 1 to {MAX_LIMIT:,}")
    return int(value)


def endpoint(node: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "label", "nodeType", "cluster", "namespace", "workload", "app", "version",
            "service")
    return {k: node[k] for k in keys if k in node}


def failing_edges(graph: dict[str, Any], wanted: frozenset[str]) -> list[dict[str, Any]]:
    """Edges whose healthStatus is in `wanted`, worst status then highest error % first."""
    nodes = {n["data"]["id"]: n["data"] for n in graph["elements"]["nodes"]}
    out = []
    for element in graph["elements"]["edges"]:
        edge = element["data"]
        status = edge.get("healthStatus", NA)
        if status not in wanted:
            continue
        protocol = edge["traffic"]["protocol"]
        rates = edge["traffic"].get("rates", {})
        out.append({
            "id": edge["id"], "healthStatus": status, "protocol": protocol,
            "rate": float(rates.get(protocol, 0)),
            "errorPercent": float(rates.get(f"{protocol}PercentErr", 0)),
            # The statistic the graph was asked for (p95 unless response_time says otherwise).
            "responseTime": float(edge["responseTime"]) if edge.get("responseTime") else None,
            "source": endpoint(nodes[edge["source"]]), "target": endpoint(nodes[edge["target"]]),
            "responses": edge["traffic"].get("responses", {}),
        })
    out.sort(key=lambda e: (-PRIORITY[e["healthStatus"]], -e["errorPercent"], -e["rate"]))
    return out
