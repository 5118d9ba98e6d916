"""Prometheus's remote read (`POST /api/v1/read`): the stored samples of the series a
set of matchers selects, over a time range, with nothing computed by Prometheus; and
the rows of `sum by (key) (rate(...))` made from them here (graph/counter_rate.py).

Measured in issue 7's sixth round (bench/README.md, "sixth round: remote read,
measured") and on the plan since the seventh: a Query with a `remote` (RemoteRead) may
be answered this way (graph/remote_servers.py decides, per server). The request is a
snappy-compressed ReadRequest; the answer is either a snappy-compressed ReadResponse of samples
(response type SAMPLES) or a stream of ChunkedReadResponse frames of XOR chunks
(STREAMED_XOR_CHUNKS). Field numbers are those of Prometheus's prompb/remote.proto and
types.proto; the messages are written here and read by the compiled walkers
graph/remote_decode.pyx (samples, XOR chunks) and graph/series_keys.pyx (row keys).

    request = read_request("istio_requests_total", matchers, start_ms, end_ms)
    series = decode(*post_read(session, url, request), mint=start_ms, maxt=end_ms)
    rows = rate_sums(series, labels, at_ms=end_ms, range_ms=end_ms - start_ms)
    # {'ns0\x1fproductpage\x1f...': 0.25, ...}: the rows of the instant query
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cramjam
import numpy as np
import numpy.typing as npt
import orjson
import requests

from graph.answer_columns import Keys, Vector, digest_of
from graph.counter_rate import CLOSED_2_42, WindowRule, sums_by, window_rates
from graph.prometheus_answers import KEY_SEPARATOR
from graph.promql import Matcher

SAMPLES, STREAMED_XOR_CHUNKS = 0, 1
STREAMED_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Read-Version": "0.1.0"}
# prompb.LabelMatcher.Type.
MATCHER_TYPES = {"=": 0, "!=": 1, "=~": 2, "!~": 3}


@dataclass(frozen=True)
class RemoteRead:
    """A query kind beside Query's PromQL text: `sum by (key) (rate(metric{matchers}
    [range_s]))`, answered by remote reading the counter's series over the rate window and
    computing the rates and sums here. The key's labels are its Query's wire_labels()."""

    metric: str
    matchers: tuple[Matcher, ...]
    range_s: int

    def window_ms(self, at: int, rule: WindowRule) -> tuple[int, int]:
        """The first and last ms whose samples the rate reads at Unix time `at`, both
        included: [T - W, T] (Prometheus 2.x), or (T - W, T] = [T - W + 1, T] (3.x)."""
        end = at * 1000
        return end - self.range_s * 1000 + (1 if rule.left_open else 0), end


class DecodeError(ValueError):
    """An answer that is not the protobuf (or XOR chunk) remote read sends."""


class RemoteReadError(RuntimeError):
    """Prometheus refused a remote read (its status and the start of its answer)."""


# --- the request --------------------------------------------------------------------------


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, payload: bytes | int) -> bytes:
    """A varint field (int payload) or a length-delimited one (bytes payload)."""
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _matcher(matcher: Matcher) -> bytes:
    kind = MATCHER_TYPES[matcher.op]
    return ((field(1, kind) if kind else b"") + field(2, matcher.label.encode())
            + field(3, matcher.value.encode()))


def read_request(metric: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int,
                 response_type: int = SAMPLES) -> bytes:
    """A snappy-compressed ReadRequest of one Query: `metric{matchers}` from start_ms to
    end_ms (both included), answered as `response_type`."""
    every = (Matcher("__name__", "=", metric), *matchers)
    query = (field(1, start_ms) + field(2, end_ms)
             + b"".join(field(3, _matcher(m)) for m in every))
    message = field(1, query) + field(2, response_type)
    return bytes(cramjam.snappy.compress_raw(message))


def post_read(session: requests.Session, url: str, request: bytes,
              timeout: float = 60) -> tuple[str, bytes]:
    """POSTs a ReadRequest to `url`/api/v1/read: (the answer's content type, its body)."""
    response = session.post(f"{url}/api/v1/read", data=request, headers=HEADERS,
                            timeout=timeout)
    if response.status_code != 200:
        raise RemoteReadError(f"remote read: HTTP {response.status_code}: "
                              f"{response.text[:300]}")
    return response.headers.get("Content-Type", ""), response.content


# --- the answer ---------------------------------------------------------------------------


def _compiled(name: str) -> Any:
    """graph/<name>.pyx, compiled by scripts/setup.sh (`make setup`); imported on first
    use, so that graph/ imports without it."""
    try:
        return importlib.import_module(f"graph.{name}")
    except ImportError as exc:
        raise ImportError(f"graph/{name}.pyx is not compiled: run `make setup`") from exc


@dataclass
class Series:
    """Decoded series: series i's Label fields are body[spans[i, 0]:spans[i, 1]] (as
    encoded), its samples times[offsets[i]:offsets[i + 1]] (ms) and values[...]."""

    body: bytes
    spans: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def labels(self, index: int) -> bytes:
        start, stop = self.spans[index]
        return self.body[start:stop]


def decode(content_type: str, body: bytes, *, mint: int, maxt: int) -> Series:
    """The series of an answer of either response type, their samples limited to
    [mint, maxt] (a streamed answer sends whole chunks, which span more)."""
    decoder = _compiled("remote_decode")
    try:
        if content_type.startswith("application/x-streamed-protobuf"):
            data = body
            spans, offsets, times, values = decoder.read_chunks(data, mint, maxt)
        else:
            data = bytes(cramjam.snappy.decompress_raw(body))
            spans, offsets, times, values = decoder.read_samples(data, mint, maxt)
    except (decoder.DecodeError, cramjam.DecompressionError) as exc:
        raise DecodeError(f"remote read's answer ({content_type or 'no content type'}): "
                          f"{exc}") from exc
    return Series(data, spans, offsets, times, values)


def row_keys(series: Series, labels: Sequence[str]) -> list[str]:
    """Each series' row key as the plan's label_join makes it: the values of `labels`
    joined by KEY_SEPARATOR, "" for a label the series lacks."""
    keys = _compiled("series_keys")
    try:
        return list(keys.row_keys(series.body, series.spans, tuple(labels), KEY_SEPARATOR))
    except ValueError as exc:  # the compiled DecodeError: a Label that is not well formed
        raise DecodeError(f"remote read's answer: {exc}") from exc


def rate_sums(series: Series, labels: Sequence[str], *, at_ms: int, range_ms: int,
              rule: WindowRule = CLOSED_2_42) -> dict[str, float]:
    """`sum by (key) (rate(metric[range]))` at at_ms, the key made of `labels`: key ->
    value, for the keys with at least one series that has a rate (the rows the instant
    query answers), in the order it answers them (each key where its first series with
    a rate stands, as PromQL's aggregation orders its groups)."""
    keys, values = key_sums(series, labels, at_ms=at_ms, range_ms=range_ms, rule=rule)
    return dict(zip(keys, values.tolist(), strict=True))


def key_sums(series: Series, labels: Sequence[str], *, at_ms: int, range_ms: int,
             rule: WindowRule) -> tuple[list[str], npt.NDArray[np.float64]]:
    """rate_sums as its keys and a float64 array of their sums."""
    rates, present = window_rates(series.offsets, series.times, series.values,
                                  at_ms=at_ms, range_ms=range_ms,
                                  threshold_first=rule.threshold_first)
    keys = row_keys(series, labels)
    index: dict[str, int] = {}
    rated = np.flatnonzero(present)
    groups = np.fromiter((index.setdefault(keys[i], len(index)) for i in rated.tolist()),
                         dtype=np.int64, count=len(rated))
    return list(index), sums_by(groups, rates[rated], len(index))


def read_rows(query: RemoteRead, labels: Sequence[str], content_type: str, body: bytes,
              at: int, rule: WindowRule) -> Vector:
    """The rows of a remote read's answer, as the instant query's joined answer reads
    (graph/answer_columns.py's Vector: the same keys, values and order), for Query.read."""
    mint, maxt = query.window_ms(at, rule)
    series = decode(content_type, body, mint=mint, maxt=maxt)
    keys, values = key_sums(series, labels, at_ms=at * 1000, range_ms=query.range_s * 1000,
                            rule=rule)
    # orjson writes a list of strings unambiguously: equal digests, equal key lists.
    return Vector(values, Keys(digest_of(b"remote read", orjson.dumps(keys)), None, keys))
