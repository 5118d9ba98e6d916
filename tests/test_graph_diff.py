"""graph/diff.py: what changed between two API-shaped graphs."""

from __future__ import annotations

from typing import Any

import pytest

from graph.diff import Thresholds, graph_diff, mark_diff, parse_compare_to, parse_thresholds
from graph.options import OptionError


def graph(edges: dict[str, tuple[float, float, str | None]]) -> dict[str, Any]:
    """Edges "a>b": (rate, error %, responseTime ms or None); node ids are names."""
    names = sorted({n for key in edges for n in key.split(">")})
    out = []
    for key, (rate, err, rt) in edges.items():
        source, target = key.split(">")
        data = {"id": key, "source": source, "target": target,
                "traffic": {"protocol": "http",
                            "rates": {"http": f"{rate:.2f}", "httpPercentErr": f"{err:.1f}"}}}
        if rt is not None:
            data["responseTime"] = rt
        out.append({"data": data})
    return {"elements": {"nodes": [{"data": {"id": n, "label": n}} for n in names],
                         "edges": out}}


THEN = graph({"a>b": (10, 0, "20.00"), "b>c": (5, 1, "30.00"), "b>old": (1, 0, None),
              "a>d": (2, 0, "10.00")})
NOW = graph({"a>b": (10, 0, "200.00"), "b>c": (5, 40, "35.00"), "b>new": (1, 0, None),
             "a>d": (2, 4.9, "109.00")})


def test_it_finds_added_vanished_and_changed_elements() -> None:
    """then: a -> b -> c, b -> old, a -> d      now: a -> b (p95 20 -> 200 ms) -> c (1 -> 40 %
    errors), b -> new, a -> d (moved below both thresholds)"""
    changes = graph_diff(NOW, THEN, Thresholds())
    assert [n["id"] for n in changes["nodes"]["added"]] == ["new"]
    assert [n["id"] for n in changes["nodes"]["vanished"]] == ["old"]
    assert [e["id"] for e in changes["edges"]["added"]] == ["b>new"]
    assert [e["id"] for e in changes["edges"]["vanished"]] == ["b>old"]
    assert [(e["id"], e["changes"]) for e in changes["edges"]["changed"]] == [
        ("a>b", {"responseTime": {"then": 20.0, "now": 200.0}}),
        ("b>c", {"errorPercent": {"then": 1.0, "now": 40.0}}),
    ]
    assert changes["thresholds"] == {"error": 5.0, "p95": 100.0}


def test_it_moves_with_the_thresholds_given() -> None:
    """a -> d: error 0 -> 4.9 %, p95 10 -> 109 ms: changed below thresholds of 4 % and 90 ms"""
    changes = graph_diff(NOW, THEN, Thresholds(error=4.0, p95=90.0))
    assert {e["id"]: sorted(e["changes"]) for e in changes["edges"]["changed"]}["a>d"] == [
        "errorPercent", "responseTime"]


def test_it_marks_the_elements_of_the_graph_now() -> None:
    now = graph({"a>b": (10, 0, "200.00"), "b>new": (1, 0, None)})
    mark_diff(now, THEN, graph_diff(now, THEN, Thresholds()))
    marks = {e["data"]["id"]: e["data"].get("diff") for kind in ("nodes", "edges")
             for e in now["elements"][kind]}
    assert marks == {"a": None, "b": None, "new": "added", "c": "vanished", "old": "vanished",
                     "d": "vanished", "a>b": "changed", "b>new": "added", "b>c": "vanished",
                     "b>old": "vanished", "a>d": "vanished"}


def test_it_reads_compare_to_as_a_duration_back_or_a_unix_time() -> None:
    assert parse_compare_to("1h", 1_700_000_000) == 1_699_996_400
    assert parse_compare_to("1d", 1_700_000_000) == 1_699_913_600
    assert parse_compare_to("1699990000", 1_700_000_000) == 1_699_990_000


@pytest.mark.parametrize("value", ["", "soon", "1700000001", "0", "-1h"])
def test_it_names_a_bad_compare_to(value: str) -> None:
    with pytest.raises(OptionError) as raised:
        parse_compare_to(value, 1_700_000_000)
    assert raised.value.param == "compare_to"


@pytest.mark.parametrize(("query", "param"), [({"threshold_error": "-1"}, "threshold_error"),
                                              ({"threshold_p95": "nan"}, "threshold_p95"),
                                              ({"threshold_p95": "fast"}, "threshold_p95")])
def test_it_names_a_bad_threshold(query: dict[str, str], param: str) -> None:
    with pytest.raises(OptionError) as raised:
        parse_thresholds(query)
    assert raised.value.param == param
