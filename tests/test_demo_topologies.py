"""The simulated meshes are the real ones: Istio Bookinfo and Google Online Boutique."""

from __future__ import annotations

import pytest

from demo.topologies import TOPOLOGIES, UNKNOWN, TopologyError, select


def edges(name: str, protocol: str | None = None) -> set[tuple[str, str]]:
    topology = TOPOLOGIES[name]
    return {e.key for e in topology.requests if protocol in (None, e.protocol)}


def test_it_has_the_bookinfo_edges() -> None:
    """
    ingress -> productpage -> details
    unknown -> productpage -> reviews-v1 | reviews-v2 | reviews-v3
                              reviews-v2, reviews-v3 -> ratings-v1
                              reviews-v2, reviews-v3 -> ratings-v2 (idle: no traffic now)
    """
    assert edges("bookinfo") == {
        ("istio-ingressgateway", "productpage-v1"),
        ("unknown", "productpage-v1"),
        ("productpage-v1", "details-v1"),
        ("productpage-v1", "reviews-v1"),
        ("productpage-v1", "reviews-v2"),
        ("productpage-v1", "reviews-v3"),
        ("reviews-v2", "ratings-v1"),
        ("reviews-v3", "ratings-v1"),
        ("reviews-v2", "ratings-v2"),
        ("reviews-v3", "ratings-v2"),
    }
    idle = {e.key for e in TOPOLOGIES["bookinfo"].requests if e.rate == 0}
    assert idle == {("reviews-v2", "ratings-v2"), ("reviews-v3", "ratings-v2")}
    assert edges("bookinfo", "http") == edges("bookinfo")
    assert TOPOLOGIES["bookinfo"].tcp == ()


def test_it_has_the_boutique_edges() -> None:
    """loadgenerator -> frontend (HTTP) -> ... (gRPC); cartservice -> redis-cart (TCP)"""
    frontend = {"adservice", "cartservice", "checkoutservice", "currencyservice",
                "productcatalogservice", "recommendationservice", "shippingservice"}
    checkout = {"cartservice", "currencyservice", "emailservice", "paymentservice",
                "productcatalogservice", "shippingservice"}
    assert edges("boutique", "http") == {("loadgenerator", "frontend")}
    assert edges("boutique", "grpc") == (
        {("frontend", d) for d in frontend}
        | {("checkoutservice", d) for d in checkout}
        | {("recommendationservice", "productcatalogservice")}
    )
    assert [e.key for e in TOPOLOGIES["boutique"].tcp] == [("cartservice", "redis-cart")]


def test_it_names_workloads_like_their_deployments() -> None:
    boutique = {w.name: w for w in TOPOLOGIES["boutique"].workloads}
    assert boutique["redis-cart"].app == "redis-cart"
    assert {w.version for w in boutique.values()} == {"v1"}
    assert {w.namespace for w in boutique.values()} == {"boutique"}
    assert boutique["frontend"].host() == "frontend.boutique.svc.cluster.local"
    bookinfo = {w.name: w for w in TOPOLOGIES["bookinfo"].workloads}
    assert bookinfo["reviews-v2"].app == "reviews"
    assert bookinfo["reviews-v2"].version == "v2"
    assert bookinfo["reviews-v3"].host() == "reviews.bookinfo.svc.cluster.local"
    assert bookinfo["istio-ingressgateway"].namespace == "istio-system"


def test_it_splits_reviews_evenly_and_fans_out_from_the_page() -> None:
    rates = {e.key: e.rate for e in TOPOLOGIES["bookinfo"].requests}
    page = rates[("istio-ingressgateway", "productpage-v1")] + rates[("unknown", "productpage-v1")]
    reviews = [rates[("productpage-v1", f"reviews-v{n}")] for n in (1, 2, 3)]
    assert rates[("istio-ingressgateway", "productpage-v1")] == pytest.approx(10)
    assert sum(reviews) == pytest.approx(page)
    assert max(reviews) == pytest.approx(min(reviews))
    assert rates[("productpage-v1", "details-v1")] == pytest.approx(page)
    boutique = {e.key: e.rate for e in TOPOLOGIES["boutique"].requests}
    assert boutique[("loadgenerator", "frontend")] == pytest.approx(20)


def test_it_keeps_mtls_everywhere_but_on_the_plain_edges() -> None:
    mesh = select("bookinfo,boutique")
    plain = {e.key for e in mesh.requests if not e.mtls} | {e.key for e in mesh.tcp if not e.mtls}
    assert plain == {("loadgenerator", "frontend"), ("unknown", "productpage-v1")}


def test_it_is_healthy_by_default() -> None:
    for edge in select("bookinfo,boutique").requests:
        assert 0 <= edge.not_found < 0.1, edge.key
        if edge.protocol == "grpc":
            assert edge.not_found == 0, edge.key


def test_it_has_an_unknown_source_that_knows_nothing() -> None:
    assert {UNKNOWN.name, UNKNOWN.namespace, UNKNOWN.app, UNKNOWN.version,
            UNKNOWN.canonical_revision} == {"unknown"}


def test_it_selects_topologies_from_a_comma_list() -> None:
    assert [t.name for t in select("boutique, bookinfo").topologies] == ["boutique", "bookinfo"]
    assert [t.name for t in select(["bookinfo", "bookinfo"]).topologies] == ["bookinfo"]
    assert len(select("bookinfo,boutique").requests) == 10 + 15


@pytest.mark.parametrize("value", ["", "bookinfo,hipstershop"])
def test_it_rejects_unknown_topologies_naming_the_known_ones(value: str) -> None:
    with pytest.raises(TopologyError, match="bookinfo, boutique"):
        select(value)
