"""The JSON written straight from the graph (graph/cytoscape_json.py) is, byte for byte, what
orjson wrote of the dict elements (graph.cytoscape.to_config_dicts), and so are the live
path's snapshot body, fingerprints, field prints and delta.

The graphs are random (seeded): names with quotes, backslashes, % signs, line breaks and
non-ASCII letters; rates over twelve orders of magnitude and on rounding edges; every
optional field; boxes by app, namespace and cluster.
"""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import orjson
import pytest

from dashboard import publish
from graph import ids, patch
from graph.cytoscape import format_rate, to_config, to_config_dicts
from graph.cytoscape_json import Written, with_positions, write_graph
from graph.delta import (
    diff_fingerprints,
    diff_written,
    encode_graph,
    encode_written,
)
from graph.json_pieces import Element, rate_precision, rate_text
from graph.layout import MIN_NODES, add_positions, positions_of

NAMES = ["a", "b-1", 'q"uote', "back\\slash", "50%", "%s%d", "line\nbreak", "ünï", "日本",
         "tab\there", "x" * 40]
CODES = {"http": ["200", "404", "503", "-", "302"], "grpc": ["0", "5", "14", "-"]}
FLAGS = ["-", "UF", "URX", "DC%"]
EDGE_VALUES = ["sourcePrincipal", "destPrincipal", "isMTLS", "responseTime", "throughput"]


def awkward_value(rng: random.Random) -> float:
    """A rate on a rounding edge, very small or very big, or ordinary."""
    return rng.choice([
        rng.uniform(0, 1e-6), rng.uniform(0, 1), rng.uniform(1, 100), rng.uniform(1e3, 1e7),
        0.005, 0.0049999, 0.995, 0.99999, 1.0, 1.005, 2.675, 0.125, 0.00001, 0.000004999,
        round(rng.uniform(0, 50), 3), 0.0])


def name(rng: random.Random) -> str:
    return rng.choice(NAMES) + str(rng.randrange(3))


def random_node(rng: random.Random, k: int, graph_type: str) -> tuple[str, dict[str, Any]]:
    node_type = rng.choice([ids.NODE_WORKLOAD, ids.NODE_APP, ids.NODE_SERVICE,
                            ids.NODE_UNKNOWN])
    namespace = rng.choice(["ns0", "ns1", 'n"s', ids.UNKNOWN])
    md: dict[str, Any] = {}
    for key in ("httpIn", "httpIn5xx", "httpOut", "grpcIn", "grpcInErr", "grpcOut", "tcpIn",
                "tcpOut", "httpIn4xx", "httpInNoResponse"):
        if rng.random() < 0.4:
            md[key] = awkward_value(rng)
    for flag in ("isDead", "isIdle", "isInaccessible", "isInjected", "isOutside", "isRoot"):
        if rng.random() < 0.15:
            md[flag] = True
    if rng.random() < 0.2:
        md["destServices"] = {("c1", namespace, name(rng)): True,
                              ("c0", "ns0", name(rng)): True}
    if rng.random() < 0.1:
        md["sources"] = [name(rng), "prometheus"]
    if rng.random() < 0.05:
        md["healthData"] = {"x": name(rng)}
    md["healthStatus"] = rng.choice(["Healthy", "Degraded", "Failure", "NA"])
    app = rng.choice(["", name(rng), name(rng), ids.UNKNOWN])
    return f"node{k}_{namespace}", {
        "node_type": node_type, "cluster": rng.choice(["c0", "c1", ids.UNKNOWN]),
        "namespace": namespace, "workload": rng.choice(["", name(rng)]), "app": app,
        "version": rng.choice(["", "v1", "v2"]) if app else "",
        "service": rng.choice(["", name(rng)]), "md": md}


def random_edge_md(rng: random.Random, protocol: str) -> dict[str, Any]:
    md: dict[str, Any] = {}
    if rng.random() < 0.9:
        md[protocol] = awkward_value(rng) or 1.0
    if protocol != "tcp":
        for suffix in ("NoResponse", "3xx", "4xx", "5xx", "Err"):
            if rng.random() < 0.3:
                md[protocol + suffix] = awkward_value(rng)
        responses = {}
        for code in rng.sample(CODES[protocol], rng.randrange(4)):
            flags = {f: awkward_value(rng) for f in rng.sample(FLAGS, rng.randrange(3))}
            hosts = {name(rng) + ".svc": awkward_value(rng) for _ in range(rng.randrange(3))}
            responses[code] = {"flags": flags, "hosts": hosts}
        md[f"{protocol}Responses"] = responses
    for key in EDGE_VALUES:
        if rng.random() < 0.3:
            md[key] = rng.choice([name(rng), f"{rng.uniform(0, 100):.0f}"])
    if rng.random() < 0.1:
        md["sources"] = ["istio"]
    md["healthStatus"] = rng.choice(["Healthy", "Degraded", "Failure", "NA"])
    return md


def random_graph(seed: int, nodes: int = 60, graph_type: str = ids.WORKLOAD,
                 box_by: tuple[str, ...] = ()) -> nx.MultiDiGraph:
    rng = random.Random(seed)
    g = nx.MultiDiGraph(timestamp=1_700_000_000, duration=60, graph_type=graph_type,
                        box_by=box_by)
    for k in range(nodes):
        node_id, attrs = random_node(rng, k, graph_type)
        g.add_node(node_id, **attrs)
    node_ids = list(g.nodes)
    for _ in range(nodes * 3):
        u, v = rng.sample(node_ids, 2)
        protocol = rng.choice(["http", "http", "grpc", "tcp"])
        g.add_edge(u, v, key=protocol, protocol=protocol,
                   md=random_edge_md(rng, protocol), source_md=g.nodes[u]["md"])
    return g


VARIANTS = [(ids.WORKLOAD, ()), (ids.APP, ()), (ids.VERSIONED_APP, ("namespace",)),
            (ids.WORKLOAD, ("app",)), (ids.WORKLOAD, ("namespace", "cluster")),
            (ids.VERSIONED_APP, ("app", "namespace", "cluster"))]


@pytest.mark.parametrize(("graph_type", "box_by"), VARIANTS)
@pytest.mark.parametrize("seed", range(4))
def test_it_writes_the_bytes_orjson_wrote_of_the_dicts(
        graph_type: str, box_by: tuple[str, ...], seed: int) -> None:
    g = random_graph(seed, graph_type=graph_type, box_by=box_by)
    for extras, edge_health in ((True, False), (False, True), (False, False)):
        expected = orjson.dumps(to_config_dicts(g, extras=extras, edge_health=edge_health))
        assert write_graph(g, extras=extras, edge_health=edge_health).body() == expected
        assert orjson.dumps(to_config(g, extras=extras, edge_health=edge_health)) == expected


def test_it_formats_rates_and_shares_as_python_formats_them() -> None:
    """Rates as graph.cytoscape.format_rate, shares as f"{share:.1f}": bytes %-formats and
    str formats are the same C formatting of the float."""
    rng = random.Random(7)
    values = [rng.uniform(0, 10 ** rng.randrange(-8, 8)) for _ in range(20_000)]
    values += [0.005, 0.0049999, 0.995, 0.99999, 0.999995, 1.0, 1.005, 2.675, 1e-5, 5e-6,
               4.9999e-6, 1e300, float("inf")]
    for value in values:
        expected = orjson.dumps(format_rate(value))
        assert rate_text(value) == expected, value
        assert b'"%.*f"' % (rate_precision(value), value) == expected, value  # templates'
        share = value / rng.uniform(1e-3, 1e4) * 100
        assert b'"%.1f"' % share == orjson.dumps(f"{share:.1f}")


def laid_out(seed: int) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    g = random_graph(seed, nodes=MIN_NODES + 20, box_by=("app",))
    payload = to_config_dicts(g)
    return g, payload


def a_tick_later(seed: int) -> nx.MultiDiGraph:
    """laid_out's mesh a tick later: half the edges' rates changed, throughputs gone, three
    nodes gone."""
    g = random_graph(seed, nodes=MIN_NODES + 20, box_by=("app",))
    rng = random.Random(seed + 1)
    for _, _, protocol, d in g.edges(keys=True, data=True):
        md = d["md"]
        if rng.random() < 0.5 and protocol in md:
            md[protocol] *= 1.5
        md.pop("throughput", None)
    g.remove_nodes_from(list(g.nodes)[:3])
    return g


def test_it_gives_the_live_path_the_same_snapshot_prints_and_delta() -> None:
    """A graph laid out, then the same mesh a tick later with new rates and three nodes gone:
    body, fingerprints, field prints, positions and the delta message are the dict path's."""
    old_g, old = laid_out(3)
    add_positions(old["elements"])
    old_written, old_positions = with_positions(write_graph(old_g))
    assert old_positions and old_positions == positions_of(old["elements"])
    old_encoded = encode_written(old_written)
    assert old_encoded.body == encode_graph(old).body == orjson.dumps(old)
    assert old_encoded.fingerprints == encode_graph(old).fingerprints
    before = patch.graph_prints(old)
    assert patch.written_prints(old_written) == before

    new_g = a_tick_later(3)
    new = to_config_dicts(new_g)
    add_positions(new["elements"], old_positions)
    new_written, new_positions = with_positions(write_graph(new_g), old_positions)
    assert new_positions == positions_of(new["elements"])
    encoded = encode_written(new_written)
    assert encoded.body == encode_graph(new).body
    delta = diff_fingerprints(old_encoded.fingerprints, new, encoded.fingerprints)
    written_delta = diff_written(old_encoded.fingerprints, new_written, encoded.fingerprints)
    assert written_delta.removed == delta.removed and delta.removed and delta.changed
    assert [e.id for _, e in written_delta.changed] == [e["data"]["id"] for e in delta.changed]
    changed = {e["data"]["id"] for e in delta.changed}
    after = patch.graph_prints(new, changed, before)
    assert patch.written_prints(new_written, changed, before) == after
    total = len(encoded.fingerprints)
    expected = publish.delta_message(delta, before, new, total, 1, 2, after)
    assert expected is not None
    assert publish.written_delta_message(written_delta, before, new_written, total, 1, 2,
                                         after) == expected
    for (group, element), old_form in zip(written_delta.changed, delta.changed, strict=True):
        assert patch.patch_text(before[element.id], group, element) == orjson.dumps(
            patch.patch(before[element.id], group, old_form))


def test_it_keeps_the_positions_of_nodes_that_stay_as_the_dict_layout_does() -> None:
    """A graph laid out, then again from its positions (every node stays), from positions
    off the grid (snapped to their cells), and from positions that lack one node (placed
    anew beside the others): the written graph's positions are add_positions's."""
    g, dicts = laid_out(5)
    add_positions(dicts["elements"])
    kept = positions_of(dicts["elements"])
    off_grid = {i: {"x": p["x"] + 30.0, "y": p["y"] - 20.0} for i, p in kept.items()}
    one_new = dict(list(kept.items())[1:])
    for previous in (kept, off_grid, one_new):
        again = to_config_dicts(g)
        add_positions(again["elements"], previous)
        written, positions = with_positions(write_graph(g), previous)
        assert positions == positions_of(again["elements"])
        assert list(positions) == list(positions_of(again["elements"]))
        assert [n.get("position") for n in written.to_dict()["elements"]["nodes"]] == \
            [n.get("position") for n in again["elements"]["nodes"]]


def test_it_joins_the_body_of_the_elements_texts() -> None:
    """Nodes with and without a position (a box has none) in every order, and none: the body
    is the elements' own texts joined."""
    def element(number: int, position: bytes | None) -> Element:
        return Element(f"n{number}", (b'"id":"n%d"' % number, b'"nodeType":"app"'),
                       ("id", "nodeType"), position)

    where = b'{"x":120.0,"y":70.0}'
    edges = [element(9, None)]
    for positions in ([], [None], [where], [where, None], [None, where], [None, None],
                      [where, where, None, where]):
        nodes = [element(n, p) for n, p in enumerate(positions)]
        written = Written({"timestamp": 1}, nodes, edges, {}, [], [])
        assert written.body() == (b'{"timestamp":1,"elements":{"nodes":['
                                  + b",".join(e.text() for e in nodes) + b'],"edges":['
                                  + b",".join(e.text() for e in edges) + b"]}}")
        assert orjson.loads(written.body())["elements"]["nodes"] == \
            [orjson.loads(e.text()) for e in nodes]
