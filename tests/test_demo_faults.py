"""Fault specs, and the table that decides how each edge fails."""

from __future__ import annotations

import pytest

from demo.faults import (
    FaultError,
    FaultSpec,
    FaultTable,
    NoSuchFault,
    Outcome,
    parse_spec,
)
from demo.topologies import select


@pytest.fixture
def table() -> FaultTable:
    return FaultTable(select("bookinfo,boutique"))


def fault_on(table: FaultTable, src: str, dst: str) -> tuple[float, Outcome]:
    found = table.active().get((src, dst))
    assert found is not None, f"no fault on {src}:{dst}"
    return found


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("reviews-v2:ratings-v1=0.3:503", FaultSpec("ratings-v1", 0.3, "reviews-v2", 503)),
        ("reviews-v2:ratings=30%", FaultSpec("ratings", 0.3, "reviews-v2")),
        ("cartservice=0.1", FaultSpec("cartservice", 0.1)),
        ("ratings=1:503:UF", FaultSpec("ratings", 1.0, None, 503, "UF")),
        ("ratings=0.5::UH", FaultSpec("ratings", 0.5, None, None, "UH")),
        ("details = 0.2 : 500", FaultSpec("details", 0.2, None, 500)),
        ("ratings:0.3", FaultSpec("ratings", 0.3)),  # the older NODE:RATE form
        ("reviews-v2:ratings:0.3:503", FaultSpec("ratings", 0.3, "reviews-v2", 503)),
        ("frontend:cartservice=0.25:14", FaultSpec("cartservice", 0.25, "frontend", 14)),
    ],
)
def test_it_parses_specs(text: str, spec: FaultSpec) -> None:
    assert parse_spec(text) == spec


def test_it_writes_specs_it_can_read_back() -> None:
    for text in ("reviews-v2:ratings=0.3:503", "ratings=0.5::UH", "cartservice=0.1"):
        assert str(parse_spec(text)) == text
        assert parse_spec(str(parse_spec(text))) == parse_spec(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ratings", "no error rate"),
        ("ratings=", "no error rate"),
        ("=0.3", "no target"),
        ("ratings=lots", "is not a number"),
        ("ratings=1.5", "out of range"),
        ("ratings=-0.1", "out of range"),
        ("ratings=nan", "out of range"),
        ("ratings=0.3:abc", "not a whole number"),
        ("ratings=0.3:200", "is not an error"),
        ("ratings=0.3:42", "is not an error"),
        ("ratings=0.3:503:XYZ", "unknown response flag"),
        ("ratings=0.3:503:UF:x", "too many parts"),
        ("a:b:c=0.3", "is not SRC:DST"),
        (":ratings=0.3", "is not SRC:DST"),
    ],
)
def test_it_rejects_bad_specs_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(FaultError, match=problem):
        parse_spec(text)


def test_it_lists_the_known_names_for_an_unknown_one(table: FaultTable) -> None:
    with pytest.raises(FaultError, match="unknown workload or app 'ratngs'") as error:
        table.set("reviews-v2:ratngs=0.3")
    assert "ratings-v1" in str(error.value)
    assert "productcatalogservice" in str(error.value)


def test_it_sets_an_edge_fault_by_destination_app(table: FaultTable) -> None:
    """reviews-v2 -> ratings-v1 (30% 503); reviews-v3 -> ratings-v1 untouched"""
    fault = table.set("reviews-v2:ratings=0.3:503")
    assert fault.edges == {("reviews-v2", "ratings-v1")}
    failed = Outcome("503", "", "-", latency_factor=1.5)
    assert fault_on(table, "reviews-v2", "ratings-v1") == (0.3, failed)
    assert ("reviews-v3", "ratings-v1") not in table.active()


def test_it_sets_a_node_fault_on_every_edge_into_it(table: FaultTable) -> None:
    """productpage -> reviews-v1|v2|v3 (all 20% 500)"""
    fault = table.set("reviews=0.2:500")
    assert fault.edges == {("productpage-v1", f"reviews-v{n}") for n in (1, 2, 3)}
    assert table.set("cartservice=0.1").edges == {
        ("frontend", "cartservice"), ("checkoutservice", "cartservice")
    }


def test_it_fails_grpc_with_unavailable_by_default(table: FaultTable) -> None:
    table.set("cartservice=0.1")
    rate, failed = fault_on(table, "frontend", "cartservice")
    assert rate == 0.1
    assert (failed.response_code, failed.grpc_status, failed.flags) == ("200", "14", "-")


def test_it_maps_http_codes_on_grpc_edges_as_grpc_does(table: FaultTable) -> None:
    table.set("frontend:adservice=0.1:504")
    table.set("frontend:currencyservice=0.1:500")
    table.set("frontend:shippingservice=0.1:5")
    assert fault_on(table, "frontend", "adservice")[1].grpc_status == "14"
    assert fault_on(table, "frontend", "currencyservice")[1].grpc_status == "2"
    shipping = fault_on(table, "frontend", "shippingservice")[1]
    assert (shipping.response_code, shipping.grpc_status) == ("200", "5")


def test_it_rejects_a_grpc_status_on_an_http_edge(table: FaultTable) -> None:
    with pytest.raises(FaultError, match="gRPC status, but reviews-v2 -> ratings-v1 is HTTP"):
        table.set("reviews-v2:ratings=0.3:14")


def test_it_reports_connection_failures_as_unreached(table: FaultTable) -> None:
    table.set("ratings=0.5::UF")
    failed = fault_on(table, "reviews-v3", "ratings-v1")[1]
    assert (failed.response_code, failed.flags, failed.reached) == ("503", "UF", False)
    table.set("details=0.1:0")
    dropped = fault_on(table, "productpage-v1", "details-v1")[1]
    assert (dropped.response_code, dropped.flags, dropped.reached) == ("0", "DC", True)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("redis-cart=0.1", "only TCP traffic"),
        ("cartservice:redis-cart=0.1", "only TCP traffic"),
        ("loadgenerator=0.1", "receives no requests"),
        ("ratings:reviews=0.1", "ratings calls: nothing"),
        ("details-v1:ratings=0.1", "no requests go from details-v1 to ratings"),
        ("unknown:productpage=0.1::UF", "seen by no proxy"),
    ],
)
def test_it_rejects_faults_on_edges_that_carry_no_requests(
    table: FaultTable, text: str, problem: str
) -> None:
    with pytest.raises(FaultError, match=problem):
        table.set(text)


def test_it_lets_the_edge_fault_win_over_the_node_fault(table: FaultTable) -> None:
    """reviews-v2 -> ratings (edge, 30%) beats ratings (node, 50%), whichever came first"""
    table.set("reviews-v2:ratings=0.3")
    table.set("ratings=0.5")
    assert fault_on(table, "reviews-v2", "ratings-v1")[0] == 0.3
    assert fault_on(table, "reviews-v3", "ratings-v1")[0] == 0.5


def test_it_replaces_a_fault_on_the_same_edges(table: FaultTable) -> None:
    table.set("reviews-v2:ratings=0.3")
    table.set("reviews-v2:ratings-v1=0.6:500")
    assert [str(f.spec) for f in table.list()] == ["reviews-v2:ratings-v1=0.6:500"]


def test_it_clears_one_fault_by_any_name_of_its_edges(table: FaultTable) -> None:
    table.set("reviews-v2:ratings=0.3:503")
    table.set("cartservice=0.1")
    cleared = table.clear("reviews-v2:ratings-v1")
    assert [f.spec.target for f in cleared] == ["reviews-v2:ratings"]
    assert ("reviews-v2", "ratings-v1") not in table.active()
    assert [f.spec.target for f in table.list()] == ["cartservice"]


def test_it_says_when_there_is_nothing_to_clear(table: FaultTable) -> None:
    table.set("cartservice=0.1")
    with pytest.raises(NoSuchFault, match="no fault on ratings; faults in force: cartservice"):
        table.clear("ratings")
    with pytest.raises(FaultError, match="unknown workload"):
        table.clear("nothing")


def test_it_clears_every_fault(table: FaultTable) -> None:
    table.set("cartservice=0.1")
    table.set("ratings=0.2")
    assert len(table.clear()) == 2
    assert table.list() == []
    assert table.active() == {}


def test_it_describes_faults_as_json(table: FaultTable) -> None:
    fault = table.set("ratings=0.3:503")
    assert fault.to_json() == {
        "target": "ratings",
        "spec": "ratings=0.3:503",
        "rate": 0.3,
        "code": 503,
        "flags": None,
        "edges": ["reviews-v2:ratings-v1", "reviews-v3:ratings-v1"],
    }
