"""How Prometheus's answers are read: the errors a query can raise, the compact rows an
answer becomes, and `Query`, what is asked and how its answer is read (its `> 0`, the
labels it sums away, its rounding). graph/prometheus.py sends the queries.

An answer's JSON is parsed once with orjson straight into compact rows: the label values
in the order the caller asked for, joined by KEY_SEPARATOR into one string (the row's
key), and the sample value. A label missing from a sample reads as "" (Prometheus cannot
store empty label values, so "" and absent are the same).

A row keeps its key joined: a mesh sends the same keys tick after tick, so what a key
means is looked up by the string, and the key is split (by `read`, into a record whose
fields are the label names) only the first time it is seen.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

import orjson
import requests

from graph import answer_columns
from graph.answer_columns import Vector
from graph.promql import label_strings

if TYPE_CHECKING:
    from graph.remote_read import RemoteRead


# (key, value): the label values joined by KEY_SEPARATOR, and the sample value.
Row = tuple[str, float]


class PrometheusError(Exception):
    """Prometheus could not answer."""


class PrometheusUnavailable(PrometheusError):
    """Prometheus is unreachable, timed out, or answered with a server error."""


class PrometheusQueryError(PrometheusError):
    """Prometheus rejected a query (a bug in the query, or a bad query scope setting)."""


class PrometheusBadAnswer(PrometheusError):
    """What answered was not Prometheus's API: not JSON, or JSON of another shape (a proxy's
    or a login portal's page, another server on Prometheus's address)."""


# What reading an answer of the wrong shape raises: a missing key, a list where a dict was
# expected, a value that is not a number.
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


@contextmanager
def reading(url: str) -> Iterator[None]:
    """Turn an answer of the wrong shape, found while reading it, into PrometheusBadAnswer:
    a server that is not Prometheus must not fail a build with a KeyError."""
    try:
        yield
    except PrometheusError:
        raise
    except SHAPE_ERRORS as exc:
        raise PrometheusBadAnswer(
            f"Prometheus at {url} answered something that is not a query result "
            f"({type(exc).__name__}: {str(exc)[:80]})") from exc


@dataclass(frozen=True)
class Exemplar:
    """One exemplar: the labels of its series, its own labels (trace_id, ...), its value
    in the series' unit, and its time (Unix s)."""

    series: dict[str, str]
    labels: dict[str, str]
    value: float
    timestamp: float


def parse_exemplars(response: requests.Response, url: str) -> list[Exemplar]:
    with reading(url):
        return read_exemplars(successful_body(response, url))


def read_exemplars(body: dict[str, Any]) -> list[Exemplar]:
    return [Exemplar(group.get("seriesLabels", {}), item.get("labels", {}),
                     float(item["value"]), float(item["timestamp"]))
            for group in body.get("data") or () for item in group.get("exemplars") or ()]


@dataclass(frozen=True)
class Curve:
    """One series of a range query's answer: its labels, and its (time, value) points
    (a step without a value is left out; NaN stays NaN)."""

    labels: dict[str, str]
    points: list[tuple[int, float]]


def parse_matrix(response: requests.Response, url: str) -> list[Curve]:
    with reading(url):
        return read_matrix(successful_body(response, url)["data"])


def read_matrix(data: dict[str, Any]) -> list[Curve]:
    if data.get("resultType") != "matrix":
        raise ValueError(f"a matrix expected, not a {data.get('resultType')}")
    return [Curve(item.get("metric", {}), [(int(t), float(v)) for t, v in item["values"]])
            for item in data["result"]]


@dataclass(frozen=True)
class Query:
    promql: str
    labels: tuple[str, ...]
    # The labels come joined in one, KEY_LABEL (see joined_sum): split them back.
    joined: bool = False
    # Round each value to this multiple on reading, exactly as PromQL's round(v, to)
    # would (see prometheus_round); None: as sent.
    round_to: float | None = None
    # Labels the promql also groups by, after `labels` (their values end each key), that
    # this reader sums away: one answer then serves readers that group by more labels and
    # readers that group by fewer (Prometheus.query_each sends equal queries once).
    summed_away: tuple[str, ...] = ()
    # What the query roughly costs Prometheus, against the others of its batch: the
    # heaviest are sent first (see Prometheus.query_each). Not part of the answer.
    weight: int = 0
    # Keep only the rows whose value is above 0, exactly as PromQL's `> 0` on the answer
    # would (NaN and 0 dropped), but on reading: the comparison is one more pass of
    # Prometheus's engine over every sample (about 2 % of its CPU for the Istio plan,
    # bench/README.md "fifth round: the query plan"), and a loop here costs 0.05 ms per
    # 2,500 rows.
    positive: bool = False
    # The same rows may be had by remote read (graph/remote_read.py): the stored samples of
    # these series, the rates and sums computed here; Prometheus.fetch decides per server
    # (graph/remote_servers.py). None: PromQL only. Not part of the answer (the PromQL is).
    remote: RemoteRead | None = None

    def answer(self) -> tuple[object, ...]:
        """What the answer's rows depend on: queries with equal answers are sent once."""
        return (self.promql, self.joined, () if self.joined else self.wire_labels())

    def wire_labels(self) -> tuple[str, ...]:
        return self.labels + self.summed_away

    def parse(self, response: requests.Response, url: str) -> list[Row]:
        return self.read(parse_vector(response, self.wire_labels(), url, self.joined))

    def read(self, rows: list[Row]) -> list[Row]:
        """This reader's rows of an answer: those above 0 when `positive`, summed over
        summed_away, then rounded (the order PromQL's `round(sum by (...) (...) > 0, to)`
        applies them in, the sum being of rows already compared). An answer read as
        columns (a Vector) is read on its columns, into a Vector."""
        if isinstance(rows, Vector):
            read = answer_columns.read(rows, self.positive, len(self.summed_away),
                                       self.round_to, KEY_SEPARATOR)
            if read is not None:
                return read  # type: ignore[return-value]
            rows = rows.rows()
        if self.positive:
            rows = [row for row in rows if row[1] > 0]
        if self.summed_away:
            rows = summed(rows, len(self.summed_away))
        return rows if self.round_to is None else rounded(rows, self.round_to)


# One label that carries all the grouping labels' values, joined by a control character
# that no label value holds. Prometheus then sends (and Meshlens parses) one string per
# sample instead of a dozen labels: less than half the JSON, answered and parsed faster.
KEY_LABEL = "meshlens_key"
KEY_SEPARATOR = "\x1f"

Record = TypeVar("Record", bound=NamedTuple)


def row_key(*values: str) -> str:
    """The key of a row with these label values (as tests and callers build rows)."""
    return KEY_SEPARATOR.join(values)


def read(record: type[Record], key: str) -> Record | None:
    """A row's key as a record of its labels (a NamedTuple whose fields are the query's
    label names, in order); None when the key does not hold that many values (a value
    with the separator in it cannot be read back). The values are interned: what is made
    of a record is kept across builds, and a mesh's keys repeat the same few thousand
    names (namespaces, workloads, codes) hundreds of thousands of times."""
    values = key.split(KEY_SEPARATOR)
    if len(values) != len(record._fields):
        return None
    return record._make(map(sys.intern, values))


def joined_sum(vector: str, labels: Sequence[str]) -> str:
    """`sum by (labels) (vector)` with the labels joined into KEY_LABEL; parse the result
    with Query(..., joined=True)."""
    return (f'sum by ({KEY_LABEL}) (label_join({vector}, "{KEY_LABEL}", "\\u001f", '
            f"{label_strings(labels)}))")



def successful_body(response: requests.Response, url: str) -> dict[str, Any]:
    """The JSON of a successful answer; PrometheusUnavailable when Prometheus could not
    answer (5xx, timeouts), PrometheusBadAnswer when what answered is not its API (no JSON,
    not an object), PrometheusQueryError when it refused the query."""
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise PrometheusUnavailable(f"Prometheus at {url} answered HTTP {response.status_code}")
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise PrometheusBadAnswer(
            f"Prometheus at {url} answered HTTP {response.status_code} with something that "
            "is not a query result (not JSON)"
        ) from exc
    if not isinstance(body, dict):
        raise PrometheusBadAnswer(f"Prometheus at {url} answered something that is not a "
                                  f"query result (JSON {type(body).__name__})")
    if body.get("status") != "success":
        raise PrometheusQueryError(f"Prometheus rejected a query: {body.get('error', body)}")
    return cast(dict[str, Any], body)


def parse_vector(response: requests.Response, labels: tuple[str, ...], url: str,
                 joined: bool = False) -> list[Row]:
    """The answer's rows; a joined answer of the usual shape as columns (a Vector, which is
    also a sequence of the same rows: graph/answer_columns.py), else through orjson."""
    if joined and response.status_code < 400:
        vector = answer_columns.scan(response.content)
        if vector is not None:
            return vector  # type: ignore[return-value]
    with reading(url):
        return read_vector(successful_body(response, url)["data"], labels, joined)


def read_vector(data: dict[str, Any], labels: tuple[str, ...], joined: bool) -> list[Row]:
    if data.get("resultType") != "vector":
        raise ValueError(f"a vector expected, not a {data.get('resultType')}")
    if joined:
        return joined_rows(data["result"])
    rows: list[Row] = []
    # Fast path: every label present (the usual case); else read missing ones as "".
    pick = operator.itemgetter(*labels) if len(labels) > 1 else None
    join = KEY_SEPARATOR.join
    for sample in data["result"]:
        metric = sample["metric"]
        try:
            key = join(pick(metric)) if pick else metric[labels[0]] if labels else ""
        except KeyError:
            key = join(metric.get(name, "") for name in labels)
        rows.append((key, float(sample["value"][1])))
    return rows


def joined_rows(result: list[dict[str, Any]]) -> list[Row]:
    """Rows of a joined_sum query: the joined label is the key as Prometheus made it (a
    missing label joined as "", as it reads elsewhere)."""
    return [(sample["metric"].get(KEY_LABEL, ""), float(sample["value"][1]))
            for sample in result]


def prometheus_round(value: float, to: float) -> float:
    """PromQL's `round(value, to)`, bit for bit: Prometheus (funcRound in
    promql/functions.go) multiplies by the inverse of `to`, adds 0.5, floors and divides
    by the inverse again, in float64 without a fused multiply-add (as Go compiles it for
    amd64), which is what Python's floats do. Rounding here instead of in the query spares
    Prometheus a pass over every answer (~30 ms of its CPU per big query at 1,000
    workloads). NaN and infinities go through as in Go (floor leaves them as they are)."""
    return _round(value, 1.0 / to)


def _round(value: float, inverse: float) -> float:
    scaled = value * inverse + 0.5
    # math.floor gives an int, exact for any finite float; it refuses NaN and infinities.
    return (math.floor(scaled) if math.isfinite(scaled) else scaled) / inverse


def summed(rows: list[Row], count: int) -> list[Row]:
    """The rows with the last `count` values of each key dropped, those that then share a
    key added up, in the order each key first comes (the order Prometheus's `sum by` of
    the fewer labels gives). The sum is the same as Prometheus's, bit for bit, when one
    row per key comes (the usual case: one security policy and principal pair per edge);
    otherwise it is added in another order, which can differ in the last bit."""
    out: dict[str, float] = {}
    for key, value in rows:
        short = key.rsplit(KEY_SEPARATOR, count)[0]
        out[short] = out[short] + value if short in out else value
    return list(out.items())


def rounded(rows: list[Row], to: float) -> list[Row]:
    inverse = 1.0 / to
    return [(key, _round(value, inverse)) for key, value in rows]
