"""graph/impact.py: blast radius shares on drawn topologies (API-shaped graphs)."""

from __future__ import annotations

from typing import Any

import pytest

from graph.impact import blast_radius
from graph.options import OptionError


def graph(edges: list[tuple[str, str, float] | tuple[str, str, float, str]],
          roots: tuple[str, ...] = (), errors: dict[tuple[str, str], float] | None = None,
          ) -> dict[str, Any]:
    """An API-shaped graph: edges (source, target, rate[, protocol]); node ids are names;
    `errors` gives an edge's error %."""
    names = sorted({e[0] for e in edges} | {e[1] for e in edges} | set(roots))
    nodes = [{"data": {"id": n, "label": n, **({"isRoot": True} if n in roots else {})}}
             for n in names]
    out = []
    for e in edges:
        source, target, rate = e[0], e[1], e[2]
        protocol = e[3] if len(e) > 3 else "http"  # type: ignore[misc]
        rates = {protocol: f"{rate:.2f}"}
        if errors and (source, target) in errors:
            rates[f"{protocol}PercentErr"] = f"{errors[(source, target)]:.1f}"
        out.append({"data": {"id": f"{source}>{target}:{protocol}", "source": source,
                             "target": target,
                             "traffic": {"protocol": protocol, "rates": rates}}})
    return {"elements": {"nodes": nodes, "edges": out}}


def shares(entries: list[dict[str, Any]]) -> dict[str, float]:
    """Shares by id, to 4 places (the body's are rounded to 6)."""
    return {e["id"]: round(e["share"], 4) for e in entries}


def test_it_multiplies_shares_along_a_path() -> None:
    """a -30%-> b -50%-> c      a -70%-> x      b -50%-> y"""
    body = blast_radius(graph([("a", "b", 3), ("a", "x", 7), ("b", "c", 1), ("b", "y", 1)]),
                        node="c")
    assert shares(body["nodes"]) == {"a": 0.15, "b": 0.5}
    assert body["entryPoints"] == [{"id": "a", "label": "a", "share": 0.15, "rate": 10.0,
                                    "affectedRate": 1.5, "errorShare": 0.0}]
    assert shares(body["edges"]) == {"a>b:http": 0.5, "b>c:http": 1.0}
    assert body["target"] == {"kind": "node", "id": "c", "label": "c", "errorShare": 0.0}


def test_it_adds_up_the_paths_of_a_diamond() -> None:
    """a -50%-> b -100%-> d      a -50%-> c -50%-> d      c -50%-> z"""
    body = blast_radius(graph([("a", "b", 1), ("a", "c", 1), ("b", "d", 1), ("c", "d", 1),
                               ("c", "z", 1)]), node="d")
    assert shares(body["nodes"]) == {"a": 0.75, "b": 1.0, "c": 0.5}


def test_it_takes_an_edge_as_the_target() -> None:
    """r -> a (root)      a -75%-> b (the failing edge)      a -25%-> c -> b"""
    body = blast_radius(graph([("r", "a", 4), ("a", "b", 3), ("a", "c", 1), ("c", "b", 1)]),
                        edge="a>b:http")
    assert shares(body["nodes"]) == {"a": 0.75, "r": 0.75}
    assert shares(body["edges"]) == {"a>b:http": 1.0, "r>a:http": 0.75}
    assert body["target"]["kind"] == "edge"
    assert (body["target"]["source"]["id"], body["target"]["target"]["id"]) == ("a", "b")


def test_it_solves_a_cycle_exactly() -> None:
    """r -> a -> b;  b -25%-> t,  b -25%-> a (back),  b -50%-> z

    reach(b) = 1/4 + 1/4 reach(a) and reach(a) = reach(b): 1/3 each."""
    body = blast_radius(graph([("r", "a", 1), ("a", "b", 4), ("b", "t", 1), ("b", "a", 1),
                               ("b", "z", 2)]), node="t")
    assert shares(body["nodes"]) == {"r": 0.3333, "a": 0.3333, "b": 0.3333}
    assert [e["id"] for e in body["entryPoints"]] == ["r"]


def test_it_solves_a_self_call() -> None:
    """a -25%-> a (itself)      a -25%-> t      a -50%-> z: reach(a) = 1/4 + 1/4 reach(a)"""
    body = blast_radius(graph([("a", "a", 1), ("a", "t", 1), ("a", "z", 2)], roots=("a",)),
                        node="t")
    assert shares(body["nodes"]) == {"a": 0.3333}


def test_it_solves_a_cycle_that_keeps_requests_turning() -> None:
    """a -> b;  b -98%-> a (back),  b -1%-> t,  b -1%-> z: reach(b) = 1/100 + 98/100 reach(b)

    Hop by hop this would take thousands of steps: it is solved per component instead."""
    body = blast_radius(graph([("a", "b", 1), ("b", "a", 98), ("b", "t", 1), ("b", "z", 1)],
                              roots=("a",)), node="t")
    assert shares(body["nodes"]) == {"a": 0.5, "b": 0.5}


def test_it_solves_a_big_slow_cycle() -> None:
    """r0 -> r1 -> ... -> r399 -> r0, each 98 % on, 1 % to t, 1 % to z: 1/2 each"""
    ring = [(f"r{i}", f"r{(i + 1) % 400}", 98.0) for i in range(400)]
    leaks = [(f"r{i}", end, 1.0) for i in range(400) for end in ("t", "z")]
    body = blast_radius(graph(ring + leaks, roots=("r0",)), node="t")
    assert set(shares(body["nodes"]).values()) == {0.5}


def test_it_stops_at_the_target_when_traffic_loops_through_it() -> None:
    """a -> t -> b -> t (t calls b, b calls t back): a's requests reach t once, all of them"""
    body = blast_radius(graph([("a", "t", 1), ("t", "b", 1), ("b", "t", 1)]), node="t")
    assert shares(body["nodes"]) == {"a": 1.0, "b": 1.0}
    assert {e["id"] for e in body["edges"]} == {"a>t:http", "b>t:http"}


def test_it_lists_every_entry_point_with_its_affected_share() -> None:
    """in1 -> front -50%-> t      in2 -> other      front -50%-> x"""
    body = blast_radius(graph([("in1", "front", 2), ("front", "t", 1), ("front", "x", 1),
                               ("in2", "other", 5)]), node="t")
    assert [(e["id"], e["share"], e["affectedRate"]) for e in body["entryPoints"]] == [
        ("in1", 0.5, 1.0), ("in2", 0.0, 0.0)]


def test_it_estimates_the_errors_that_reach_each_entry_point() -> None:
    """in -> a -50%-> t (40 % errors)      b -> t (20 % errors, 1/s beside a's 1/s)"""
    body = blast_radius(graph([("in", "a", 2), ("a", "t", 1), ("a", "x", 1), ("b", "t", 1)],
                              errors={("a", "t"): 40.0, ("b", "t"): 20.0}), node="t")
    assert body["target"]["errorShare"] == pytest.approx(0.3)
    entries = {e["id"]: e for e in body["entryPoints"]}
    assert entries["in"]["errorShare"] == pytest.approx(0.15)
    assert entries["b"]["errorShare"] == pytest.approx(0.3)


def test_it_shares_a_tcp_only_caller_by_bytes_and_a_requesting_one_by_requests() -> None:
    """cart -75%-> redis (TCP 300 B/s)   cart -25%-> cache (TCP 100 B/s)
    front -> cart (HTTP), front -> redis (TCP, beside its requests: no share)"""
    body = blast_radius(graph([("front", "cart", 1), ("cart", "redis", 300, "tcp"),
                               ("cart", "cache", 100, "tcp"), ("front", "redis", 50, "tcp")]),
                        node="redis")
    assert shares(body["nodes"]) == {"cart": 0.75, "front": 0.75}
    assert shares(body["edges"]) == {"cart>redis:tcp": 1.0, "front>cart:http": 0.75,
                                     "front>redis:tcp": 0.0}


def test_it_adds_up_parallel_edges_of_two_protocols() -> None:
    """a -http 1/s-> t   a -grpc 1/s-> t   a -http 2/s-> z"""
    body = blast_radius(graph([("a", "t", 1), ("a", "t", 1, "grpc"), ("a", "z", 2)]),
                        node="t")
    assert shares(body["nodes"]) == {"a": 0.5}


def test_it_lists_a_caller_over_idle_edges_with_no_share() -> None:
    """idle -0/s-> t      a -> t"""
    body = blast_radius(graph([("idle", "t", 0), ("a", "t", 1)]), node="t")
    assert shares(body["nodes"]) == {"a": 1.0, "idle": 0.0}


@pytest.mark.parametrize(("kwargs", "param"), [
    ({}, "node"),
    ({"node": "a", "edge": "a>t:http"}, "node"),
    ({"node": "nope"}, "node"),
    ({"edge": "nope"}, "edge"),
])
def test_it_names_a_bad_target(kwargs: dict[str, str], param: str) -> None:
    with pytest.raises(OptionError) as raised:
        blast_radius(graph([("a", "t", 1)]), **kwargs)
    assert raised.value.param == param
