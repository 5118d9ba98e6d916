"""graph/export*.py on bodies made here: shapes the Bookinfo-sized mesh of test_api_export.py
does not reach (boxes crossed by many edges, characters Prometheus would not store)."""

from __future__ import annotations

import io
import json
import random
import xml.etree.ElementTree as ET
from typing import Any

import networkx as nx
import pytest

from graph.export import export, printable
from graph.export_text import dot_string, mermaid_text


def node(node_id: str, label: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    data = {"id": node_id, "nodeType": "workload", "namespace": "ns", "workload": label,
            "label": label, "healthStatus": "Healthy"} | extra
    if parent:
        data["parent"] = parent
    return {"data": data}


def edge(edge_id: str, source: str, target: str) -> dict[str, Any]:
    return {"data": {"id": edge_id, "source": source, "target": target, "healthStatus": "Healthy",
                     "traffic": {"protocol": "http", "rates": {"http": "1.00"}}}}


def body(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"timestamp": 1, "duration": 60, "graphType": "workload",
            "elements": {"nodes": nodes, "edges": edges}}


def crossed_boxes(boxes: int, per_box: int) -> dict[str, Any]:
    """`boxes` namespace boxes of `per_box` workloads, each calling two random others."""
    rng = random.Random(1)
    nodes, edges = [], []
    for b in range(boxes):
        nodes.append({"data": {"id": f"box{b}", "nodeType": "box", "namespace": f"ns{b}",
                               "isBox": "namespace", "label": f"ns{b}"}})
        nodes += [node(f"n{b}-{w}", f"w{w}", f"box{b}") for w in range(per_box)]
    for source in [n["data"]["id"] for n in nodes if "isBox" not in n["data"]]:
        for _ in range(2):
            target = f"n{rng.randrange(boxes)}-{rng.randrange(per_box)}"
            edges.append(edge(f"e{len(edges)}", source, target))
    return body(nodes, edges)


def test_it_draws_boxes_crossed_by_labelled_edges() -> None:
    """4 boxes x 40 workloads, 320 edges between them: with edge texts as labels, dot 2.42
    fails on this ("lost edge"); as xlabels it draws every edge."""
    b = crossed_boxes(4, 40)
    root = ET.fromstring(export(b, "svg").content)
    drawn = {g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("class") == "edge"}
    assert drawn == {e["data"]["id"] for e in b["elements"]["edges"]}


UNPRINTABLE_NAME = "nul\x00 esc\x1b del\x7f bom\ufeff crlf\r\n end"


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "svg"])
def test_it_writes_xml_for_names_xml_cannot_hold(fmt: str) -> None:
    """a (named with NUL, ESC, DEL) -> b"""
    b = body([node("a", UNPRINTABLE_NAME), node("b", "b")], [edge("e", "a", "b")])
    root = ET.fromstring(export(b, fmt).content)  # well-formed
    values = [e.text or "" for e in root.iter()] + [v for e in root.iter()
                                                    for v in e.attrib.values()]
    assert any("nul\ufffd esc\ufffd del\ufffd bom\ufeff crlf" in v for v in values)


def test_it_keeps_tabs_newlines_and_unicode_and_replaces_controls() -> None:
    assert printable("a\tb\r\nc\x00d\ud800é") == "a\tb\nc\ufffdd\ufffdé"


def test_graphml_reads_back_the_printable_name() -> None:
    """a (named with NUL) -> b"""
    b = body([node("a", UNPRINTABLE_NAME), node("b", "b")], [edge("e", "a", "b")])
    g = nx.read_graphml(io.BytesIO(export(b, "graphml").content))
    assert g.nodes["a"]["label"] == printable(UNPRINTABLE_NAME)


@pytest.mark.parametrize(("text", "written"), [
    ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("end\\", '"end\\\\"'), ("a\nb", '"a\\nb"'),
    ("a&amp;", '"a&amp;amp;"'), ("<b>", '"<b>"'), ("日本", '"日本"'),
])
def test_dot_strings_escape_quotes_backslashes_newlines_and_entities(text: str,
                                                                     written: str) -> None:
    assert dot_string(text) == written


@pytest.mark.parametrize(("text", "written"), [
    ('a"b', "a#34;b"), ("x]-->y", "x#93;--#62;y"), ("a\nb", "a<br>b"), ("#10;", "#35;10#59;"),
    ("%% c", "#37;#37; c"), ("café", "café"), ("☃", "#9731;"), ("`*`", "#96;#42;#96;"),
])
def test_mermaid_labels_use_entity_codes(text: str, written: str) -> None:
    assert mermaid_text(text) == written


def test_an_empty_graph_exports_in_every_format() -> None:
    empty = body([], [])
    assert json.loads(export(empty, "grafana").content)["frames"][0]["data"]["values"] == [
        [] for _ in range(8)]
    assert export(empty, "mermaid").content == b"flowchart LR\n"
    assert nx.read_graphml(io.BytesIO(export(empty, "graphml").content)).number_of_nodes() == 0
    ET.fromstring(export(empty, "svg").content)
