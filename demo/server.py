"""The simulator's HTTP face: Prometheus scrapes `/metrics`, people and scripts use `/faults`.

    GET    /metrics                  the mesh's metrics, Prometheus text format, or
                                     OpenMetrics with exemplars (trace ids) when the
                                     Accept header asks for application/openmetrics-text
    GET    /faults                   the faults in force, as a JSON list
    POST   /faults                   {"spec": "reviews-v2:ratings=0.3:503"}, or
                                     {"target": "ratings", "rate": 0.3, "code": 503}
    DELETE /faults                   clear every fault
    DELETE /faults?edge=SRC:DST      clear the fault on that edge (or node)

Errors are JSON `{"error": "..."}`: 400 for a bad spec, 404 for nothing to clear.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demo.faults import FaultError, FaultSpec, NoSuchFault, make_spec, parse_spec
from demo.simulator import Simulator

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
MAX_BODY = 64 * 1024


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self._render_lock = threading.Lock()
        # per format (OpenMetrics or not): the generation rendered and its text
        self._rendered: dict[bool, tuple[int, bytes]] = {}
        super().__init__(address, _Handler)

    def metrics(self, openmetrics: bool = False) -> bytes:
        """The exposition, rendered at most once per simulator tick and format."""
        store = self.simulator.store
        with self._render_lock:
            generation, body = self._rendered.get(openmetrics, (-1, b""))
            if generation != store.generation:
                generation = store.generation  # read first: a later tick only makes it stale
                body = store.render(openmetrics)
                self._rendered[openmetrics] = (generation, body)
            return body


def spec_from_json(body: Any) -> FaultSpec:
    """A fault spec from a POST body: `{"spec": ...}` or its parts."""
    if not isinstance(body, dict):
        raise FaultError('the body must be a JSON object like {"spec": "ratings=0.3:503"}')
    if isinstance(body.get("spec"), str):
        return parse_spec(body["spec"])
    if not isinstance(body.get("target"), str) or "rate" not in body:
        raise FaultError('give "spec", or "target" and "rate" (and optionally "code", "flags")')
    if not isinstance(body["rate"], int | float | str):
        raise FaultError('"rate" must be a number like 0.3 or a string like "30%"')
    code = body.get("code")
    if code is not None and not isinstance(code, int | str):
        raise FaultError('"code" must be a status code like 503')
    flags = body.get("flags")
    if flags is not None and not isinstance(flags, str):
        raise FaultError('"flags" must be a string like "UF"')
    return make_spec(body["target"], body["rate"], code, flags)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            # Prometheus asks for OpenMetrics first: the only format with exemplars.
            if "application/openmetrics-text" in self.headers.get("Accept", ""):
                self._send(HTTPStatus.OK, self.server.metrics(True), OPENMETRICS_CONTENT_TYPE)
            else:
                self._send(HTTPStatus.OK, self.server.metrics(), METRICS_CONTENT_TYPE)
        elif path == "/faults":
            faults = self.server.simulator.faults.list()
            self._json(HTTPStatus.OK, [f.to_json() for f in faults])
        elif path == "/":
            self._send(HTTPStatus.OK, (__doc__ or "").encode(), "text/plain; charset=utf-8")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such path {path}; try /metrics or /faults")

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/faults":
            self._error(HTTPStatus.NOT_FOUND, "POST goes to /faults")
            return
        try:
            spec = spec_from_json(self._body())
            fault = self.server.simulator.faults.set(spec)
        except FaultError as e:
            self._error(HTTPStatus.BAD_REQUEST, str(e))
            return
        self._json(HTTPStatus.OK, fault.to_json())

    def do_DELETE(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/faults":
            self._error(HTTPStatus.NOT_FOUND, "DELETE goes to /faults")
            return
        edge = parse_qs(url.query).get("edge", [None])[0]
        try:
            cleared = self.server.simulator.faults.clear(edge)
        except NoSuchFault as e:
            self._error(HTTPStatus.NOT_FOUND, str(e))
            return
        except FaultError as e:
            self._error(HTTPStatus.BAD_REQUEST, str(e))
            return
        self._json(HTTPStatus.OK, {"cleared": [f.to_json() for f in cleared]})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise FaultError("the body is too large for a fault spec")
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError as e:
            raise FaultError(f"the body is not JSON: {e}") from None

    def _json(self, status: HTTPStatus, payload: Any) -> None:
        body = json.dumps(payload, indent=2).encode() + b"\n"
        self._send(status, body, "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Prometheus scrapes every few seconds; only changes are worth a line.
        if self.command != "GET":
            super().log_message(format, *args)


class MeshServer:
    """The simulator and its HTTP server, started and stopped together."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 9101) -> None:
        self.simulator = simulator
        self.httpd = _HTTPServer((host, port), simulator)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, interval: float = 1.0) -> MeshServer:
        """Serve from a background thread (for tests and embedding)."""
        self.simulator.start(interval)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.1,), name="mesh-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, interval: float = 1.0) -> None:
        """Serve from this thread until interrupted."""
        self.simulator.start(interval)
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()
        self.simulator.stop()
