"""find= and hide= on GET /api/v1/graph, against a real Prometheus (tests/mesh.py Bookinfo):

    istio-ingressgateway -> productpage -> productpage-v1 -> details -> details-v1
    unknown --------------/                               -> reviews -> reviews-v1..v3
    reviews-v2 -> ratings (50 % 503) -> ratings-v1 (25 % 503); reviews-v3 -> ratings
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from tests.live_env import QUERY_TIME

GRAPH = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"

pytestmark = pytest.mark.django_db


def get(query: str) -> dict[str, Any]:
    response = Client().get(f"{GRAPH}&{query}")
    assert response.status_code == 200, response.content
    return response.json()


def named(body: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """The nodes by label and the edges as (source label, target label)."""
    label = {n["data"]["id"]: n["data"]["label"] for n in body["elements"]["nodes"]}
    edges = {(label[e["data"]["source"]], label[e["data"]["target"]])
             for e in body["elements"]["edges"]}
    return set(label.values()), edges


def found(body: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    label = {n["data"]["id"]: n["data"]["label"] for n in body["elements"]["nodes"]}
    nodes = {n["data"]["label"] for n in body["elements"]["nodes"] if n["data"].get("isFind")}
    edges = {(label[e["data"]["source"]], label[e["data"]["target"]])
             for e in body["elements"]["edges"] if e["data"].get("isFind")}
    return nodes, edges


def test_it_marks_what_find_matches(bookinfo_prometheus: Any) -> None:
    body = get("find=" + quote("%httperr > 5 or ! healthy"))
    assert found(body) == ({"ratings", "ratings-v1", "reviews-v2"},
                           {("reviews-v2", "ratings"), ("ratings", "ratings-v1")})
    whole = Client().get(GRAPH).json()
    assert named(body) == named(whole)
    assert found(whole) == (set(), set())


def test_it_takes_out_what_hide_matches_and_what_is_left_hanging(
        bookinfo_prometheus: Any) -> None:
    """Hiding the failing edges hides ratings-v1 (its only edge went); ratings keeps
    reviews-v3's healthy edge"""
    whole_nodes, whole_edges = named(Client().get(GRAPH).json())
    nodes, edges = named(get("hide=" + quote("%httperr > 5")))
    assert whole_nodes - nodes == {"ratings-v1"}
    assert whole_edges - edges == {("reviews-v2", "ratings"), ("ratings", "ratings-v1")}


def test_it_hides_the_edges_of_a_hidden_node(bookinfo_prometheus: Any) -> None:
    whole_nodes, whole_edges = named(Client().get(GRAPH).json())
    nodes, edges = named(get("hide=" + quote("name = unknown")))
    assert whole_nodes - nodes == {"unknown"}
    assert whole_edges - edges == {("unknown", "productpage")}


def test_it_finds_among_what_is_not_hidden(bookinfo_prometheus: Any) -> None:
    body = get("find=" + quote("app startswith rev") + "&hide=" + quote("version = v1"))
    assert found(body) == ({"reviews-v2", "reviews-v3"}, set())
    assert "reviews-v1" not in named(body)[0]


def test_it_takes_out_a_box_left_empty(bookinfo_prometheus: Any) -> None:
    """box_by=namespace,app: [bookinfo [reviews: reviews-v1 reviews-v2 reviews-v3] ...]"""
    def boxes(body: dict[str, Any]) -> set[str]:
        return {n["data"]["label"] for n in body["elements"]["nodes"] if n["data"].get("isBox")}

    assert boxes(get("box_by=namespace,app")) == {"bookinfo", "reviews"}
    body = get("box_by=namespace,app&hide=" + quote("app = reviews"))
    assert boxes(body) == {"bookinfo"}
    assert {"reviews-v1", "reviews-v2", "reviews-v3"} & named(body)[0] == set()
    body = get("box_by=namespace,app&hide=" + quote("ns = bookinfo"))
    assert named(body) == ({"istio-ingressgateway", "unknown"}, set())


@pytest.mark.parametrize(("query", "error"), [
    ("find=foo", "find: unknown operand 'foo' at 1"),
    ("hide=" + quote("rt > fast"), "hide: expected a number, found 'fast' (use '.' for "
                                   "decimals, NaN for no activity) at 6"),
    ("find=" + quote("app = x and http > 1"), "find: can not AND node and edge criteria "
                                              "(use OR) at 13"),
])
def test_it_answers_400_naming_the_parameter(query: str, error: str) -> None:
    response = Client().get(f"{GRAPH}&{query}")
    assert response.status_code == 400
    assert response.json() == {"error": error}
