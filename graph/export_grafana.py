"""Grafana's Node Graph panel data: a `nodes` and an `edges` data frame, in the JSON shape
of Grafana's data frames ({"schema": {"name", "meta", "fields"}, "data": {"values"}}, one
column per field), for a data source (JSON API, Infinity) to hand to the panel as it is.

Boxes are left out (the panel draws no groups); a node's namespace is its subtitle.
"""

from __future__ import annotations

from typing import Any

import orjson

from graph.export import HEALTH_COLOURS, Graph

NODE_GRAPH = {"preferredVisualisationType": "nodeGraph"}


def field(name: str, kind: str, **config: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": kind}
    if config:
        out["config"] = config
    return out


def fixed(colour: str) -> dict[str, str]:
    return {"mode": "fixed", "fixedColor": colour}


NODE_FIELDS = (
    field("id", "string"), field("title", "string"), field("subtitle", "string"),
    field("mainstat", "number", displayName="Requests in", unit="reqps"),
    field("secondarystat", "number", displayName="Errors in", unit="percent"),
    field("arc__success", "number", displayName="Success",
          color=fixed(HEALTH_COLOURS["Healthy"][0])),
    field("arc__failed", "number", displayName="Failed",
          color=fixed(HEALTH_COLOURS["Failure"][0])),
    field("color", "string", displayName="Health"),
)
EDGE_FIELDS = (
    field("id", "string"), field("source", "string"), field("target", "string"),
    field("mainstat", "string", displayName="Rate"),
    field("secondarystat", "string", displayName="Errors, response time"),
)


def frame(name: str, fields: tuple[dict[str, Any], ...],
          rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else \
        [[] for _ in fields]
    return {"schema": {"name": name, "meta": NODE_GRAPH, "fields": list(fields)},
            "data": {"values": columns}}


def frames(graph: Graph) -> bytes:
    """{"frames": [nodes, edges]}. A node's arcs are the shares of its inbound requests
    that failed and did not (1 and 0 without inbound requests), its colour its health's."""
    nodes = [n for n in graph.nodes if not n.box]
    node_rows = []
    for n in nodes:
        failed = round(n.error_fraction, 6)
        node_rows.append((n.id, n.label, n.namespace, round(n.rate_in, 6),
                          round(100 * n.error_fraction, 4), round(1.0 - failed, 6), failed,
                          n.colour))
    edge_rows = [(e.id, e.source, e.target, e.rate_text, e.detail_text) for e in graph.edges]
    return orjson.dumps({"frames": [frame("nodes", NODE_FIELDS, node_rows),
                                    frame("edges", EDGE_FIELDS, edge_rows)]})
