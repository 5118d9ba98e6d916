"""Whether a Prometheus server's queries go by remote read (graph/remote_read.py) or as
their PromQL, per server: the setting (MESHLENS_REMOTE_READ: `auto`, `on`, `off`), the
compiled decoder being there, the server's version (its window rule, read once from
/api/v1/status/buildinfo), and whether it refused remote read lately.

With `auto`, a server that refuses (an HTTP status other than 200: 400/404/405/501 from a
proxy or a server that is not Prometheus, 429/503 at its read-concurrency limit; an answer
that is not remote read's protobuf; a version whose rule is not known here) has its
queries sent as PromQL for REFUSED_FOR_S, logged once and counted (`fallbacks`, which
the dashboard's /metrics reads), then is tried again. With `on`, the same is an error
naming what is wrong: the build fails and the last good graph stays. A Prometheus that
cannot be reached at all fails as any query does.

    reads = RemoteReads("auto", url, client.call)
    rows = reads.fetch(query, at)  # a Vector, or None: send query.promql instead
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import requests

from graph import memory
from graph.counter_rate import WindowRule, rule_for_version
from graph.prometheus_answers import (
    SHAPE_ERRORS,
    PrometheusBadAnswer,
    PrometheusError,
    PrometheusUnavailable,
    Query,
    Row,
    successful_body,
)

MODES = ("auto", "on", "off")
# How long a server that refused remote read has its queries sent as PromQL before it is
# tried again: long enough not to ask on every tick, short enough to notice a fix.
REFUSED_FOR_S = 300.0
SETTING = "MESHLENS_REMOTE_READ"
COMPILED = ("remote_decode", "series_keys")

log = logging.getLogger(__name__)
Call = Callable[..., requests.Response]


class RemoteReadRefused(Exception):
    """The server does not answer remote read (the reason says how)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind  # the fallback's label in /metrics: http-404, answer, version...


@dataclass
class Server:
    rule: WindowRule | None = None  # None: not read yet
    refused_until: float = 0.0


SERVERS: dict[str, Server] = {}
LOCK = threading.Lock()
VERSION_LOCK = threading.Lock()


# SERVERS as graph/memory.py keeps caches: what a build in a forked child learnt of a
# server (its version, a refusal) is handed back to the process that lives on, so that a
# refusing server is not asked again on every tick. CHANGED grows with each thing learnt.
CHANGED = [0]
memory.keep_locked("remote read servers", SERVERS, LOCK, lambda: CHANGED[0])
# Fallbacks since the dashboard last took them (take_fallbacks), by kind.
FALLBACKS: Counter[str] = Counter()
_decoder: list[str | None] = []  # [why it cannot be imported, or None], once known


def decoder_missing() -> str | None:
    """Why the compiled decoder (graph/*.pyx, built by `make setup`) cannot be imported,
    or None when it can."""
    if not _decoder:
        why = None
        for name in COMPILED:
            try:
                importlib.import_module(f"graph.{name}")
            except ImportError as exc:
                why = (f"graph/{name}.pyx is not compiled ({exc}); `make setup` compiles it "
                       "(it needs gcc and Python's headers)")
                break
        _decoder.append(why)
    return _decoder[0]


def take_fallbacks() -> dict[str, int]:
    """The fallbacks to PromQL counted since the last call, by kind (for /metrics)."""
    with LOCK:
        taken = dict(FALLBACKS)
        FALLBACKS.clear()
    return taken


def forget() -> None:
    """Forget every server's version and refusal (tests)."""
    with LOCK:
        SERVERS.clear()


class RemoteReads:
    """The remote reads of one client: its setting, its server's URL, and its `call`
    (graph/prometheus.py's Prometheus.call, which maps a server that cannot be reached
    to PrometheusUnavailable)."""

    def __init__(self, mode: str, url: str, call: Call) -> None:
        if mode not in MODES:
            raise ValueError(f"{SETTING} must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode, self.url, self.call = mode, url, call

    def fetch(self, query: Query, at: int) -> list[Row] | None:
        """The query's answer by remote read (rows as its PromQL's), or None when it is to
        be sent as PromQL."""
        if query.remote is None or self.mode == "off":
            return None
        try:
            rule = self.rule()
            if rule is None:
                return None
            return self.read(query, at, rule)
        except RemoteReadRefused as exc:
            if self.mode == "on":
                raise self.error(exc) from exc
            self.refuse(exc)
            return None

    def rule(self) -> WindowRule | None:
        """The server's window rule; None while its queries go as PromQL (auto)."""
        missing = decoder_missing()
        if missing is not None:
            raise RemoteReadRefused(f"remote read cannot be decoded here: {missing}",
                                    "decoder")
        with LOCK:
            server = SERVERS.setdefault(self.url, Server())
            if server.refused_until > time.monotonic() and self.mode == "auto":
                return None
            rule = server.rule
        if rule is None:
            # One thread asks the server's version; the batch's others wait for its answer.
            with VERSION_LOCK:
                if server.refused_until > time.monotonic() and self.mode == "auto":
                    return None  # the thread that asked was refused
                rule = server.rule or self.read_rule()
                with LOCK:
                    server.rule = rule
                    CHANGED[0] += 1
        return rule

    def read_rule(self) -> WindowRule:
        response = self.call("GET", "/api/v1/status/buildinfo")
        try:
            data = successful_body(response, self.url)["data"]
            application = str(data.get("application", "Prometheus"))
            version = str(data["version"])
        except (PrometheusError, *SHAPE_ERRORS) as exc:
            raise RemoteReadRefused(f"its version cannot be read from "
                                    f"/api/v1/status/buildinfo ({exc})", "version") from exc
        rule = rule_for_version(version) if "prometheus" in application.lower() else None
        if rule is None:
            raise RemoteReadRefused(f"{application} {version} is not a Prometheus version "
                                    "whose rate rule is known here", "version")
        return rule

    def read(self, query: Query, at: int, rule: WindowRule) -> list[Row]:
        from graph import remote_read  # numpy, cramjam: only where remote read is used

        assert query.remote is not None
        start, end = query.remote.window_ms(at, rule)
        request = remote_read.read_request(query.remote.metric, query.remote.matchers,
                                           start, end)
        response = self.call("POST", "/api/v1/read", data=request,
                             headers=remote_read.HEADERS)
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200:
            raise RemoteReadRefused(f"/api/v1/read answered HTTP {response.status_code}: "
                                    f"{response.text[:120]!r}", f"http-{response.status_code}")
        if not content_type.startswith("application/x-protobuf"):
            raise RemoteReadRefused(f"/api/v1/read answered {content_type or 'no content type'}"
                                    ", not remote read's protobuf", "answer")
        try:
            return remote_read.read_rows(query.remote, query.wire_labels(), content_type,
                                         response.content, at, rule)
        except remote_read.DecodeError as exc:
            raise RemoteReadRefused(str(exc), "answer") from exc

    def refuse(self, exc: RemoteReadRefused) -> None:
        """Send this server's queries as PromQL for a while; say so once."""
        now = time.monotonic()
        with LOCK:
            server = SERVERS.setdefault(self.url, Server())
            first = server.refused_until <= now
            if first:
                server.refused_until = now + REFUSED_FOR_S
                server.rule = None  # read again when tried again
                FALLBACKS[exc.kind] += 1
                CHANGED[0] += 1
        if first:
            log.warning("Prometheus at %s: remote read not used for %.0f s, queries sent as "
                        "PromQL instead (%s=auto): %s", self.url, REFUSED_FOR_S, SETTING, exc)

    def error(self, exc: RemoteReadRefused) -> PrometheusError:
        message = f"Prometheus at {self.url}: remote read ({SETTING}=on) failed: {exc}"
        if exc.kind == "http-429" or exc.kind.startswith("http-5"):
            return PrometheusUnavailable(message)
        return PrometheusBadAnswer(message)
