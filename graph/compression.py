"""Graph JSON compressed for the wire: gzip (RFC 1952), as every HTTP client takes it.

Compressed by ISA-L's igzip (the `isal` package) at its level 1: at 1,000 workloads the 4.2 MB
body in 4 ms instead of zlib level 1's 19 ms, and to 0.93 MB instead of 1.03 MB
(bench/README.md, "eighth round: the answer path"). Every graph body Meshlens compresses
goes through it: the answers a worker builds for the API, each version and big delta a
refresh keeps for the page (a 52 MB body at 10,000 workloads in 62 ms of CPU instead of
260, every tick), frames, impact and series answers, and a body the view compresses itself.

    gzip.decompress(gzipped(body)) == body
"""

from __future__ import annotations

from isal import igzip

# ISA-L's levels are 0-3; 1 is its fast one with zlib's ratio or better on JSON.
LEVEL = 1


def gzipped(body: bytes) -> bytes:
    """`body` as one gzip member, without a timestamp (the same bytes for the same body)."""
    return igzip.compress(body, compresslevel=LEVEL, mtime=0)
