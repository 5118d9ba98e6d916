"""The PromQL selector builder: every value escaped, every selector scoped.

The strings are checked twice: as text here, and by a real Prometheus, which must accept
every query and match, with an equality or regex matcher, exactly the series whose label
holds the value given (backfilled beside near misses that a broken escape would match).
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from graph.prometheus import Prometheus, PrometheusSettings, Query
from graph.promql import (
    PromQLError,
    Scope,
    alternation,
    any_of,
    eq,
    label_strings,
    matches,
    ne,
    none_of,
    regex_literal,
    string,
)
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
TEN_KB = "x" * 10_000 + '"} or vector(1) #'

HOSTILE = [
    'a"b', "a\\b", "trailing\\", '{x="y"}', 'a=~".*"', 'x"} or vector(1) or up{a="',
    "line\nbreak", "tab\tand\rreturn", "nul\x00byte", "bell\x07del\x7fnel\x85",
    "café ü 日本 🚀", "\ufffd", "line\u2028separator", "'single'", "`back`", ".*",
    "a|b", "(x)[y]{2}^$+?", "-#&~ =!", TEN_KB,
]
# One character each: every ASCII character (NUL aside: see test_it_refuses_no_text) must
# quote into a pattern RE2 accepts and that matches it alone.
SINGLE_CHARACTERS = [chr(c) for c in range(1, 128)]
VALUES = list(dict.fromkeys(HOSTILE + SINGLE_CHARACTERS))


def near_misses(value: str) -> list[str]:
    """Values a broken escape would also match: longer, and regex readings of the value."""
    return [value + "z", "z" + value, "ab", "a\\\\b", "axb", "a", "b"]


def series() -> list[dict[str, Any]]:
    values = dict.fromkeys(VALUES + [m for v in HOSTILE for m in near_misses(v)])
    return [{"metric": "hostile_total", "labels": {"v": v, "scope": v}, "rate": 1.0}
            for v in values]


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with(series(), QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


def matched(prom: Prometheus, selector: str) -> list[str]:
    """The `v` label of every series the selector matches, evaluated by Prometheus (which
    raises PrometheusQueryError for a query it rejects)."""
    rows = prom.query(Query(f"rate({selector}[10m])", ("v",)), QUERY_TIME)
    return sorted(key for key, _ in rows)  # one label: the key is its value


def test_it_quotes_values_as_promql_strings() -> None:
    assert string("bookinfo") == '"bookinfo"'
    assert string('a"b') == '"a\\"b"'
    assert string("a\\b") == '"a\\\\b"'
    assert string("line\nbreak\r\t") == '"line\\nbreak\\r\\t"'
    assert string("nul\x00\x07\x7f\x85") == '"nul\\u0000\\u0007\\u007f\\u0085"'
    assert string("\ufffd") == '"\\ufffd"'
    assert string("café 日本 🚀") == '"café 日本 🚀"'


@pytest.mark.parametrize("value", HOSTILE)
def test_it_reads_back_as_the_value_given(value: str) -> None:
    # PromQL's escapes are Go's; Python reads the ones the builder writes the same way.
    assert ast.literal_eval(string(value)) == value


def test_it_refuses_no_text() -> None:
    with pytest.raises(PromQLError, match="surrogate"):
        string("half\ud800")


@pytest.mark.parametrize("name", ["", "1abc", "a-b", 'a"', "a b", "é", "a{b}", "a\n"])
def test_it_refuses_bad_label_names(name: str) -> None:
    with pytest.raises(PromQLError, match="label name"):
        eq(name, "v")
    with pytest.raises(PromQLError, match="label name"):
        Scope.of([(name, "v")])
    with pytest.raises(PromQLError, match="label name"):
        label_strings(["ok", name])


@pytest.mark.parametrize("metric", ["", "1m", "a-b", "m{", "m\n", 'm"'])
def test_it_refuses_bad_metric_names(metric: str) -> None:
    with pytest.raises(PromQLError, match="metric name"):
        Scope().selector(metric, eq("a", "b"))


def test_it_quotes_regex_metacharacters_only() -> None:
    assert regex_literal("productpage-v1") == "productpage-v1"
    assert regex_literal("a.b*c") == "a\\.b\\*c"
    assert regex_literal(r"\.+*?()|[]{}^$") == r"\\\.\+\*\?\(\)\|\[\]\{\}\^\$"
    assert regex_literal("é#&~ -") == "é#&~ -"
    assert alternation(["a.b"]) == "a\\.b"
    assert alternation(["a", "b|c"]) == "(a|b\\|c)"


def test_it_builds_one_matcher_for_one_or_several_values() -> None:
    assert str(any_of("ns", ["bookinfo"])) == 'ns="bookinfo"'
    assert str(any_of("ns", ["a", "b.c"])) == 'ns=~"a|b\\\\.c"'
    assert str(none_of("ns", ["bookinfo"])) == 'ns!="bookinfo"'
    assert str(none_of("ns", ["a", "b"])) == 'ns!~"a|b"'
    with pytest.raises(PromQLError):
        any_of("ns", [])


def test_it_puts_the_scope_first_in_every_selector() -> None:
    scope = Scope.of([("mesh_id", 'mesh"1'), ("cluster_set", "east")])
    assert scope.selector("m", eq("reporter", "source")) == (
        'm{mesh_id="mesh\\"1",cluster_set="east",reporter="source"}')
    assert scope.selector("m") == 'm{mesh_id="mesh\\"1",cluster_set="east"}'
    assert Scope().selector("m") == "m"
    assert Scope().selector("m", ne("a", "{")) == 'm{a!="{"}'


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_it_matches_exactly_the_value_given(prom: Prometheus, value: str) -> None:
    """Equality, inequality and regex matchers, through a real Prometheus."""
    scope = Scope()
    assert matched(prom, scope.selector("hostile_total", eq("v", value))) == [value]
    assert matched(prom, scope.selector("hostile_total", matches("v", regex_literal(value)))
                   ) == [value]
    assert matched(prom, scope.selector("hostile_total", any_of("v", [value, "ab"]))
                   ) == sorted([value, "ab"])
    others = matched(prom, scope.selector("hostile_total", ne("v", value)))
    assert value not in others and len(others) == len(series()) - 1
    assert value not in matched(prom, scope.selector("hostile_total",
                                                     none_of("v", [value, "ab"])))


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_it_scopes_with_any_value(prom: Prometheus, value: str) -> None:
    scope = Scope.of([("scope", value)])
    # (?s): a value may hold a newline, which "." does not match otherwise.
    assert matched(prom, scope.selector("hostile_total", matches("v", "(?s).+"))) == [value]
    assert matched(prom, scope.selector("hostile_total", eq("v", "ab"))) == []
