"""A mesh for the export tests: Bookinfo, plus workloads whose names hold what each export
format must escape (quotes, <, &, backslashes, newlines, unicode, Mermaid's syntax).

    ingress -> productpage -> reviews-v2 -> ratings (50 % 503)          (mesh.bookinfo)
    productpage -> [QUOTES] -> QUOTES-v1 (12 ms p95) -> [MERMAID] -> MERMAID-v1 (gRPC)
    BACKSLASH -> [UNICODE] -> UNICODE-v1 (TCP)
"""

from __future__ import annotations

from typing import Any

from tests import mesh
from tests.mesh import Workload

QUOTES = 'q"uote <b>x</b> & &amp; \'s'
NEWLINE = "line\nbreak \\n \\ end\\"
UNICODE = "café 日本 #quot; end ☃"
MERMAID = 'x]-->|y|; subgraph end %% `*` (a) {b} #35;'


def hostile(name: str, suffix: str) -> Workload:
    return Workload("bookinfo", f"{name}-{suffix}", name, service=name)


QUOTES_V1 = hostile(QUOTES, "v1")
BACKSLASH_V1 = hostile(NEWLINE, "v1")
UNICODE_V1 = hostile(UNICODE, "v1")
MERMAID_V1 = hostile(MERMAID, "v1")


def series() -> list[dict[str, Any]]:
    return (mesh.bookinfo(ratings_503=1.5)
            + mesh.request_edge(mesh.PRODUCTPAGE, QUOTES_V1, {"200": 4.0, "500": 1.0})
            + mesh.duration_histogram(mesh.PRODUCTPAGE, QUOTES_V1,
                                      {"10": 0.0, "20": 5.0, "+Inf": 5.0}, sum_ms=60.0)
            + mesh.request_edge(QUOTES_V1, MERMAID_V1, {"grpc:0": 2.0}, protocol="grpc")
            + mesh.tcp_edge(BACKSLASH_V1, UNICODE_V1, 100.0, 50.0))
