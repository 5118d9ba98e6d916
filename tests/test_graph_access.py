"""graph/access.py: namespace patterns, and a graph as a limited user sees it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from graph.access import (
    check,
    check_query,
    narrowed,
    parse_patterns,
    redact,
    redact_written,
    visible,
)
from graph.cytoscape_json import write_graph
from graph.kiali_params import ForbiddenNamespace
from tests.test_cytoscape_json import VARIANTS, random_graph


def node(node_id: str, namespace: str, **data: Any) -> dict[str, Any]:
    return {"data": {"id": node_id, "nodeType": "workload", "cluster": "east",
                     "namespace": namespace, "workload": node_id, "label": node_id,
                     "healthData": {"requests": {"inbound": 3}}, "healthStatus": "Failure",
                     "traffic": [{"protocol": "http", "rates": {"httpIn": "3.00"}}],
                     "destServices": [{"name": node_id}], "isRoot": True, **data}}


def link(source: str, target: str) -> dict[str, Any]:
    return {"data": {"id": f"{source}>{target}", "source": source, "target": target,
                     "traffic": {"protocol": "http", "rates": {"http": "3.00"}}}}


def graph() -> dict[str, Any]:
    """
        front (shop) -> page (bookinfo) -> pay (billing) -> bank (billing)
        lone (billing)                      box-billing around pay, bank, lone
    """
    return {"timestamp": 1, "elements": {
        "nodes": [node("front", "shop"), node("page", "bookinfo"),
                  node("pay", "billing", parent="box-billing"),
                  node("bank", "billing", parent="box-billing"),
                  node("lone", "billing", parent="box-billing"),
                  {"data": {"id": "box-billing", "nodeType": "box", "isBox": "namespace",
                            "cluster": "east", "namespace": "billing", "healthData": None}}],
        "edges": [link("front", "page"), link("page", "pay"), link("pay", "bank")]}}


def test_it_reads_patterns_and_names_a_bad_one() -> None:
    assert parse_patterns("bookinfo, team-*\nshop-[ab]  bookinfo") == (
        "bookinfo", "team-*", "shop-[ab]")
    with pytest.raises(ValueError, match="'Shop/x' is not a namespace pattern"):
        parse_patterns("bookinfo,Shop/x")


def test_it_matches_namespaces_by_pattern() -> None:
    assert visible(["bookinfo", "team-a", "team-b", "shop-c", "shop-a"],
                   ("team-*", "shop-[ab]")) == ["team-a", "team-b", "shop-a"]
    assert visible(["x"], None) == ["x"]
    with pytest.raises(ForbiddenNamespace, match="namespace 'shop' is not accessible"):
        check(["bookinfo", "shop"], ("bookinfo",))


def test_it_keeps_a_tokens_patterns_within_its_users() -> None:
    assert narrowed(("team-a", "team-*", "shop"), ("team-*",)) == ("team-a", "team-*")
    assert narrowed(None, ("team-*",)) == ("team-*",)
    assert narrowed(("shop",), None) == ("shop",)


def test_it_finds_a_forbidden_namespace_in_any_parameter() -> None:
    allowed = ("bookinfo",)
    check_query({"namespaces": "bookinfo", "node": "workload:bookinfo/page",
                 "edge": "workload:shop/front,workload:bookinfo/page"}, {}, allowed)
    for query, path in (({"namespaces": "bookinfo,shop"}, {}), ({"namespace": "shop"}, {}),
                        ({}, {"namespace": "shop"}), ({"node": "service:shop/front"}, {}),
                        ({"edge": "workload:shop/a,workload:billing/b"}, {})):
        with pytest.raises(ForbiddenNamespace):
            check_query(query, path, allowed)


def test_it_draws_other_namespaces_as_inaccessible_boxes() -> None:
    """
        front (shop) -> page (bookinfo) -> pay (billing) -> bank (billing)

    seen from bookinfo: front and pay keep their names only; pay -> bank and bank, lone
    (no edge to bookinfo) go; the billing box stays around pay.
    """
    body = redact(graph(), ("bookinfo",))
    nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
    assert set(nodes) == {"front", "page", "pay", "box-billing"}
    assert nodes["page"] == node("page", "bookinfo")["data"]
    assert nodes["pay"] == {"id": "pay", "nodeType": "workload", "cluster": "east",
                            "namespace": "billing", "workload": "pay", "label": "pay",
                            "parent": "box-billing", "healthData": None, "healthStatus": "NA",
                            "isInaccessible": True}
    assert nodes["box-billing"]["isInaccessible"] is True
    assert [e["data"]["id"] for e in body["elements"]["edges"]] == ["front>page", "page>pay"]


def test_it_leaves_a_graph_of_visible_namespaces_as_it_is() -> None:
    assert redact(graph(), ("*",)) == graph()


@pytest.mark.parametrize(("graph_type", "box_by"), VARIANTS)
@pytest.mark.parametrize("patterns", [("ns0",), ("ns*",), ("n?s", "unknown"), ("!",)])
def test_it_redacts_the_written_graph_to_the_bytes_of_the_redacted_dicts(
        graph_type: str, box_by: tuple[str, ...], patterns: tuple[str, ...]) -> None:
    """random graphs over ns0, ns1, n"s and unknown (tests/test_cytoscape_json.py), seen
    by users limited to some of them: the API and the live path redact the written pieces"""
    for seed in range(3):
        g = random_graph(seed, graph_type=graph_type, box_by=box_by)
        for extras, edge_health in ((True, False), (False, True)):
            written = write_graph(g, extras=extras, edge_health=edge_health)
            expected = orjson.dumps(redact(written.to_dict(), patterns))
            limited = redact_written(written, patterns)
            assert limited.body() == expected
            assert [d.id for d in limited.drawn] == [e.id for e in limited.nodes]
            kept = {e.id for e in limited.nodes}
            assert all(s in kept and t in kept for s, t in limited.ends)


def test_it_leaves_a_written_graph_of_visible_namespaces_as_it_is() -> None:
    written = write_graph(random_graph(1, box_by=("namespace",)))
    assert redact_written(written, ("*",)) is written
