"""A stand-in for Prometheus on a loopback port, for fault tests: it passes every request to
a real Prometheus until told to fail, then fails the way it is told.

    with StandIn(upstream.url) as prometheus:
        prometheus.url               # what Meshlens is given as PROMETHEUS_URL
        prometheus.fail(SLOW)        # every request waits past Meshlens's timeout
        prometheus.fail(GARBAGE)     # 200 with JSON that is not a query's result
        prometheus.down()            # nothing listens on the port any more
        prometheus.heal()            # passes requests on again (listening again if down)
        prometheus.queries           # the PromQL of every query that came, in arrival order
        prometheus.refuse_reads(404)  # remote read (/api/v1/read) answered 404, the rest passed
        prometheus.reads             # remote reads that came, refused or not
        prometheus.arrivals          # every query's PromQL, or "remote read", in arrival order

Only the fault is simulated: the answers it passes on are the real Prometheus's.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from tests.support.ports import LOOPBACK

# The faults, each a way Prometheus (or what stands in front of it) fails.
SLOW = "slow"  # answers, but only after `slow_s`
ERROR_500 = "500"  # Prometheus's own error page: HTTP 500, not JSON
GARBAGE = "garbage"  # HTTP 200, JSON of the wrong shape (a proxy's, another API's)
NOT_JSON = "not-json"  # HTTP 200, an HTML page (a login portal in front of Prometheus)
HELD = "held"  # holds every request until heal(), then passes it on
REMOTE_READ = "remote read"  # what `arrivals` says of a remote read (/api/v1/read)

BODIES: dict[str, tuple[int, str, bytes]] = {
    ERROR_500: (500, "text/plain", b"internal server error\n"),
    GARBAGE: (200, "application/json",
              b'{"status": "success", "data": {"resultType": "vector", '
              b'"result": [{"metric": {"x": 1}, "value": "NaN?"}]}}'),
    NOT_JSON: (200, "text/html", b"<html><body>Sign in to continue</body></html>"),
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, stand_in: StandIn) -> None:
        self.stand_in = stand_in
        super().__init__((LOOPBACK, port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.answer(None)

    def do_POST(self) -> None:  # noqa: N802
        self.answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def answer(self, body: bytes | None) -> None:
        stand_in = self.server.stand_in
        remote = self.path.startswith("/api/v1/read")
        if remote:
            stand_in.reads += 1
            if stand_in.read_fault is not None:
                stand_in.arrivals.append(REMOTE_READ)
                self.reply(*stand_in.read_fault)
                return
        fault = stand_in.arrived(REMOTE_READ if remote else promql(self.path, body))
        if fault == SLOW:
            time.sleep(stand_in.slow_s)
        elif fault == HELD:
            stand_in.gate.wait(120)
        if fault in BODIES:
            status, content_type, payload = BODIES[fault]
        else:
            status, content_type, payload = stand_in.forward(self, body)
        self.reply(status, content_type, payload)

    def reply(self, status: int, content_type: str, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting (a slow answer): nobody to tell

    def log_message(self, *args: Any) -> None:
        pass


def promql(path: str, body: bytes | None) -> str | None:
    """The `query` parameter of a request (in its URL, or its form body for a POST); None
    for a request without one (label values, status)."""
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    if body:
        params |= urllib.parse.parse_qs(body.decode(errors="replace"))
    found = params.get("query")
    return found[0] if found else None


class StandIn:
    """See the module docstring. `requests`: how many requests arrived, faulty or not;
    `queries`: the PromQL of those that carried a query, in the order they arrived (with
    one query in flight at a time, the order they were sent), held or failed ones too."""

    def __init__(self, upstream: str, slow_s: float = 5.0) -> None:
        self.upstream = upstream
        self.slow_s = slow_s
        self.fault: str | None = None
        self.gate = threading.Event()
        self.requests = 0
        self.queries: list[str] = []
        self.held = 0  # requests that came since the gate was last closed
        self.reads = 0  # remote reads that came
        self.arrivals: list[str] = []  # queries and remote reads (REMOTE_READ), in order
        self.read_fault: tuple[int, str, bytes] | None = None  # how they are answered
        self.lock = threading.Lock()
        self.port = 0
        self.server: Server | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Self:
        """Listen (again) on the port of the last start, or on a free one the first time."""
        self.server = Server(self.port, self)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, name="stand-in", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.gate.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def fail(self, fault: str) -> None:
        if fault == HELD:
            with self.lock:
                self.held = 0
            self.gate.clear()
        self.fault = fault

    def refuse_reads(self, status: int, content_type: str = "text/plain",
                     body: bytes = b"remote read is not allowed here\n") -> None:
        """Answer every remote read (/api/v1/read) so, as a proxy or another server would;
        None: pass them on again."""
        self.read_fault = (status, content_type, body)

    def down(self) -> None:
        """Stop listening: connections are refused, as by a Prometheus that is not running."""
        self.stop()
        # The port is free now; nothing else may listen on it while it is "down".
        with socket.socket() as probe:
            assert probe.connect_ex((LOOPBACK, self.port)) != 0

    def heal(self) -> None:
        self.fault = None
        self.gate.set()
        if self.server is None:
            self.start()

    def arrived(self, query: str | None) -> str | None:
        with self.lock:
            self.requests += 1
            if query is not None:
                self.arrivals.append(query)
            if query is not None and query != REMOTE_READ:
                self.queries.append(query)
            if self.fault == HELD:
                self.held += 1
            return self.fault

    def forward(self, handler: Handler, body: bytes | None) -> tuple[int, str, bytes]:
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() in ("content-type", "authorization", "accept")}
        request = urllib.request.Request(f"{self.upstream}{handler.path}", data=body,
                                         headers=headers, method=handler.command)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return (response.status, response.headers.get("Content-Type", ""),
                        response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
