"""Remote read (graph/remote_read.py, graph/counter_rate.py): rates and sums computed from
the samples Prometheus hands over equal PromQL's `rate` and `sum by` bit for bit.

Samples are written into a real Prometheus through its remote-write receiver (so stale
markers, resets, gaps and odd intervals are stored exactly as written), then read back
both ways, SAMPLES and STREAMED_XOR_CHUNKS, and compared with the instant queries' answer
at several query times and ranges.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import cramjam
import numpy as np
import pytest
import requests

from graph import remote_read as rr
from graph.counter_rate import STALE_NAN_BITS, window_rates
from graph.promql import eq, matches
from tests.support.prometheus import PrometheusServer

METRIC = "meshlens_test_requests_total"
STEP_MS = 15_000
STALE = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]
# Query times, relative to the data's start, and the ranges read back.
OFFSETS_MS = (300_000, 307_500, 315_000, 322_000, 600_000)
RANGES_S = (20, 30, 60, 120, 300)


def counter(start_ms: int, values: list[float], step_ms: int = STEP_MS) -> list[tuple[int, float]]:
    return [(start_ms + i * step_ms, v) for i, v in enumerate(values)]


def cases(base: int) -> dict[str, list[tuple[int, float]]]:
    """case -> samples (ms, value), all within 11 minutes of `base`."""
    rising = [100.0 + 7.3 * i for i in range(45)]
    return {
        "steady": counter(base, rising),
        "reset": counter(base, [*rising[:20], 3.0, 9.5, 17.25, *[20 + 4.1 * i for i in range(22)]]),
        "resets": counter(base, [(i % 3) * 5.5 + 1 for i in range(45)]),
        "gap": [s for s in counter(base, rising) if not 12 <= s[0] // 1000 % 120 < 70],
        "stale": [*counter(base, rising[:19]), (base + 19 * STEP_MS, STALE),
                  *counter(base + 21 * STEP_MS, rising[21:])],
        "starts inside": counter(base + 295_000, [2.0, 5.5, 9.0, 20.0]),
        "starts at zero": counter(base + 250_000, [0.0, 1.0, 2.0, 3.5, 4.0, 9.0]),
        "one sample": [(base + 290_000, 42.0), (base + 600_000, 43.0)],
        "jitter": [(base + i * STEP_MS + (i * 7919 % 5000) - 2500, 10.0 + 3.0 * i)
                   for i in range(1, 44)],
        "sparse": counter(base, [1.0 + 2 * i for i in range(12)], step_ms=55_000),
        "flat": counter(base, [5.0] * 45),
        "falls": counter(base, [1000.0 - 10 * i for i in range(45)]),
        "ends inside": counter(base, rising[:21]),
        "on the edges": counter(base + 240_000, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0], 12_000),
    }


# --- writing the samples: remote write's WriteRequest (prompb/remote.proto) ---------------


def write_request(series: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]) -> bytes:
    timeseries = b""
    for labels, samples in series.items():
        body = b"".join(rr.field(1, rr.field(1, n.encode()) + rr.field(2, v.encode()))
                        for n, v in sorted(labels))
        body += b"".join(rr.field(2, b"\x09" + struct.pack("<d", v) + b"\x10" + rr.varint(t))
                         for t, v in samples)
        timeseries += rr.field(1, body)
    return bytes(cramjam.snappy.compress_raw(timeseries))


class WritablePrometheus(PrometheusServer):
    def command(self) -> list[str]:
        return [*super().command(), "--web.enable-remote-write-receiver"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(url, base ms) of a Prometheus holding `cases` twice: group "a" and group "b",
    the second scaled, so that `sum by (group)` adds several series."""
    workdir = Path(tmp_path_factory.mktemp("remote-read"))
    server = WritablePrometheus(workdir / "tsdb", workdir)
    server.start()
    try:
        # Within the head's reach: the newest sample a few minutes before now.
        base = (int(time.time()) - 15 * 60) * 1000
        series = {}
        for case, samples in cases(base).items():
            for group, scale in (("a", 1.0), ("b", 2.5)):
                labels = (("__name__", METRIC), ("case", case), ("group", group),
                          ("pod", f"{case}-{group}"))
                series[labels] = [(t, v * scale if not is_stale(v) else v)
                                  for t, v in samples]
        response = requests.post(f"{server.url}/api/v1/write", data=write_request(series),
                                 headers={"Content-Encoding": "snappy",
                                          "Content-Type": "application/x-protobuf",
                                          "X-Prometheus-Remote-Write-Version": "0.1.0"},
                                 timeout=30)
        assert response.status_code == 204, response.text
        yield server.url, base
    finally:
        server.stop()


def is_stale(value: float) -> bool:
    return struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


def instant(url: str, promql: str, at_ms: int) -> list[dict]:
    response = requests.post(f"{url}/api/v1/query",
                             data={"query": promql, "time": f"{at_ms / 1000:.3f}"}, timeout=30)
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def read(url: str, at_ms: int, range_s: int, response_type: int) -> rr.Series:
    start = at_ms - range_s * 1000
    request = rr.read_request(METRIC, (matches("case", ".+"),), start, at_ms, response_type)
    with requests.Session() as session:
        answer = rr.post_read(session, url, request)
    return rr.decode(*answer, mint=start, maxt=at_ms)


@pytest.mark.parametrize("response_type", [rr.SAMPLES, rr.STREAMED_XOR_CHUNKS],
                         ids=["samples", "chunks"])
def test_it_computes_every_series_rate_as_promql_does(written: tuple[str, int],
                                                      response_type: int) -> None:
    """Every case, at five query times (on a sample, between samples) and five ranges
    (one sample to 20), rate per series against `rate(metric[range])`."""
    url, base = written
    compared = absent = 0
    for offset in OFFSETS_MS:
        at_ms = base + offset
        for range_s in RANGES_S:
            want = {(r["metric"]["case"], r["metric"]["group"]): float(r["value"][1])
                    for r in instant(url, f"rate({METRIC}[{range_s}s])", at_ms)}
            series = read(url, at_ms, range_s, response_type)
            rates, present = window_rates(series.offsets, series.times, series.values,
                                          at_ms=at_ms, range_ms=range_s * 1000)
            keys = rr.row_keys(series, ("case", "group"))
            got = {tuple(k.split("\x1f")): float(r)
                   for k, r, p in zip(keys, rates, present, strict=True) if p}
            assert got.keys() == want.keys(), (offset, range_s)
            for key, value in want.items():
                assert bits(got[key]) == bits(value), (key, offset, range_s, got[key], value)
            compared += len(want)
            absent += len(keys) - len(want)
    # Some series have no rate in some windows (one sample, or none): both sides agree.
    assert compared > 200 and absent > 0


@pytest.mark.parametrize("response_type", [rr.SAMPLES, rr.STREAMED_XOR_CHUNKS],
                         ids=["samples", "chunks"])
def test_it_sums_by_key_as_promql_does(written: tuple[str, int], response_type: int) -> None:
    """`sum by (key) (label_join(rate(...)))` as the plan sends it, against rate_sums."""
    url, base = written
    for offset in OFFSETS_MS:
        at_ms = base + offset
        for range_s in (30, 60, 300):
            promql = (f'sum by (k) (label_join(rate({METRIC}[{range_s}s]), "k", "\\u001f", '
                      f'"group", "pod"))')
            want = {r["metric"].get("k", ""): float(r["value"][1])
                    for r in instant(url, promql, at_ms)}
            by_group = {r["metric"]["group"]: float(r["value"][1]) for r in instant(
                url, f"sum by (group) (rate({METRIC}[{range_s}s]))", at_ms)}
            series = read(url, at_ms, range_s, response_type)
            got = rr.rate_sums(series, ("group", "pod"), at_ms=at_ms,
                               range_ms=range_s * 1000)
            assert {k: bits(v) for k, v in got.items()} == {k: bits(v) for k, v in want.items()}
            assert list(got) == list(want)  # the rows in the order Prometheus answers them
            grouped = rr.rate_sums(series, ("group",), at_ms=at_ms, range_ms=range_s * 1000)
            assert {k: bits(v) for k, v in grouped.items()} == {
                k: bits(v) for k, v in by_group.items()}


def test_it_reads_only_the_matched_series_in_the_window(written: tuple[str, int]) -> None:
    url, base = written
    at_ms = base + 315_000
    series = read(url, at_ms, 60, rr.SAMPLES)
    chunks = read(url, at_ms, 60, rr.STREAMED_XOR_CHUNKS)
    for got in (series, chunks):
        assert got.times.min() >= at_ms - 60_000 and got.times.max() <= at_ms
    assert rr.row_keys(series, ("case", "group")) == rr.row_keys(chunks, ("case", "group"))
    assert np.array_equal(series.offsets, chunks.offsets)
    assert series.values.tobytes() == chunks.values.tobytes()
    assert np.array_equal(series.times, chunks.times)
    request = rr.read_request(METRIC, (eq("case", "steady"), eq("group", "a")),
                              at_ms - 60_000, at_ms)
    with requests.Session() as session:
        one = rr.decode(*rr.post_read(session, url, request), mint=at_ms - 60_000,
                        maxt=at_ms)
    assert rr.row_keys(one, ("case", "group", "missing")) == ["steady\x1fa\x1f"]


def test_it_leaves_stale_markers_out() -> None:
    """s1: 1, 2, stale, 4 -> three samples; s2: only a stale marker -> no rate."""
    offsets = np.array([0, 4, 5])
    times = np.array([0, 15_000, 30_000, 45_000, 50_000])
    values = np.array([1.0, 2.0, STALE, 4.0, STALE])
    rates, present = window_rates(offsets, times, values, at_ms=60_000, range_ms=60_000)
    assert present.tolist() == [True, False]
    assert rates[0] > 0 and not math.isnan(rates[0])


def test_it_names_an_answer_it_cannot_read() -> None:
    with pytest.raises(rr.DecodeError, match="not a well-formed ReadResponse"):
        rr.decode("application/x-protobuf", bytes(cramjam.snappy.compress_raw(b"\x0a\xff")),
                  mint=0, maxt=1)
    with pytest.raises(rr.DecodeError, match="ChunkedReadResponse"):
        rr.decode(rr.STREAMED_TYPE, b"\x05\x00\x00\x00\x00\x0a\x03", mint=0, maxt=1)


def test_it_names_a_refused_read(written: tuple[str, int]) -> None:
    url, _ = written
    with requests.Session() as session, pytest.raises(rr.RemoteReadError, match="HTTP 400"):
        rr.post_read(session, url, b"not snappy")


def _frames(stream: bytes) -> Iterator[bytes]:
    """The ChunkedReadResponse messages of a streamed answer (uvarint size, CRC, message)."""
    pos = 0
    while pos < len(stream):
        size, pos = _read_varint(stream, pos)
        yield stream[pos + 4:pos + 4 + size]
        pos += 4 + size


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        value |= (data[pos] & 0x7F) << shift
        pos += 1
        if data[pos - 1] < 0x80:
            return value, pos
        shift += 7


def _fields(message: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, whole encoded field) of a message of length-delimited fields."""
    pos = 0
    while pos < len(message):
        start = pos
        key, pos = _read_varint(message, pos)
        size, pos = _read_varint(message, pos)
        pos += size
        yield key >> 3, message[start:pos]


def _payload(field: bytes) -> bytes:
    _, pos = _read_varint(field, 0)
    size, pos = _read_varint(field, pos)
    return field[pos:pos + size]


def test_it_reads_a_series_split_over_frames_as_one(written: tuple[str, int]) -> None:
    """Prometheus sends a series whose chunks pass a frame's size in several frames, each
    with its labels: here every series' labels in a frame of their own, then again with
    the chunks."""
    url, base = written
    at_ms = base + 600_000
    start = at_ms - 300_000
    request = rr.read_request(METRIC, (matches("case", ".+"),), start, at_ms,
                              rr.STREAMED_XOR_CHUNKS)
    with requests.Session() as session:
        content_type, stream = rr.post_read(session, url, request)
    split = b""
    for frame in _frames(stream):
        for number, series in _fields(frame):
            assert number == 1
            labels = b"".join(f for n, f in _fields(_payload(series)) if n == 1)
            for message in (rr.field(1, labels), series):
                split += rr.varint(len(message)) + b"\0\0\0\0" + message
    whole = rr.decode(content_type, stream, mint=start, maxt=at_ms)
    parts = rr.decode(content_type, split, mint=start, maxt=at_ms)
    assert len(parts) == len(whole) == 2 * len(cases(base))
    assert np.array_equal(parts.offsets, whole.offsets)
    assert parts.values.tobytes() == whole.values.tobytes()
    assert rr.row_keys(parts, ("case", "group")) == rr.row_keys(whole, ("case", "group"))
