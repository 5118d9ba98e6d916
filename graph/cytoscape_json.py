"""The graph's Cytoscape JSON written as bytes, straight from its metadata: no dict per
element.

`to_config` (graph/cytoscape.py) is this JSON read back, and the bytes are those orjson
wrote of the dicts that graph/cytoscape.py's `to_config_dicts` makes, element by element
(tests/test_cytoscape_json.py compares them). Each element is kept as its fields' JSON
pieces (graph/json_pieces.py): the body joins them once, a live refresh fingerprints them and
sends the fields that changed (graph/delta.py, graph/patch.py), and the layout reads what it
needs of the nodes (`Drawn`). The per-element loops run compiled (graph/element_writer.pyx,
graph/column_reads.pyx);
what is made once per node, box or service set is made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, NamedTuple

import networkx as nx
import orjson

from graph import edge_json, ids, layout, memory, traffic_columns
from graph.cells import COUNTED
from graph.cytoscape import BOX_RANK, NODE_FLAGS, box_groups, box_key, node_label
from graph.health import NA
from graph.json_pieces import (
    PIECES,
    SHAPES,
    Element,
    Piece,
    add_crcs,
    compiled,
    crcs_of,
    element_writer,
    node_traffic_texts,
)

# --- nodes -------------------------------------------------------------------------------


class NodeFacts(NamedTuple):
    """What a node's identity fixes: its JSON id, its first pieces, its label's piece, the
    fields boxes and sorting read."""

    id: str
    pieces: tuple[Piece, ...]
    names: tuple[str, ...]
    label: str
    label_piece: Piece
    cluster: str
    namespace: str
    app: str
    sort_key: tuple[Any, ...]


NODE_FACTS: dict[tuple[Any, ...], NodeFacts] = {}
NODE_FACTS_MAX = 1 << 17


def node_facts(node_id: str, n: Mapping[str, Any]) -> NodeFacts:
    key = (node_id, n["node_type"], n["cluster"], n["namespace"], n.get("workload"),
           n.get("app"), n.get("version"), n.get("service"))
    found = NODE_FACTS.get(key)
    if found is not None:
        return found
    hashed = ids.hash_id(node_id)
    pieces = [PIECES.get("id", hashed), PIECES.get("nodeType", n["node_type"]),
              PIECES.get("cluster", n["cluster"]), PIECES.get("namespace", n["namespace"])]
    names = {}
    for name in ("workload", "app", "version", "service"):
        value = n.get(name)
        if value:
            names[name] = value
            pieces.append(PIECES.get(name, value))
    label = node_label(n)
    found = NodeFacts(hashed, tuple(pieces), ("id", "nodeType", "cluster", "namespace", *names),
                      label, PIECES.get("label", label), n["cluster"],
                      n["namespace"], names.get("app", ""),
                      (3, n["cluster"], n["namespace"], names.get("app", ""),
                       names.get("version", ""), names.get("service", ""),
                       names.get("workload", "")))
    if len(NODE_FACTS) >= NODE_FACTS_MAX:
        NODE_FACTS.clear()
    NODE_FACTS[key] = found
    return found


DEST_SERVICES: dict[tuple[Any, ...], Piece] = {}


def dest_services_piece(dest_services: Iterable[tuple[str, str, str]]) -> Piece:
    key = tuple(sorted(dest_services))
    found = DEST_SERVICES.get(key)
    if found is None:
        found = PIECES.make("destServices", orjson.dumps(
            [{"cluster": c, "namespace": ns, "name": name} for c, ns, name in key]), kept=True)
        if len(DEST_SERVICES) >= 1 << 16:
            DEST_SERVICES.clear()
        DEST_SERVICES[key] = found
    return found


# A node while the elements are put together: graph/element_writer.pyx's Node (compiled).
Node = Any


def box_nodes(nodes: list[Node], box_by: str, extras: bool) -> list[Node]:
    """graph.cytoscape.box_nodes on Nodes: a compound parent for every app (or namespace,
    cluster) with more than one member; members get their `parent`."""
    keyed = ((box_key(box_by, n.cluster, n.namespace, n.app, bool(n.parent)), n) for n in nodes)
    boxes = []
    for key, group in box_groups(keyed, box_by):
        first = group[0]
        namespace = first.namespace if box_by != "cluster" else ""
        app = first.app if box_by == "app" else ""
        hashed = ids.hash_id(key)
        pieces = [PIECES.get("id", hashed), PIECES.get("nodeType", ids.NODE_BOX),
                  PIECES.get("cluster", first.cluster), PIECES.get("namespace", namespace)]
        if box_by == "app":
            pieces.append(PIECES.get("app", app))
        pieces.append(PIECES.get("healthData", None))
        names = ["id", "nodeType", "cluster", "namespace", *(("app",) if box_by == "app" else ()),
                 "healthData"]
        flags = [False, False]
        for n in group:
            n.parent = hashed
            if box_by == "app":
                flags = [flags[0] or n.flags[0], flags[1] or n.flags[1]]
        for flag, on in zip(("isInaccessible", "isOutside"), flags, strict=True):
            if on:
                pieces.append(PIECES.get(flag, True))
                names.append(flag)
        pieces.append(PIECES.get("isBox", box_by))
        names.append("isBox")
        label = app or namespace or first.cluster
        if extras:
            pieces.append(PIECES.get("label", label))
            names.append("label")
        facts = NodeFacts(hashed, (), (), label, b"", first.cluster, namespace, app,
                          (BOX_RANK[box_by], first.cluster, namespace, app, "", "", ""))
        boxes.append(element_writer().Node(facts, pieces, names, (flags[0], flags[1]),
                                           box_by))
    return boxes


# --- the whole graph ---------------------------------------------------------------------


class Drawn(NamedTuple):
    """What graph/layout.py reads of a node: its band, box and label."""

    id: str
    cluster: str
    namespace: str
    label: str
    parent: str
    is_box: str


class Written(NamedTuple):
    """A graph's JSON as elements: `head` (timestamp, duration, graphType), the nodes and
    edges in Kiali's order, what follows the elements in the API body (`tail`), and the
    nodes as the layout reads them (`drawn`, in the nodes' order)."""

    head: dict[str, Any]
    nodes: list[Element]
    edges: list[Element]
    tail: dict[str, Any]
    drawn: list[Drawn]
    ends: list[tuple[str, str]]  # each edge's source and target JSON ids

    def body(self) -> bytes:
        """The API body, as orjson wrote the body's dict: head, elements, tail."""
        return self.write(self.head, self.tail)

    def write(self, head: Mapping[str, Any], tail: Mapping[str, Any]) -> bytes:
        # One join of every element's pieces and what goes between them: the body (50 MB
        # at 10,000 workloads) is copied once, not once per element and once per group.
        parts = [orjson.dumps(dict(head))[:-1] + (b"," if head else b"")
                 + b'"elements":{"nodes":[']
        element_parts(self.nodes, parts)
        parts.append(b'],"edges":[')
        element_parts(self.edges, parts)
        parts.append(b"]}")
        if tail:
            parts.append(b"," + orjson.dumps(dict(tail))[1:-1])
        parts.append(b"}")
        return b"".join(parts)

    def groups(self) -> Iterator[tuple[str, list[Element]]]:
        yield "nodes", self.nodes
        yield "edges", self.edges

    def to_dict(self) -> dict[str, Any]:
        """The body as dicts, for whatever reads fields (the side panel, tests)."""
        loaded: dict[str, Any] = orjson.loads(self.body())
        return loaded


def element_parts(elements: list[Element], parts: list[bytes]) -> None:
    """Append to `parts` what b"".join makes the elements' JSON of, comma-separated (each
    Element.text())."""
    if not elements:
        return
    parts.append(b'{"data":{')
    joined = map(b",".join, map(attrgetter("pieces"), elements))
    positions = [e.position for e in elements]
    if not any(positions):
        parts += chain.from_iterable(zip(joined, repeat(b'}},{"data":{')))
        parts[-1] = b"}}"
        return
    for text, position in zip(joined, positions, strict=True):
        parts.append(text)
        if position is None:
            parts.append(b'}},{"data":{')
        else:
            parts += (b'},"position":', position, b'},{"data":{')
    parts[-1] = b"}}" if positions[-1] is None else b"}"


def graph_nodes(g: nx.MultiDiGraph, extras: bool) -> list[Node]:
    """Every node's Node and its pieces, in the graph's order, by the compiled loop
    (graph/element_writer.pyx's graph_nodes says which pieces)."""
    attrs = g._node  # what g.nodes(data=True) reads
    rates = node_traffic_texts([n["md"] for n in attrs.values()])
    writer = element_writer()
    return writer.graph_nodes(NODE_FIELDS[0] if NODE_FIELDS else node_fields(writer), attrs,
                              rates, extras)


NODE_FIELDS: list[Any] = []  # element_writer's NodeFields, made on first use


def node_fields(writer: Any) -> Any:
    NODE_FIELDS.append(writer.NodeFields(
        NODE_FACTS, PIECES.values, NODE_FLAGS, NA, node_facts, PIECES.get,
        dest_services_piece, DEST_SERVICES,
        lambda value: PIECES.make("healthData", orjson.dumps(value)),
        lambda md: PIECES.make("sources", orjson.dumps(md["sources"]))))
    return NODE_FIELDS[0]


def write_graph(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None, extras: bool = True,
                edge_health: bool = False) -> Written:
    """graph.cytoscape.to_config's JSON, as elements. Boxes by `box_by`, else by the graph's
    own `box_by` option; nodes sorted by kind and names, edges by source, target and
    protocol, as Kiali sorts them."""
    if box_by is None:
        box_by = g.graph.get("box_by", ())
    FACTS.unpack()
    nodes = graph_nodes(g, extras)
    hashed = {node_id: n.id for node_id, n in zip(g.nodes, nodes, strict=True)}
    # Read from the adjacency dicts g.edges(keys=True, data=True) reads: its view's
    # generator cost 40 ms of a build at 10,000 workloads.
    sources, targets, protocols, datas = compiled("column_reads").edge_columns(g._succ,
                                                                                hashed)
    counted = g.graph.get(COUNTED)
    texts = traffic_columns.traffic_texts(counted) if counted is not None else None
    edges, order = edge_json.edge_elements(sources, targets, protocols, datas, extras,
                                           edge_health, texts)
    graph_type = g.graph.get("graph_type", ids.WORKLOAD)
    for kind in ("app", "namespace", "cluster"):
        if kind in box_by or (kind == "app" and graph_type in (ids.APP, ids.VERSIONED_APP)):
            nodes += box_nodes(nodes, kind, extras)
    nodes.sort(key=attrgetter("sort_key"))
    head = {"timestamp": g.graph["timestamp"], "duration": g.graph["duration"],
            "graphType": g.graph["graph_type"]}
    elements, drawn = element_writer().node_elements(nodes, extras, Element, Drawn,
                                                     PIECES.values, SHAPES, PIECES.get)
    return Written(head, elements, edges, {}, drawn,
                   element_writer().ends_in_order(sources, targets, order))


# --- positions ---------------------------------------------------------------------------


def layout_model(written: Written, edge_ends: list[tuple[str, str]]) -> layout.Model:
    """graph.layout.read_elements of the written graph."""
    app_boxes = {d.id for d in written.drawn if d.is_box == "app"}
    leaves: dict[str, layout.Leaf] = {}
    for d in written.drawn:
        if d.is_box:
            continue
        unit = d.parent if d.parent in app_boxes else d.id
        leaves[d.id] = layout.Leaf(d.id, f"{d.cluster}/{d.namespace}", unit,
                                   f"{d.namespace}/{d.label}/{d.id}")
    model = layout.Model(leaves, [(s, t) for s, t in edge_ends if s in leaves and t in leaves])
    for leaf in sorted(leaves.values(), key=lambda item: item.key):
        model.units.setdefault(leaf.unit, []).append(leaf.id)
    return model


POSITIONS: dict[tuple[float, float], bytes] = {}


def position_text(where: Mapping[str, float]) -> bytes:
    key = (where["x"], where["y"])
    found = POSITIONS.get(key)
    if found is None:
        found = orjson.dumps(where)
        if len(POSITIONS) < 1 << 17:
            POSITIONS[key] = found
    return found


def with_positions(written: Written,
                   previous: Mapping[str, Mapping[str, float]] | None = None,
                   ) -> tuple[Written, layout.Positions]:
    """graph.layout.add_positions on the written graph: every drawn node of a graph of
    `layout.MIN_NODES` nodes or more gets a `position`, the `previous` ones kept; and the
    positions by id, in the nodes' order (graph.layout.positions_of)."""
    if len(written.nodes) < layout.MIN_NODES:
        return written, {}
    # A live scope's nodes mostly all stay: then each keeps its cell, no model is read, and
    # the positions come in the nodes' order.
    positions = layout.kept_positions([d.id for d in written.drawn if not d.is_box], previous)
    if positions is None:
        placed = layout.place(layout_model(written, written.ends), previous)
        positions = {e.id: placed[e.id] for e in written.nodes if e.id in placed}
    nodes = []
    for e in written.nodes:
        found = positions.get(e.id)
        nodes.append(e if found is None else
                     Element(e.id, e.pieces, e.names, position_text(found)))
    return written._replace(nodes=nodes), positions


def facts_crcs() -> dict[Piece, int]:
    """The CRCs of the pieces the facts hold."""
    return crcs_of([*(p for f in NODE_FACTS.values() for p in (*f.pieces, f.label_piece)),
                    *DEST_SERVICES.values()])


# Handed back from builds in a child process (graph/forked.py), packed: the worker holds
# them as one bytes object; the build that reads them unpickles them (write_graph).
FACTS = memory.keep_packed("json facts", NODE_FACTS, DEST_SERVICES, POSITIONS,
                           extra=facts_crcs, unpacked=add_crcs)
