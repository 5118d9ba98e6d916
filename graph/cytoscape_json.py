"""The graph's Cytoscape JSON written as bytes, straight from its metadata: no dict per
element.

`to_config` (graph/cytoscape.py) is this JSON read back; the bytes are those orjson wrote of
the dicts the elements used to be made of (tests/test_cytoscape_json.py compares them with
the dict writer's, kept there). Each element is kept as its fields' JSON pieces
(`"name":<value>`): the body joins them once, a delta compares and sends the pieces that
changed (graph/patch.py), and the layout reads what it needs from `Element`s.

Most of a piece never changes while a scope is live: a node's ids, names and label, an
edge's ids and ends, a health status, a principal. Those are made once and kept (`Pieces`,
each with its CRC-32 for patches); per build only the rates are formatted, with the same
float formatting the dict writer used (`%.2f`, `%.1f`: the `format()` of every Python
float, whatever writes it).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import networkx as nx
import orjson

from graph import ids, layout, traffic
from graph.cytoscape import (
    APPENDED_EDGE_FIELDS,
    BOX_RANK,
    EDGE_SHAPES,
    NODE_FLAGS,
    NODE_RATES,
    edge_order,
    edge_shape,
    node_label,
)
from graph.health import NA

Piece = bytes  # one field of an element's data: b'"name":<JSON value>'


class Pieces:
    """Pieces made once and kept (a live mesh names the same nodes, edges, statuses and
    principals tick after tick), with each one's CRC-32 as graph/patch.py prints it.
    Bounded: cleared when it grows past `size` (a mesh whose names keep changing)."""

    def __init__(self, size: int = 1 << 19) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.values: dict[tuple[str, Any], Piece] = {}
        self.crcs: dict[bytes, int] = {}

    def get(self, name: str, value: Any) -> Piece:
        """The piece of a str, bool or None value (hashable, and JSON as itself)."""
        found = self.values.get((name, value))
        if found is None:
            found = self.make(name, orjson.dumps(value), value)
            with self.lock:
                if len(self.values) >= self.size:
                    self.values.clear()
                    self.crcs.clear()
                self.values[(name, value)] = found
        return found

    def make(self, name: str, text: bytes, value: Any = None) -> Piece:
        piece = b'"' + name.encode() + b'":' + text
        crc = zlib.crc32(value.encode()) if type(value) is str else zlib.crc32(text)
        with self.lock:
            self.crcs[piece] = crc
        return piece


PIECES = Pieces()


def piece_crc(piece: Piece) -> int:
    """The CRC-32 graph/patch.py keeps of a field: of a str value's text, else of its JSON."""
    found = PIECES.crcs.get(piece)
    if found is not None:
        return found
    text = piece[piece.index(b'":') + 2:]
    if text[:1] == b'"':
        text = text[1:-1] if b"\\" not in text else orjson.loads(text).encode()
    return zlib.crc32(text)


# One tuple of field names per shape of element (a graph has a few dozen shapes, not one
# per element), shared with graph/patch.py's prints.
SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}


def shape_of(names: list[str]) -> tuple[str, ...]:
    found = tuple(names)
    return SHAPES.setdefault(found, found)


class Element(NamedTuple):
    """One node or edge: its JSON id, its data's pieces in order and their names, and a
    node's position's JSON (big graphs, graph/layout.py)."""

    id: str
    pieces: tuple[Piece, ...]
    names: tuple[str, ...]
    position: bytes | None = None

    def text(self) -> bytes:
        """The element's JSON: {"data": {...}, "position": {...}}."""
        data = b'{"data":{' + b",".join(self.pieces)
        if self.position is None:
            return data + b"}}"
        return data + b'},"position":' + self.position + b"}"


# --- rates -------------------------------------------------------------------------------


def rate_precision(value: float) -> int:
    """The decimals of graph.cytoscape.format_rate: 2, more below 1 until a digit shows
    (at most 5)."""
    if value >= 1:
        return 2
    precision, scaled = 0, value
    while value > 0 and precision < 5 and scaled < 1:
        scaled *= 10
        precision += 1
    return max(2, precision)


def rate_text(value: float) -> bytes:
    """graph.cytoscape.format_rate's string, quoted."""
    return b'"%.2f"' % value if value >= 1 else b'"%.*f"' % (rate_precision(value), value)


KEYS: dict[str, bytes] = {}  # a JSON object key and its colon, by name


def key_text(name: str) -> bytes:
    found = KEYS.get(name)
    if found is None:
        found = orjson.dumps(name) + b":"
        if len(KEYS) < 1 << 18:
            KEYS[name] = found
    return found


def rates_text(md: Mapping[str, Any], keys: Iterable[str], out: list[bytes]) -> list[bytes]:
    """`out` with each positive rate of `keys` appended: b'"key":"1.00"'."""
    keyed = KEYS.get
    for key in keys:
        value = md.get(key, 0.0)
        if value > 0:
            out.append((keyed(key) or key_text(key))
                       + (b'"%.2f"' % value if value >= 1 else rate_text(value)))
    return out


PROTOCOL_HEADS = {protocol: b'{"protocol":"' + protocol.encode() + b'","rates":{'
                  for protocol in traffic.PROTOCOLS}
NODE_RATE_KEYS = tuple((PROTOCOL_HEADS[p], NODE_RATES[p]) for p in traffic.PROTOCOLS)


def node_traffic_text(md: Mapping[str, Any]) -> bytes | None:
    """[{"protocol", "rates"}, ...] of a node with traffic, else None."""
    out = []
    for head, keys in NODE_RATE_KEYS:
        rates = rates_text(md, keys, [])
        if rates:
            out.append(head + b",".join(rates) + b"}}")
    return b"[" + b",".join(out) + b"]" if out else None


def share(value: float, total: float) -> bytes:
    return b'"%.1f"' % (value / total * 100)


def shares_text(values: Mapping[str, float], total: float) -> bytes:
    """{"name": "12.5", ...}: each value's share of `total`, in percent."""
    if len(values) == 1:
        for key, value in values.items():
            return b'{%s"%.1f"}' % (KEYS.get(key) or key_text(key), value / total * 100)
    keyed = KEYS.get
    return b"{" + b",".join([(keyed(key) or key_text(key)) + b'"%.1f"' % (value / total * 100)
                             for key, value in values.items()]) + b"}"


def responses_text(responses: Mapping[str, Any], total: float) -> bytes:
    """{code: {"flags": {flag: share}, "hosts": {host: share}}}."""
    out = []
    keyed = KEYS.get
    for code, detail in responses.items():
        flags, hosts = detail["flags"], detail["hosts"]
        if len(flags) == 1 and len(hosts) == 1:  # the usual case: one format
            for flag, flag_value in flags.items():
                for host, host_value in hosts.items():
                    out.append(b'%s{"flags":{%s"%.1f"},"hosts":{%s"%.1f"}}' % (
                        keyed(code) or key_text(code), keyed(flag) or key_text(flag),
                        flag_value / total * 100, keyed(host) or key_text(host),
                        host_value / total * 100))
        elif flags and hosts:
            out.append((keyed(code) or key_text(code)) + b'{"flags":' + shares_text(flags, total)
                       + b',"hosts":' + shares_text(hosts, total) + b"}")
        elif flags:
            out.append((keyed(code) or key_text(code)) + b'{"flags":'
                       + shares_text(flags, total) + b"}")
        elif hosts:
            out.append((keyed(code) or key_text(code)) + b'{"hosts":'
                       + shares_text(hosts, total) + b"}")
        else:
            out.append((keyed(code) or key_text(code)) + b"{}")
    return b"{" + b",".join(out) + b"}"


TEMPLATE_KEYS: dict[str, bytes] = {}


def template_text(name: str) -> bytes:
    """A JSON string as it goes into a %-format (its % doubled), and its colon."""
    found = TEMPLATE_KEYS.get(name)
    if found is None:
        found = orjson.dumps(name).replace(b"%", b"%%") + b":"
        if len(TEMPLATE_KEYS) < 1 << 18:
            TEMPLATE_KEYS[name] = found
    return found


def make_template(key: tuple[Any, ...]) -> bytes:
    """The %-format of an edge's traffic of the shape `key` (see edge_traffic_text)."""
    it = iter(key)
    protocol = next(it)
    rates = []
    for name in it:  # rates, then percentages
        if name is None:
            break
        rates.append(template_text(name) + b'"%.*f"')
    for name in it:
        if name is None:
            break
        rates.append(template_text(name) + b'"%.1f"')
    responses = []
    for code in it:
        flags, hosts = next(it), next(it)
        text = template_text(code) + b"{"
        if flags:
            text += b'"flags":{' + b'"%.1f",'.join(map(template_text, flags)) + b'"%.1f"}'
        if hosts:
            text += (b',"hosts":{' if flags else b'"hosts":{') + b'"%.1f",'.join(
                map(template_text, hosts)) + b'"%.1f"}'
        responses.append(text + b"}")
    return (b'{"protocol":' + template_text(protocol)[:-1] + b',"rates":{' + b",".join(rates)
            + b'},"responses":{' + b",".join(responses) + b"}}")


class Templates:
    """The %-formats of edges' traffic by shape (protocol, rates present, codes, flags and
    hosts): about one per edge of a mesh, kept while it stays the same. Bounded."""

    def __init__(self, size: int = 1 << 17) -> None:
        self.size = size
        self.found: dict[tuple[Any, ...], bytes] = {}

    def __call__(self, key: tuple[Any, ...]) -> bytes:
        made = make_template(key)
        if len(self.found) >= self.size:
            self.found.clear()
        self.found[key] = made
        return made


TEMPLATES = Templates()
EDGE_HEADS: dict[str, bytes] = {}


def edge_traffic_text(protocol: str, md: Mapping[str, Any],
                      source_md: Mapping[str, Any] | None) -> bytes:
    """graph.cytoscape.edge_traffic's JSON: {"protocol", "rates", "responses"}. Written by
    one %-format per edge, of the edge's shape (the rates it has, its codes, flags and
    hosts), made once."""
    total = md.get(protocol, 0.0)
    if total <= 0:
        head = EDGE_HEADS.get(protocol)
        if head is None:
            head = EDGE_HEADS[protocol] = b'{"protocol":' + orjson.dumps(protocol) + b"}"
        return head
    shape = EDGE_SHAPES.get(protocol) or edge_shape(protocol)
    key: list[Any] = [protocol]
    args: list[Any] = []
    for name in shape.summed:
        value = md.get(name, 0.0)
        if value > 0:
            key.append(name)
            args.append(2 if value >= 1 else rate_precision(value))
            args.append(value)
    key.append(None)
    if shape.errors:
        errors = 0.0
        for name in shape.errors:
            errors += md.get(name, 0.0)
        if errors > 0:
            key.append(shape.percent_err)
            args.append(errors / total * 100)
        if source_md is not None:
            out = source_md.get(shape.out_rate, 0.0)
            part = md[protocol] / out * 100 if out else 0.0
            if part > 0:
                key.append(shape.percent_req)
                args.append(part)
    key.append(None)
    for code, detail in md.get(shape.responses, {}).items():
        flags, hosts = detail["flags"], detail["hosts"]
        key.append(code)
        key.append(tuple(flags))
        key.append(tuple(hosts))
        for value in flags.values():
            args.append(value / total * 100)
        for value in hosts.values():
            args.append(value / total * 100)
    found = tuple(key)
    template = TEMPLATES.found.get(found) or TEMPLATES(found)
    return template % tuple(args)


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
            [{"cluster": c, "namespace": ns, "name": name} for c, ns, name in key]))
        if len(DEST_SERVICES) >= 1 << 16:
            DEST_SERVICES.clear()
        DEST_SERVICES[key] = found
    return found


def node_pieces(facts: NodeFacts, md: Mapping[str, Any],
                extras: bool) -> tuple[list[Piece], list[str]]:
    """A node's pieces, and their names."""
    pieces, names = list(facts.pieces), list(facts.names)
    dest_services = md.get("destServices")
    if dest_services:
        pieces.append(dest_services_piece(dest_services))
        names.append("destServices")
    rates = node_traffic_text(md)
    if rates is not None:
        pieces.append(b'"traffic":' + rates)
        names.append("traffic")
    health_data = md.get("healthData")
    pieces.append(PIECES.get("healthData", health_data) if health_data is None
                  else PIECES.make("healthData", orjson.dumps(health_data)))
    names.append("healthData")
    for flag in NODE_FLAGS:
        if md.get(flag):
            pieces.append(PIECES.get(flag, True))
            names.append(flag)
    if extras:
        pieces.append(PIECES.get("healthStatus", md.get("healthStatus", NA)))
        pieces.append(facts.label_piece)
        names += ("healthStatus", "label")
        if "sources" in md:  # only in a graph merged from several data sources
            pieces.append(PIECES.make("sources", orjson.dumps(md["sources"])))
            names.append("sources")
    return pieces, names


class Node:
    """A node while the elements are put together (boxes are added and nodes sorted)."""

    __slots__ = ("app", "cluster", "flags", "id", "is_box", "label", "names", "namespace",
                 "parent", "pieces", "sort_key")

    def __init__(self, facts: NodeFacts, pieces: list[Piece], names: list[str],
                 flags: tuple[bool, bool], is_box: str = "") -> None:
        self.id, self.pieces, self.names = facts.id, pieces, names
        self.flags, self.is_box = flags, is_box
        self.cluster, self.namespace, self.app = facts.cluster, facts.namespace, facts.app
        self.sort_key, self.label = facts.sort_key, facts.label
        self.parent = ""


def box_key(n: Node, box_by: str) -> str | None:
    if box_by == "app":
        return f"box_{n.cluster}_{n.namespace}_{n.app}" if n.app not in ("", ids.UNKNOWN) \
            else None
    if n.parent:
        return None
    if box_by == "namespace":
        return f"box_{n.cluster}_{n.namespace}" if n.namespace != ids.UNKNOWN else None
    if box_by == "cluster":
        return f"box_{n.cluster}" if n.cluster != ids.UNKNOWN else None
    return None


def box_nodes(nodes: list[Node], box_by: str, extras: bool) -> list[Node]:
    """graph.cytoscape.box_nodes on Nodes: a compound parent for every app (or namespace,
    cluster) with more than one member; members get their `parent`."""
    members: dict[str, list[Node]] = {}
    for n in nodes:
        key = box_key(n, box_by)
        if key is not None:
            members.setdefault(key, []).append(n)
    if box_by != "app" and len(members) < 2:
        return []
    boxes = []
    for key, group in members.items():
        if len(group) < 2:
            continue
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
        boxes.append(Node(facts, pieces, names, (flags[0], flags[1]), box_by))
    return boxes


# --- edges -------------------------------------------------------------------------------

EDGE_ENDS: dict[tuple[str, str, str], tuple[str, tuple[Piece, ...]]] = {}


def edge_ends(source: str, target: str, protocol: str) -> tuple[str, tuple[Piece, ...]]:
    key = (source, target, protocol)
    found = EDGE_ENDS.get(key)
    if found is None:
        edge_id = ids.edge_hash(source, target, protocol)
        found = (edge_id, (PIECES.get("id", edge_id), PIECES.get("source", source),
                           PIECES.get("target", target)))
        if len(EDGE_ENDS) >= 1 << 18:
            EDGE_ENDS.clear()
        EDGE_ENDS[key] = found
    return found


def value_piece(name: str, value: Any) -> Piece:
    if type(value) is str or type(value) is bool or value is None:
        return PIECES.get(name, value)
    return PIECES.make(name, orjson.dumps(value))


def edge_element(source: str, target: str, protocol: str, d: Mapping[str, Any], extras: bool,
                 edge_health: bool) -> Element:
    md = d["md"]
    edge_id, ends = edge_ends(source, target, protocol)
    pieces = list(ends)
    names = ["id", "source", "target"]
    if extras:
        pieces.append(PIECES.get("healthStatus", md.get("healthStatus", NA)))
        names.append("healthStatus")
        if "sources" in md:  # only in a graph merged from several data sources
            pieces.append(PIECES.make("sources", orjson.dumps(md["sources"])))
            names.append("sources")
    elif edge_health:
        health = md.get("healthStatus", NA)
        if health != NA:
            pieces.append(PIECES.get("healthStatus", health))
            names.append("healthStatus")
    for key in APPENDED_EDGE_FIELDS:
        if key in md:
            pieces.append(value_piece(key, md[key]))
            names.append(key)
    pieces.append(b'"traffic":' + edge_traffic_text(protocol, md, d["source_md"]))
    names.append("traffic")
    return Element(edge_id, tuple(pieces), shape_of(names))


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
        parts = [orjson.dumps(dict(head))[:-1] + (b"," if head else b"")
                 + b'"elements":{"nodes":[']
        parts.append(b",".join([e.text() for e in self.nodes]))
        parts.append(b'],"edges":[')
        parts.append(b",".join([e.text() for e in self.edges]))
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


def graph_nodes(g: nx.MultiDiGraph, extras: bool) -> list[Node]:
    nodes = []
    for node_id, n in g.nodes(data=True):
        md = n["md"]
        facts = node_facts(node_id, n)
        nodes.append(Node(facts, *node_pieces(facts, md, extras),
                          (bool(md.get("isInaccessible")), bool(md.get("isOutside")))))
    return nodes


def write_graph(g: nx.MultiDiGraph, box_by: tuple[str, ...] | None = None, extras: bool = True,
                edge_health: bool = False) -> Written:
    """graph.cytoscape.to_config's JSON, as elements. Boxes by `box_by`, else by the graph's
    own `box_by` option; nodes sorted by kind and names, edges by source, target and
    protocol, as Kiali sorts them."""
    if box_by is None:
        box_by = g.graph.get("box_by", ())
    nodes = graph_nodes(g, extras)
    hashed = {node_id: n.id for node_id, n in zip(g.nodes, nodes, strict=True)}
    ends = [(hashed[u], hashed[v], k, d) for u, v, k, d in g.edges(keys=True, data=True)]
    edges = [edge_element(u, v, k, d, extras, edge_health) for u, v, k, d in ends]
    graph_type = g.graph.get("graph_type", ids.WORKLOAD)
    for kind in ("app", "namespace", "cluster"):
        if kind in box_by or (kind == "app" and graph_type in (ids.APP, ids.VERSIONED_APP)):
            nodes += box_nodes(nodes, kind, extras)
    nodes.sort(key=lambda n: n.sort_key)
    order = edge_order.positions(tuple([e.id for e in edges]),
                                 lambda: [(u, v, k) for u, v, k, _ in ends])
    head = {"timestamp": g.graph["timestamp"], "duration": g.graph["duration"],
            "graphType": g.graph["graph_type"]}
    return Written(head, [node_element(n) for n in nodes], [edges[i] for i in order], {},
                   [Drawn(n.id, n.cluster, n.namespace, n.label if extras else "", n.parent,
                          n.is_box) for n in nodes],
                   [(ends[i][0], ends[i][1]) for i in order])


def node_element(n: Node) -> Element:
    if n.parent:
        n.pieces.append(PIECES.get("parent", n.parent))
        n.names.append("parent")
    return Element(n.id, tuple(n.pieces), shape_of(n.names))


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
    placed = layout.place(layout_model(written, written.ends), previous)
    nodes = []
    positions: layout.Positions = {}
    for e in written.nodes:
        where = placed.get(e.id)
        if where is None:
            nodes.append(e)
        else:
            nodes.append(e._replace(position=position_text(where)))
            positions[e.id] = where
    return written._replace(nodes=nodes), positions
