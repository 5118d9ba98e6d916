"""Joined answers read as columns (graph/answer_columns.py) against the orjson path: the
same keys and the same floats, bit for bit, whatever the keys hold and the values are;
anything of another shape read by orjson as before; and a graph built on columns tick after
tick (the same keys, other values, rows idle and busy again, a key missing, the order
changed) the same JSON as one built on rows. Checked on bodies written as Prometheus writes
them, and on a real Prometheus's answers.

    requested: shop

    web-v1 --(200 2/s, 503 0.5/s; mTLS on two pods)--> [api] -> api-v1
    web-v1 --(200 idle, 0/s)--> [ratings] -> ratings-v1<beta&co>   (a version Go escapes)
    api-v1 --(200 0.25/s)--> [bäckend] -> bäckend-v1                (a name not ASCII)
    api-v1 --(TCP 1,000 B/s)--> [db] -> db
"""

from __future__ import annotations

import math
import random
import struct
from dataclasses import replace
from typing import Any

import orjson
import pytest

from graph import ids
from graph.answer_columns import Vector, scan
from graph.build import build_graph
from graph.cytoscape_json import write_graph
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import (
    KEY_SEPARATOR,
    Prometheus,
    PrometheusBadAnswer,
    PrometheusSettings,
    Query,
    Row,
    joined_sum,
    parse_vector,
    read_vector,
    row_key,
)
from tests.mesh import Workload, request_edge, tcp_edge, with_labels
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000


class Answered:
    status_code = 200

    def __init__(self, content: bytes) -> None:
        self.content = content


def body(rows: list[tuple[str, str]], time: str = "1700000000") -> bytes:
    """An answer as Prometheus writes it: each (key as JSON text, value as text)."""
    return (b'{"status":"success","data":{"resultType":"vector","result":['
            + b",".join(b'{"metric":{"meshlens_key":"%s"},"value":[%s,"%s"]}'
                        % (k.encode(), time.encode(), v.encode()) for k, v in rows)
            + b"]}}")


def bits(rows: list[Row] | Vector) -> list[tuple[str, bytes]]:
    return [(k, struct.pack("<d", v)) for k, v in rows]


def both(content: bytes) -> tuple[Any, list[Row]]:
    """The answer read as columns where it can be, and read by orjson."""
    fast = parse_vector(Answered(content), (), "test", joined=True)  # type: ignore[arg-type]
    slow = read_vector(orjson.loads(content)["data"], (), joined=True)
    return fast, slow


SEP = "\\u001f"  # the separator as JSON text


@pytest.mark.parametrize("key", [
    f"ns1{SEP}web-v1{SEP}200", "", f"{SEP}{SEP}", "plain", "b\u00e4ckend-v1 \U0001f600",
    "v1\\u003cbeta\\u0026co\\u003e", "line\\u2028sep", "tab\\there",
    "back\\\\slash", "solidus\\/x",
])
def test_it_reads_keys_as_orjson_does(key: str) -> None:
    fast, slow = both(body([(key, "1.5"), (f"{key}{SEP}x", "2")]))
    assert isinstance(fast, Vector), "read as columns"
    assert bits(fast) == bits(slow)
    assert fast.keys == [k for k, _ in slow]


@pytest.mark.parametrize("key", ['say \\"hi\\"', 'quote\\"', "x\\\\\\\"", "end\\\\"])
def test_it_leaves_a_quote_after_a_backslash_to_orjson(key: str) -> None:
    fast, slow = both(body([(key, "1"), ("b", "2")]))
    assert not isinstance(fast, Vector)
    assert bits(fast) == bits(slow)


VALUES = ["0", "-0", "1", "17.221999999999994", "1.4270000000000003", "NaN", "+Inf", "-Inf",
          "0.0000000000000000000001", "123456789012345680000000000", "5e-324", "1e+22",
          "179769313486231570000000000000000000000000000000000000000000000000000000000000000000"
          "00000000000000000000000000000000000000000000000000000000000000000000000000000000000"
          "00000000000000000000000000000000000000000000000000000000000000000000000000000000000"
          "000000000000000000000000000000000000000000000000000000000000000000000000000000",
          "0.30000000000000004", "2.2250738585072014e-308"]


def test_it_reads_values_as_float_does() -> None:
    rng = random.Random(7)
    values = VALUES + [repr(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
                       for _ in range(2000)] + [f"{rng.random() * 10 ** rng.randint(-9, 9)}"
                                                for _ in range(2000)]
    fast, slow = both(body([(f"k{i}", v) for i, v in enumerate(values)]))
    assert isinstance(fast, Vector)
    assert bits(fast) == bits(slow)
    assert math.isnan(fast.values[VALUES.index("NaN")])


@pytest.mark.parametrize("content", [
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},'
    b'"value":[1700000000,"1"]}]}}',  # the key label missing: ""
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"meshlens_key":'
    b'"a","le":"0.5"},"value":[1700000000,"1"]}]}}',  # another label
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"0.5",'
    b'"meshlens_key":"a"},"value":[1700000000,"1"]}]}}',
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"meshlens_kez":'
    b'"a"},"value":[1700000000,"1"]}]}}',  # another label of the same length
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"meshlens_key":'
    b'"a"},"value":[1700000000.5,"1"]}]},"warnings":["w"]}',
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"meshlens_key":'
    b'"a"},"value":[1700000000.5,"1"]}, {"metric":{"meshlens_key":"b"},"value":[1,"2"]}]}}',
    b'{"status":"success","data":{"resultType":"vector","result":[]}}',
])
def test_it_reads_other_shapes_by_orjson(content: bytes) -> None:
    fast, slow = both(content)
    assert bits(fast) == bits(slow)
    assert fast == slow


@pytest.mark.parametrize("content", [
    body([("a", "one")]), body([("a", "")]), body([("a\x01b", "1")]),
    body([("a", "1")]).replace(b'"a"', b'"a\xff"'),  # not UTF-8
    b'{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}',
])
def test_it_says_what_is_wrong_as_orjson_does(content: bytes) -> None:
    with pytest.raises(PrometheusBadAnswer):
        parse_vector(Answered(content), (), "test", joined=True)  # type: ignore[arg-type]


def test_it_digests_the_keys_not_the_values() -> None:
    rows = [(f"ns{SEP}w{i}{SEP}200", f"{i}.5") for i in range(5)]

    def digest(rows: list[tuple[str, str]], time: str = "1700000000") -> bytes:
        vector = scan(body(rows, time))
        assert vector is not None
        return vector.digest

    first = digest(rows)
    assert digest([(k, "7") for k, _ in rows], "1700000015") == first
    assert digest(rows[::-1]) != first
    assert digest(rows[1:]) != first
    assert digest([*rows[:2], ("ns" + SEP + "w9" + SEP + "200", "2.5"), *rows[3:]]) != first
    assert digest([("a" + SEP + "b", "1")]) != digest([("a", "1"), ("b", "1")])


def readers() -> list[Query]:
    plain = Query("q", ("a", "b"), joined=True)
    return [plain, replace(plain, positive=True), replace(plain, round_to=0.001),
            replace(plain, labels=("a",), summed_away=("b",)),
            replace(plain, labels=("a",), summed_away=("b",), positive=True, round_to=0.001),
            replace(plain, labels=(), summed_away=("a", "b"), round_to=0.01)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_reads_columns_as_rows_bit_for_bit(seed: int) -> None:
    """positive, summed_away and round_to on arrays against the row path: rows sharing a
    short key in any order, values around the rounding's halves, 0, negatives, NaN, Inf"""
    rng = random.Random(seed)
    special = ["0", "-0", "NaN", "+Inf", "-Inf", "-1.5", "0.0005", "0.0015", "2.0004999"]
    rows = []
    for _ in range(3000):
        key = row_key(f"a{rng.randrange(40)}", f"b{rng.randrange(3)}")
        value = rng.choice(special) if rng.random() < 0.2 else repr(
            rng.choice([rng.random() * 1000, rng.randrange(100000) / 1000 + 0.0005]))
        rows.append((key.replace(KEY_SEPARATOR, SEP), value))
    fast, slow = both(body(rows))
    assert isinstance(fast, Vector)
    for query in readers():
        assert bits(query.read(fast)) == bits(query.read(slow)), query


def test_it_sums_a_first_minus_zero_as_the_rows_do() -> None:
    rows = [(f"a{SEP}x", "-0"), (f"a{SEP}y", "-0"), (f"b{SEP}x", "1")]
    fast, slow = both(body(rows))
    query = Query("q", ("a",), joined=True, summed_away=("b",))
    assert bits(query.read(fast)) == bits(query.read(slow))
    assert math.copysign(1, query.read(fast)[0][1]) == -1


SHOP = "shop"
WEB = Workload(SHOP, "web-v1", "web", service="web")
API = Workload(SHOP, "api-v1", "api", service="api")
RATINGS = Workload(SHOP, "ratings-v1", "ratings", version="v1<beta&co>", service="ratings")
BACKEND = Workload(SHOP, "b\u00e4ckend-v1", "b\u00e4ckend", service="b\u00e4ckend")
DB = Workload(SHOP, "db", "db", service="db")


def series() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for pod in ("p1", "p2"):
        out += with_labels(request_edge(WEB, API, {"200": 1.0, "503": 0.25}), pod=pod,
                           connection_security_policy="mutual_tls",
                           source_principal="spiffe://cluster.local/ns/shop/sa/web",
                           destination_principal="spiffe://cluster.local/ns/shop/sa/api")
    out += request_edge(WEB, RATINGS, {"200": 0.0})
    out += request_edge(API, BACKEND, {"200": 0.25})
    out += tcp_edge(API, DB, sent=1000.0, received=500.0)
    return out


class Replayed(Prometheus):
    """A Prometheus whose answers are edited before they are read (one tick of a live
    mesh), and read as columns or, `rows`, by orjson (a body of another shape)."""

    def __init__(self, url: str, edit: Any, rows: bool) -> None:
        super().__init__(PrometheusSettings(url=url))
        self.edit, self.rows = edit, rows

    def post(self, path: str, data: dict[str, str]) -> Any:
        content = self.edit(super().post(path, data).content)
        return Answered(content + b" " if self.rows else content)


def edited(change: Any) -> Any:
    """Apply `change` to the rows of a joined answer, written again as Prometheus does."""
    def edit(content: bytes) -> bytes:
        if not content.startswith(b'{"status":"success","data":{"resultType":"vector"'):
            return content
        result = orjson.loads(content)["data"]["result"]
        if any(list(r["metric"]) != ["meshlens_key"] for r in result):
            return content
        rows = [(orjson.dumps(r["metric"]["meshlens_key"]).decode()[1:-1], r["value"][1])
                for r in result]
        return body(change(rows))
    return edit


TICKS = [
    lambda rows: [(k, "0" if i % 3 == 1 else v) for i, (k, v) in enumerate(rows)],  # idle
    lambda rows: rows,  # the idle rows busy again: planned now
    lambda rows: [(k, repr(float(v) * 3 + 0.001)) for k, v in rows],  # other values
    lambda rows: rows[1:],  # a key missing
    lambda rows: rows[::-1],  # the order changed
    lambda rows: [(k, "0" if i % 2 else v) for i, (k, v) in enumerate(rows)],  # idle
    lambda rows: [(k, repr(float(v) / 7)) for k, v in rows],  # back: the same keys
]


@pytest.mark.parametrize("graph_type", [ids.WORKLOAD, ids.VERSIONED_APP, ids.SERVICE])
def test_it_draws_the_graph_of_rows_tick_after_tick(
        prometheus_with: PrometheusPool, graph_type: str) -> None:
    server = prometheus_with(series(), QUERY_TIME)
    options = GraphOptions(namespaces=(SHOP,), query_time=QUERY_TIME, duration=60,
                           graph_type=graph_type)
    mesh = MeshConfig()
    for tick in TICKS:
        fast = write_graph(build_graph(Replayed(server.url, edited(tick), False), options,
                                       mesh)).body()
        slow = write_graph(build_graph(Replayed(server.url, edited(tick), True), options,
                                       mesh)).body()
        assert fast == slow
        assert b"b\xc3\xa4ckend" in fast


def test_it_reads_a_real_answer_as_orjson_does(prometheus_with: PrometheusPool) -> None:
    server = prometheus_with(series(), QUERY_TIME)
    prom = Prometheus(PrometheusSettings(url=server.url))
    labels = ("destination_workload", "destination_canonical_revision", "source_principal",
              "connection_security_policy")
    query = Query(joined_sum("rate(istio_requests_total[60s])", labels), labels,
                  joined=True)
    content = prom.post("/api/v1/query", {"query": query.promql,
                                         "time": str(QUERY_TIME)}).content
    assert b"\\u003cbeta\\u0026co\\u003e" in content  # as Go escapes it
    fast, slow = both(content)
    assert isinstance(fast, Vector)
    assert bits(fast) == bits(slow)
    assert any("v1<beta&co>" in k for k in fast.keys)
