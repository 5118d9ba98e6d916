"""The API's graph body in other formats: NetworkX's node-link JSON, GraphML, GEXF, Graphviz
dot and SVG, Mermaid, and Grafana's Node Graph data frames.

Every format starts from the same reading of the body (`read_body`): nodes with the label
the page shows, their namespace, health and the page's colour for it, and the box they sit
in; edges with their rate, error % and response time. The writers live in one module per
family (export_networkx, export_text, export_svg, export_grafana); `export()` picks one.

    >>> export(body, "mermaid").content_type
    'text/plain; charset=utf-8'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from graph.health import NA
from graph.options import OptionError, shown

# The page's colours (static/js/styles.js): stroke, then fill.
HEALTH_COLOURS = {"Failure": ("#c9190b", "#fdeceb"), "Degraded": ("#e07000", "#fff3e5"),
                  "Healthy": ("#3e8635", "#eef6ec"), NA: ("#8a8d90", "#ffffff")}
BOX_COLOURS = {"cluster": ("#6a6e73", "#fbfbfc"), "namespace": ("#7f9cc0", "#eef3f9"),
               "app": ("#b8bbbe", "#f4f5f7")}
RATE_UNITS = {"tcp": "B/s"}  # every other protocol counts requests

# Characters no XML document may hold (and Graphviz and Mermaid choke on): C0 controls but
# tab and newline, lone surrogates, U+FFFE/U+FFFF. Prometheus label values may hold them.
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """`text` with the characters no format can carry replaced by U+FFFD; \r\n -> \n."""
    return UNPRINTABLE.sub("\ufffd", text.replace("\r\n", "\n"))


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    namespace: str
    node_type: str
    health: str
    parent: str | None
    box: str | None  # "cluster", "namespace" or "app" for a box, else None
    names: dict[str, str]  # workload, app, version, service where the node has them
    rate_in: float  # HTTP and gRPC requests per second into the node (TCP bytes left out)
    errors_in: float  # failed requests per second into the node

    @property
    def colour(self) -> str:
        return (BOX_COLOURS[self.box] if self.box else HEALTH_COLOURS[self.health])[0]

    @property
    def fill(self) -> str:
        return (BOX_COLOURS[self.box] if self.box else HEALTH_COLOURS[self.health])[1]

    @property
    def error_fraction(self) -> float:
        return min(1.0, self.errors_in / self.rate_in) if self.rate_in > 0 else 0.0


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    protocol: str
    rate: float
    error_percent: float
    response_time_ms: float | None
    health: str

    @property
    def colour(self) -> str:
        return HEALTH_COLOURS[self.health][0]

    @property
    def rate_text(self) -> str:
        return f"{self.rate:.2f} {RATE_UNITS.get(self.protocol, 'req/s')}"

    @property
    def detail_text(self) -> str:
        """Error % and response time, as far as the edge has them: `50.0 % err, 12 ms`."""
        parts = []
        if self.protocol != "tcp":
            parts.append(f"{self.error_percent:.1f} % err")
        if self.response_time_ms is not None:
            parts.append(f"{self.response_time_ms:g} ms")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """What the edge says on a drawing: protocol, rate, then detail_text."""
        detail = self.detail_text
        return f"{self.protocol} {self.rate_text}" + (f", {detail}" if detail else "")


@dataclass(frozen=True)
class Graph:
    timestamp: int
    duration: int
    graph_type: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def children(self, parent: str | None) -> list[Node]:
        """The nodes directly in box `parent` (None: at the top), in the body's order."""
        return self.members.get(parent, [])

    @cached_property
    def members(self) -> dict[str | None, list[Node]]:
        out: dict[str | None, list[Node]] = {}
        for node in self.nodes:
            out.setdefault(node.parent, []).append(node)
        return out


# Inbound error rates per protocol, as Kiali counts an edge's errors.
IN_ERRORS = {"http": ("httpIn4xx", "httpIn5xx", "httpInNoResponse"),
             "grpc": ("grpcInErr", "grpcInNoResponse")}


def read_node(data: dict[str, Any]) -> Node:
    rate_in = errors_in = 0.0
    for entry in data.get("traffic") or ():
        protocol, rates = entry["protocol"], entry.get("rates", {})
        if protocol not in IN_ERRORS:
            continue
        rate_in += float(rates.get(f"{protocol}In", 0))
        errors_in += sum(float(rates.get(key, 0)) for key in IN_ERRORS.get(protocol, ()))
    names = {k: printable(data[k]) for k in ("workload", "app", "version", "service")
             if data.get(k)}
    return Node(id=data["id"], label=printable(str(data.get("label", data["id"]))),
                namespace=printable(str(data.get("namespace", ""))),
                node_type=data.get("nodeType", ""), health=data.get("healthStatus", NA),
                parent=data.get("parent"), box=data.get("isBox"), names=names,
                rate_in=rate_in, errors_in=errors_in)


def read_edge(data: dict[str, Any]) -> Edge:
    traffic = data.get("traffic", {})
    protocol = traffic.get("protocol", "")
    rates = traffic.get("rates", {})
    response_time = data.get("responseTime")
    return Edge(id=data["id"], source=data["source"], target=data["target"], protocol=protocol,
                rate=float(rates.get(protocol, 0)),
                error_percent=float(rates.get(f"{protocol}PercentErr", 0)),
                response_time_ms=None if response_time in (None, "") else float(response_time),
                health=data.get("healthStatus", NA))


def read_body(body: dict[str, Any]) -> Graph:
    """The parts of an /api/v1/graph body that the exports write."""
    elements = body["elements"]
    return Graph(timestamp=body["timestamp"], duration=body["duration"],
                 graph_type=body["graphType"],
                 nodes=tuple(read_node(n["data"]) for n in elements["nodes"]),
                 edges=tuple(read_edge(e["data"]) for e in elements["edges"]))


@dataclass(frozen=True)
class Exported:
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    write: Callable[[Graph], bytes]


JSON_TYPE = "application/json"
DEFAULT_FORMAT = "cytoscape"


def formats() -> dict[str, Format]:
    """The formats other than `cytoscape` (the body itself), by their format= name."""
    from graph import export_grafana, export_networkx, export_svg, export_text

    return {f.name: f for f in (
        Format("node-link", JSON_TYPE, export_networkx.node_link),
        Format("graphml", "application/graphml+xml; charset=utf-8", export_networkx.graphml),
        Format("gexf", "application/gexf+xml; charset=utf-8", export_networkx.gexf),
        Format("dot", "text/vnd.graphviz; charset=utf-8", export_text.dot),
        Format("svg", "image/svg+xml", export_svg.svg),
        Format("mermaid", "text/plain; charset=utf-8", export_text.mermaid),
        Format("grafana", JSON_TYPE, export_grafana.frames),
    )}


FORMAT_NAMES = (DEFAULT_FORMAT, "node-link", "graphml", "gexf", "dot", "svg", "mermaid",
                "grafana")


def parse_format(value: str | None, param: str = "format") -> str:
    """format= -> a name of FORMAT_NAMES (OptionError naming `param` and the formats)."""
    if value is None or value == "":
        return DEFAULT_FORMAT
    if value not in FORMAT_NAMES:
        raise OptionError(param, f"{shown(value)} is not a format; use "
                                 f"{', '.join(FORMAT_NAMES)}")
    return value


def export(body: dict[str, Any], name: str) -> Exported:
    """The body in format `name` (not `cytoscape`: that is the body as it is)."""
    chosen = formats()[name]
    return Exported(chosen.write(read_body(body)), chosen.content_type)
