"""GET /api/v1/graph?format=... and `manage.py graph --format`, against a real Prometheus:
each format read back by a real parser, with exactly the nodes and edges of the JSON body
and every hostile name intact (tests/export_mesh.py draws the mesh).

    ingress -> productpage -> reviews-v2 -> ratings (50 % 503)
    productpage -> [QUOTES] -> QUOTES-v1 -> [MERMAID] -> MERMAID-v1 (gRPC)
    BACKSLASH -> [UNICODE] -> UNICODE-v1 (TCP); boxed by namespace and app
"""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from django.core.management import call_command
from django.test import Client

from graph import export_svg
from graph.export import FORMAT_NAMES
from tests import export_mesh
from tests.live_env import QUERY_TIME

pytestmark = pytest.mark.django_db

GRAPH = (f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"
         "&box_by=namespace,app")


@pytest.fixture
def hostile_prometheus(prometheus_with: Any, settings: Any) -> Any:
    server = prometheus_with(export_mesh.series(), QUERY_TIME)
    settings.PROMETHEUS_URL = server.url
    return server


def get(fmt: str) -> bytes:
    response = Client().get(f"{GRAPH}&format={fmt}")
    assert response.status_code == 200, response.content[:300]
    return response.content


def body() -> dict[str, Any]:
    return Client().get(GRAPH).json()


def nodes_of(b: dict[str, Any]) -> list[dict[str, Any]]:
    return [n["data"] for n in b["elements"]["nodes"]]


def edges_of(b: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["data"] for e in b["elements"]["edges"]]


def drawn_label(node: dict[str, Any]) -> str:
    """A node's text on a drawing (dot, svg, mermaid): name, then namespace."""
    if "isBox" in node or node["namespace"] in ("", node["label"]):
        return node["label"]
    return f"{node['label']}\n{node['namespace']}"


def edge_set(b: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["id"]) for e in edges_of(b)}


def test_the_mesh_has_its_hostile_names(hostile_prometheus: Any) -> None:
    labels = {n["label"] for n in nodes_of(body())}
    assert {export_mesh.QUOTES, export_mesh.UNICODE, export_mesh.MERMAID,
            export_mesh.BACKSLASH_V1.workload} <= labels


def assert_networkx_graph(g: nx.MultiDiGraph, b: dict[str, Any]) -> None:
    assert {n["id"]: n["label"] for n in nodes_of(b)} == dict(g.nodes(data="label"))
    assert {(u, v, k) for u, v, k in g.edges(keys=True)} == edge_set(b)
    parents = {n["id"]: n["parent"] for n in nodes_of(b) if "parent" in n}
    assert {n: p for n, p in g.nodes(data="parent") if p} == parents


def test_it_writes_node_link_json_that_networkx_reads_back(hostile_prometheus: Any) -> None:
    b = body()
    g = nx.node_link_graph(json.loads(get("node-link")), edges="edges")
    assert isinstance(g, nx.MultiDiGraph)
    assert_networkx_graph(g, b)
    assert g.graph == {"timestamp": QUERY_TIME, "duration": 60, "graphType": "workload"}
    ratings = next(n["id"] for n in nodes_of(b) if n["label"] == "ratings" and "isBox" not in n)
    reviews_v2 = next(n["id"] for n in nodes_of(b) if n["label"] == "reviews-v2")
    failing = next(iter(g[reviews_v2][ratings].values()))
    assert failing | {"label": None} == {
        "label": None, "protocol": "http", "rate": 3.0, "errorPercent": 50.0,
        "healthStatus": "Failure", "color": "#c9190b"}
    assert failing["label"] == "http 3.00 req/s, 50.0 % err"


def test_it_writes_graphml_that_networkx_reads_back(hostile_prometheus: Any) -> None:
    b = body()
    g = nx.read_graphml(io.BytesIO(get("graphml")), force_multigraph=True)
    assert_networkx_graph(g, b)
    quotes = next(n["id"] for n in nodes_of(b) if n["label"] == export_mesh.QUOTES)
    assert g.nodes[quotes] | {"parent": None} == {
        "label": export_mesh.QUOTES, "namespace": "bookinfo", "nodeType": "service",
        "service": export_mesh.QUOTES, "healthStatus": "Failure", "rateIn": 5.0,
        "errorFraction": 0.2, "color": "#c9190b", "parent": None}
    timed = [d for _, _, d in g.edges(data=True) if "responseTime" in d]
    assert [(d["responseTime"], d["label"]) for d in timed] == [
        (20.0, "http 5.00 req/s, 20.0 % err, 20 ms")]


def test_it_writes_gexf_that_networkx_reads_back(hostile_prometheus: Any) -> None:
    b = body()
    g = nx.read_gexf(io.BytesIO(get("gexf")))
    assert {n["id"]: n["label"] for n in nodes_of(b)} == dict(g.nodes(data="label"))
    assert {(e["source"], e["target"]) for e in edges_of(b)} == set(g.edges())
    parents = {n["id"]: n["parent"] for n in nodes_of(b) if "parent" in n}
    assert {n: d["pid"] for n, d in g.nodes(data=True) if "pid" in d} == parents
    assert {n: d["parent"] for n, d in g.nodes(data=True) if "parent" in d} == parents
    failing = [n["id"] for n in nodes_of(b) if n.get("healthStatus") == "Failure"]
    assert {n: g.nodes[n]["viz"]["color"] for n in failing} == {
        n: {"r": 0xc9, "g": 0x19, "b": 0x0b, "a": 1.0} for n in failing}


def unescape_dot(text: str) -> str:
    """The text Graphviz draws for a label as `dot -Tjson` shows it (escString, entities)."""
    text = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)
    return text.replace("&amp;", "&")


def test_it_writes_dot_that_graphviz_reads_with_the_same_graph(hostile_prometheus: Any) -> None:
    b = body()
    drawn = subprocess.run(["dot", "-Tjson"], input=get("dot"), capture_output=True,
                           check=True, timeout=60)
    layout = json.loads(drawn.stdout)
    objects = layout["objects"]
    clusters = {o["name"]: o for o in objects if o["name"].startswith("cluster_")}
    nodes = {o["name"]: o for o in objects if not o["name"].startswith("cluster_")}
    boxes = {n["id"]: n for n in nodes_of(b) if "isBox" in n}
    assert {name.removeprefix("cluster_") for name in clusters} == set(boxes)
    assert {n["id"]: drawn_label(n) for n in nodes_of(b) if "isBox" not in n} == {
        name: unescape_dot(o["label"]) for name, o in nodes.items()}
    assert {box_id: boxes[box_id]["label"] for box_id in boxes} == {
        name.removeprefix("cluster_"): unescape_dot(o["label"]) for name, o in clusters.items()}
    # Each cluster holds exactly the nodes whose box (or a box inside it) it is.
    gvid = {o["_gvid"]: o["name"] for o in objects}
    for name, cluster in clusters.items():
        inside = {gvid[i] for i in cluster.get("nodes", [])}
        members = {n["id"] for n in nodes_of(b) if "isBox" not in n
                   and within(n, name.removeprefix("cluster_"), nodes_of(b))}
        assert inside == members
    assert {(gvid[e["tail"]], gvid[e["head"]], e["id"]) for e in layout["edges"]} == edge_set(b)


def within(node: dict[str, Any], box: str, nodes: list[dict[str, Any]]) -> bool:
    by_id = {n["id"]: n for n in nodes}
    parent = node.get("parent")
    while parent is not None:
        if parent == box:
            return True
        parent = by_id[parent].get("parent")
    return False


SVG = "{http://www.w3.org/2000/svg}"


def test_it_draws_svg_with_graphviz_naming_every_node(hostile_prometheus: Any) -> None:
    b = body()
    root = ET.fromstring(get("svg"))
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}
    for node in nodes_of(b):
        group = groups[node["id"]]
        assert group.get("class") == ("cluster" if "isBox" in node else "node")
        lines = [t.text or "" for t in group.iter(f"{SVG}text")]
        assert "\n".join(lines) == drawn_label(node)
    drawn_edges = {g.get("id") for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}
    assert drawn_edges == {e["id"] for e in edges_of(b)}


MERMAID_NODE = re.compile(r'^( *)(n\d+)\["(.*)"\]$')
MERMAID_BOX = re.compile(r'^( *)subgraph (b\d+)\["(.*)"\]$')
MERMAID_EDGE = re.compile(r'^  ([nb]\d+) -->\|"(.*)"\| ([nb]\d+)$')


def unescape_mermaid(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), text.replace("<br>", "\n"))


def test_it_writes_a_mermaid_flowchart_line_by_line(hostile_prometheus: Any) -> None:
    b = body()
    lines = get("mermaid").decode().splitlines()
    assert lines[0] == "flowchart LR"
    names = {f"{'b' if 'isBox' in n else 'n'}{i}": n for i, n in enumerate(nodes_of(b))}
    seen: dict[str, tuple[str, str | None]] = {}  # Mermaid id -> (text, box it sits in)
    stack: list[str] = []
    edges, index = [], 1
    while index < len(lines):
        line = lines[index]
        for pattern in (MERMAID_BOX, MERMAID_NODE):
            match = pattern.match(line)
            if match:
                assert len(match[1]) == 2 * (len(stack) + 1)  # indented by its depth
                seen[match[2]] = (unescape_mermaid(match[3]), stack[-1] if stack else None)
                # Nothing but entity codes, letters and plain marks inside the quotes.
                assert re.fullmatch(r"(?:#\d+;|<br>|[\w .,:/+-])*", match[3])
                if pattern is MERMAID_BOX:
                    stack.append(match[2])
                break
        else:
            if line.strip() == "end":
                stack.pop()
            elif MERMAID_EDGE.match(line):
                edges.append(MERMAID_EDGE.match(line).groups())  # type: ignore[union-attr]
            else:
                break
        index += 1
    assert stack == []
    ids = {n["id"]: name for name, n in names.items()}
    assert seen == {name: (drawn_label(n), ids.get(n.get("parent", ""))) for name, n in
                    names.items()}
    assert [(names[s]["id"], names[t]["id"]) for s, _, t in edges] == [
        (e["source"], e["target"]) for e in edges_of(b)]
    assert unescape_mermaid(edges[-1][1]).startswith("http ")
    rest = lines[index:]
    assert all(re.fullmatch(r"  (classDef \w+ stroke:#[0-9a-f]{6},fill:#[0-9a-f]{6}|"
                            r"class [nb\d,]+ \w+|linkStyle [\d,]+ stroke:#[0-9a-f]{6})", line)
               for line in rest), rest
    failing = {f"n{i}" for i, n in enumerate(nodes_of(b)) if n.get("healthStatus") == "Failure"}
    assert f"  class {','.join(sorted(failing, key=lambda s: int(s[1:])))} Failure" in rest


NODE_FIELDS = ["id", "title", "subtitle", "mainstat", "secondarystat", "arc__success",
               "arc__failed", "color"]
EDGE_FIELDS = ["id", "source", "target", "mainstat", "secondarystat"]


def columns(frame: dict[str, Any]) -> dict[str, list[Any]]:
    names = [f["name"] for f in frame["schema"]["fields"]]
    return dict(zip(names, frame["data"]["values"], strict=True))


def test_it_writes_grafana_node_graph_frames(hostile_prometheus: Any) -> None:
    b = body()
    nodes_frame, edges_frame = json.loads(get("grafana"))["frames"]
    assert nodes_frame["schema"]["name"] == "nodes" and edges_frame["schema"]["name"] == "edges"
    assert nodes_frame["schema"]["meta"] == {"preferredVisualisationType": "nodeGraph"}
    assert [f["name"] for f in nodes_frame["schema"]["fields"]] == NODE_FIELDS
    assert [f["name"] for f in edges_frame["schema"]["fields"]] == EDGE_FIELDS
    nodes, edges = columns(nodes_frame), columns(edges_frame)
    plain = [n for n in nodes_of(b) if "isBox" not in n]
    assert nodes["id"] == [n["id"] for n in plain]
    assert nodes["title"] == [n["label"] for n in plain]
    assert nodes["subtitle"] == [n["namespace"] for n in plain]
    for success, failed in zip(nodes["arc__success"], nodes["arc__failed"], strict=True):
        assert success + failed == pytest.approx(1.0) and 0 <= failed <= 1
    row = nodes["id"].index(next(n["id"] for n in plain if n["label"] == export_mesh.QUOTES))
    assert [nodes[f][row] for f in NODE_FIELDS[1:]] == [
        export_mesh.QUOTES, "bookinfo", 5.0, 20.0, 0.8, 0.2, "#c9190b"]
    assert set(nodes["color"]) == {"#3e8635", "#c9190b", "#e07000"}
    assert list(zip(edges["id"], edges["source"], edges["target"], strict=True)) == [
        (e["id"], e["source"], e["target"]) for e in edges_of(b)]
    assert ("tcp" not in edges["mainstat"][1]
            and edges["mainstat"][1] == "50.00 B/s" and edges["secondarystat"][1] == "")


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("node-link", "application/json"), ("graphml", "application/graphml+xml; charset=utf-8"),
    ("gexf", "application/gexf+xml; charset=utf-8"), ("dot", "text/vnd.graphviz; charset=utf-8"),
    ("svg", "image/svg+xml"), ("mermaid", "text/plain; charset=utf-8"),
    ("grafana", "application/json"),
])
def test_it_answers_each_format_with_its_content_type_and_gzip(
        bookinfo_prometheus: Any, fmt: str, content_type: str) -> None:
    url = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&format={fmt}"
    plain = Client().get(url)
    zipped = Client().get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert (plain["Content-Type"], zipped["Content-Type"]) == (content_type, content_type)
    assert "Content-Encoding" not in plain and zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content


def test_format_cytoscape_is_the_body_unchanged(bookinfo_prometheus: Any) -> None:
    url = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}"
    assert Client().get(url + "&format=cytoscape").content == Client().get(url).content


@pytest.mark.parametrize("value", ["json", "SVG", "png", 'dot"', "x" * 10_000, "dot\n"])
def test_it_rejects_an_unknown_format_naming_the_formats(value: str) -> None:
    response = Client().get("/api/v1/graph", {"namespaces": "bookinfo", "format": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("format: ") and ", ".join(FORMAT_NAMES) in error
    assert len(error) < 400


def test_it_answers_503_when_graphviz_is_not_installed(
        bookinfo_prometheus: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    response = Client().get(f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}"
                            "&format=svg")
    assert response.status_code == 503
    assert "graphviz" in response.json()["error"]


def test_it_answers_503_when_graphviz_takes_too_long(
        bookinfo_prometheus: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A `dot` that never finishes (the fault), stopped at the time limit."""
    slow = tmp_path / "dot"
    slow.write_text("#!/bin/sh\nexec sleep 600\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(export_svg, "GRAPHVIZ_TIMEOUT_S", 0.5)
    response = Client().get(f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}"
                            "&format=svg")
    assert response.status_code == 503
    assert "did not draw the graph within 0.5 s" in response.json()["error"]


@pytest.mark.parametrize("fmt", ["node-link", "graphml", "gexf", "dot", "mermaid", "grafana"])
def test_the_command_prints_the_same_formats(
        hostile_prometheus: Any, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    call_command("graph", "--namespaces", "bookinfo", "--query-time", str(QUERY_TIME),
                 "--duration", "60s", "--box-by", "namespace,app", "--format", fmt)
    assert capsys.readouterr().out.encode() == get(fmt)
