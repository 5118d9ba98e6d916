"""GET /api/v1/impact against a real Prometheus: the blast radius of Bookinfo's failure."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.live_env import QUERY_TIME

SCOPE = f"namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"

pytestmark = pytest.mark.django_db


def ids_by_label(body: dict[str, Any]) -> dict[str, str]:
    return {n["data"]["label"]: n["data"]["id"] for n in body["elements"]["nodes"]}


def edge_id(body: dict[str, Any], source: str, target: str) -> str:
    nodes = ids_by_label(body)
    for e in body["elements"]["edges"]:
        if (e["data"]["source"], e["data"]["target"]) == (nodes[source], nodes[target]):
            return str(e["data"]["id"])
    raise AssertionError(f"no edge {source} -> {target}")


def labelled(body: dict[str, Any], graph: dict[str, Any]) -> dict[str, Any]:
    """The impact body's shares by label: nodes, edges ("a -> b"), entry points."""
    labels = {n["data"]["id"]: n["data"]["label"] for n in graph["elements"]["nodes"]}
    return {
        "nodes": {n["label"]: n["share"] for n in body["nodes"]},
        "edges": {f"{labels[e['source']]} -> {labels[e['target']]}": e["share"]
                  for e in body["edges"]},
        "entryPoints": {e["label"]: (e["share"], e["errorShare"]) for e in body["entryPoints"]},
    }


def test_it_weighs_the_callers_of_a_failing_node(bookinfo_prometheus: Any) -> None:
    """ingress -10/s-> [productpage] <-2/s- unknown;  [productpage] -> productpage-v1
    productpage-v1 -50%-> [reviews] -60%-> reviews-v2, reviews-v3 -> [ratings] -> ratings-v1
    (25 % 503);  productpage-v1 -50%-> [details];  [reviews] -40%-> reviews-v1"""
    graph = Client().get(f"/api/v1/graph?{SCOPE}").json()
    target = ids_by_label(graph)["ratings-v1"]
    body = Client().get(f"/api/v1/impact?{SCOPE}&node={target}").json()
    assert (body["timestamp"], body["target"]["id"], body["target"]["label"],
            body["target"]["errorShare"]) == (QUERY_TIME, target, "ratings-v1", 0.25)
    assert labelled(body, graph) == {
        "nodes": {"ratings": 1.0, "reviews-v2": 1.0, "reviews-v3": 1.0, "reviews": 0.6,
                  "productpage-v1": 0.3, "productpage": 0.3, "istio-ingressgateway": 0.3,
                  "unknown": 0.3},
        "edges": {"ratings -> ratings-v1": 1.0, "reviews-v2 -> ratings": 1.0,
                  "reviews-v3 -> ratings": 1.0, "reviews -> reviews-v2": 1.0,
                  "reviews -> reviews-v3": 1.0, "productpage-v1 -> reviews": 0.6,
                  "productpage -> productpage-v1": 0.3,
                  "istio-ingressgateway -> productpage": 0.3, "unknown -> productpage": 0.3},
        "entryPoints": {"istio-ingressgateway": (0.3, 0.075), "unknown": (0.3, 0.075)},
    }
    ingress = body["entryPoints"][0]
    assert (ingress["rate"], ingress["affectedRate"]) == (10.0, 3.0)


def test_it_weighs_the_callers_of_a_failing_edge(bookinfo_prometheus: Any) -> None:
    """reviews-v2 -> [ratings] (50 % 503): all of reviews-v2's traffic, 30 % of [reviews]'s,
    15 % of each entry point's"""
    graph = Client().get(f"/api/v1/graph?{SCOPE}").json()
    target = edge_id(graph, "reviews-v2", "ratings")
    body = Client().get(f"/api/v1/impact?{SCOPE}&edge={target}").json()
    assert body["target"]["kind"] == "edge"
    assert (body["target"]["source"]["label"], body["target"]["target"]["label"],
            body["target"]["errorShare"]) == ("reviews-v2", "ratings", 0.5)
    assert labelled(body, graph) == {
        "nodes": {"reviews-v2": 1.0, "reviews": 0.3, "productpage-v1": 0.15,
                  "productpage": 0.15, "istio-ingressgateway": 0.15, "unknown": 0.15},
        "edges": {"reviews-v2 -> ratings": 1.0, "reviews -> reviews-v2": 1.0,
                  "productpage-v1 -> reviews": 0.3, "productpage -> productpage-v1": 0.15,
                  "istio-ingressgateway -> productpage": 0.15, "unknown -> productpage": 0.15},
        "entryPoints": {"istio-ingressgateway": (0.15, 0.075), "unknown": (0.15, 0.075)},
    }


@pytest.mark.parametrize(("extra", "param"), [
    ("", "node"),
    ("&node=abc&edge=def", "node"),
    ("&node=nope", "node"),
    ("&edge=nope", "edge"),
    ("&node=x&graph_type=nope", "graph_type"),
])
def test_it_names_what_is_wrong_with_a_target(bookinfo_prometheus: Any, extra: str,
                                              param: str) -> None:
    response = Client().get(f"/api/v1/impact?{SCOPE}{extra}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param}: ")
