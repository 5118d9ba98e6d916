"""The API's answers compressed by ISA-L (graph/compression.py): standard gzip, which the
standard library, zlib's gzip mode (as browsers and HTTP clients read it) and requests
read back as it went in."""

from __future__ import annotations

import gzip
import zlib

import orjson

from graph.compression import gzipped

BODY = orjson.dumps({"elements": {"edges": [
    {"data": {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}", "traffic": {
        "protocol": "http", "rates": {"http": f"{i / 7:.2f}", "httpPercentErr": "0.0"}}}}
    for i in range(20_000)]}})


def test_it_gives_back_the_body_whole() -> None:
    packed = gzipped(BODY)
    assert gzip.decompress(packed) == BODY
    assert zlib.decompress(packed, wbits=31) == BODY
    assert len(packed) < len(BODY) / 5


def test_it_gives_the_same_bytes_for_the_same_body() -> None:
    """No timestamp in the header: an answer kept or compared is the same every time."""
    assert gzipped(BODY) == gzipped(BODY)
    assert gzipped(b"") and gzip.decompress(gzipped(b"")) == b""
