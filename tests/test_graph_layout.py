"""graph/layout.py: the server's layered layout of big graphs, pure Python."""

from __future__ import annotations

import random
from typing import Any

from graph import layout


def node(node_id: str, namespace: str = "ns", **extra: Any) -> dict[str, Any]:
    return {"data": {"id": node_id, "namespace": namespace, "cluster": "K", "label": node_id}
            | extra}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"data": {"id": f"{source}>{target}", "source": source, "target": target}}


def graph(nodes: list[dict[str, Any]], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"nodes": nodes, "edges": [edge(s, t) for s, t in pairs]}


def chain(*names: str) -> list[tuple[str, str]]:
    return list(zip(names, names[1:], strict=False))


def test_it_puts_callees_right_of_their_callers() -> None:
    """
    ingress -> frontend -> cart -> redis
                        -> catalog
    """
    pairs = [*chain("ingress", "frontend", "cart", "redis"), ("frontend", "catalog")]
    pos = layout.positions(graph([node(n) for n in
                                  ("ingress", "frontend", "cart", "redis", "catalog")], pairs))
    for s, t in pairs:
        assert pos[s]["x"] < pos[t]["x"], (s, t)
    assert pos["cart"]["x"] == pos["catalog"]["x"], "same depth, same column"


def test_it_lays_out_cycles() -> None:
    """
    a -> b -> c -> a ;  c -> d     (a cycle, entered nowhere, and a way out)
    """
    pairs = [*chain("a", "b", "c", "a"), ("c", "d")]
    pos = layout.positions(graph([node(n) for n in "abcd"], pairs))
    assert len({(p["x"], p["y"]) for p in pos.values()}) == 4
    assert pos["a"]["x"] < pos["b"]["x"] < pos["c"]["x"] < pos["d"]["x"]


def test_it_keeps_namespaces_in_bands_of_their_own() -> None:
    """
    shop: web -> api -> db ;  pay: gw -> card ;  api -> gw
    """
    nodes = [node(n, "shop") for n in ("web", "api", "db")]
    nodes += [node(n, "pay") for n in ("gw", "card")]
    pos = layout.positions(graph(nodes, [*chain("web", "api", "db"), *chain("api", "gw", "card")]))
    shop = {pos[n]["y"] for n in ("web", "api", "db")}
    pay = {pos[n]["y"] for n in ("gw", "card")}
    assert max(pay) < min(shop) or max(shop) < min(pay)


def test_it_keeps_app_boxes_together() -> None:
    """
    web -> [reviews: v1, v2, v3] -> ratings      (v3 also calls ratings, v1 does not)
    """
    box = {"data": {"id": "box", "isBox": "app", "namespace": "ns", "label": "reviews"}}
    versions = [node(f"v{i}", parent="box") for i in (1, 2, 3)]
    elements = graph([node("web"), node("ratings"), box, *versions],
                     [("web", "v1"), ("web", "v2"), ("web", "v3"), ("v2", "ratings"),
                      ("v3", "ratings")])
    pos = layout.positions(elements)
    assert "box" not in pos, "Cytoscape places boxes around their members"
    assert {pos[f"v{i}"]["x"] for i in (1, 2, 3)} == {pos["v1"]["x"]}
    rows = sorted(pos[f"v{i}"]["y"] for i in (1, 2, 3))
    assert rows[1] - rows[0] == rows[2] - rows[1] == layout.CELL_Y


def test_it_gives_the_same_layout_for_the_same_graph() -> None:
    """A random mesh of 400 nodes in 4 namespaces, in two arrival orders."""
    rng = random.Random(3)
    nodes = [node(f"n{i}", f"ns{i % 4}") for i in range(400)]
    pairs = list({(f"n{rng.randrange(400)}", f"n{rng.randrange(400)}") for _ in range(1200)})
    pairs = [(s, t) for s, t in pairs if s != t]
    first = layout.positions(graph(nodes, pairs))
    second = layout.positions(graph(nodes[::-1], pairs[::-1]))
    assert first == second
    assert len({(p["x"], p["y"]) for p in first.values()}) == 400, "no two nodes on one spot"


def test_it_keeps_every_node_where_it_was_when_one_is_added() -> None:
    """
    a -> b -> c   then   a -> b -> c, b -> new, new -> c
    """
    before = layout.positions(graph([node(n) for n in "abc"], chain("a", "b", "c")))
    after = layout.positions(graph([node(n) for n in ("a", "b", "c", "new")],
                                   [*chain("a", "b", "c"), ("b", "new"), ("new", "c")]), before)
    assert {k: after[k] for k in before} == before
    assert after["new"] not in before.values()
    assert abs(after["new"]["x"] - before["c"]["x"]) <= 2 * layout.CELL_X, "near its neighbours"


def test_it_places_a_new_node_in_its_namespace_band() -> None:
    """
    shop: web -> api ;  pay: gw      then pay: gw -> card (new), card called by api too
    """
    nodes = [node("web", "shop"), node("api", "shop"), node("gw", "pay")]
    before = layout.positions(graph(nodes, [("web", "api"), ("api", "gw")]))
    after = layout.positions(graph([*nodes, node("card", "pay")],
                                   [("web", "api"), ("api", "gw"), ("gw", "card"),
                                    ("api", "card")]), before)
    assert {k: after[k] for k in before} == before
    assert after["card"]["y"] == before["gw"]["y"], "pay's band is one row here"


def test_it_lays_out_only_big_graphs() -> None:
    """Below MIN_NODES, elements keep Kiali's shape: no `position` member."""
    small = graph([node(f"n{i}") for i in range(layout.MIN_NODES - 1)], [])
    layout.add_positions(small)
    assert not any("position" in n for n in small["nodes"])
    big = graph([node(f"n{i}") for i in range(layout.MIN_NODES)], chain("n0", "n1"))
    layout.add_positions(big)
    assert all(set(n["position"]) == {"x", "y"} for n in big["nodes"])
    again = graph([node(f"n{i}") for i in range(layout.MIN_NODES + 1)], chain("n0", "n1"))
    layout.add_positions(again, layout.positions_of(big))
    assert [n["position"] for n in again["nodes"][:-1]] == [n["position"] for n in big["nodes"]]


def test_it_sends_the_position_of_an_added_node_in_a_delta() -> None:
    """A live page gets new nodes of a big graph by delta: their position comes along."""
    from graph.delta import diff_elements

    old = graph([node(f"n{i}") for i in range(layout.MIN_NODES)], chain("n0", "n1"))
    layout.add_positions(old)
    new = graph([node(f"n{i}") for i in range(layout.MIN_NODES)] + [node("fresh")],
                [*chain("n0", "n1"), ("n1", "fresh")])
    layout.add_positions(new, layout.positions_of(old))
    delta = diff_elements(old, new)
    added = {e["data"]["id"]: e for e in delta.added}
    assert added["fresh"]["position"] == new["nodes"][-1]["position"]
    assert delta.changed == [], "no node moved"


def test_it_reuses_a_fresh_layout_of_the_same_graph_and_only_of_it(
        monkeypatch: Any) -> None:
    """a -> b -> c laid out twice: the second time from LAYOUTS; a -> b -> c -> d is laid
    out afresh."""
    monkeypatch.setattr(layout, "LAYOUTS", type(layout.LAYOUTS)())
    calls = []
    fresh = layout.fresh_layout
    monkeypatch.setattr(layout, "fresh_layout", lambda model: calls.append(1) or fresh(model))
    abc = graph([node("a"), node("b"), node("c")], chain("a", "b", "c"))
    first = layout.positions(abc)
    assert layout.positions(abc) == first and len(calls) == 1
    abcd = graph([node("a"), node("b"), node("c"), node("d")], chain("a", "b", "c", "d"))
    assert layout.positions(abcd)["d"] == {"x": 720.0, "y": 0.0} and len(calls) == 2
    assert layout.positions(abc) == first and len(calls) == 2
