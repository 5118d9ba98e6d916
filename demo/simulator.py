"""The traffic model: advances Istio's counters (Linkerd's for a Linkerd workload: see
demo/linkerd.py) as if the mesh served requests.

Every tick, each request edge serves a Poisson-distributed number of requests for the
time that passed, so Prometheus's `rate()` comes out near the edge's configured rate.
Each request ends well, with the edge's small background share of 404s, or with the
outcome of the fault in force on its edge. Both proxies report it: the client's
(`reporter="source"`, unless the client has no sidecar) and the server's
(`reporter="destination"`, unless the request never reached it).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator

from demo import linkerd, servicegraph
from demo.faults import NOT_FOUND, FaultTable, Outcome, ok
from demo.telemetry import MetricStore, label_values, peer_labels, request_labels
from demo.topologies import UNKNOWN, Mesh, RequestEdge, TcpEdge

ERROR_BYTES = 95.0  # an Envoy "upstream connect error" or a short error page
NETWORK_MS = (0.2, 1.0)  # what the client proxy adds to the server's latency


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw; the normal approximation above 50 is plenty for traffic counts."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def lognormal(rng: random.Random, mean: float, spread: float) -> float:
    """A positive draw with the given mean and standard deviation."""
    sigma2 = math.log(1 + (spread / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


class Simulator:
    """Owns the metric store and moves it forward; `advance()` is one tick."""

    def __init__(self, mesh: Mesh, faults: FaultTable | None = None,
                 cluster: str = "Kubernetes", seed: int | None = None) -> None:
        self.mesh = mesh
        self.faults = faults or FaultTable(mesh)
        self.cluster = cluster
        self.store = MetricStore()
        self._rng = random.Random(seed)
        self._labels: dict[tuple[tuple[str, str], str, Outcome], dict[str, str]] = {}
        self._open: dict[tuple[str, str], int] = {e.key: 0 for e in mesh.tcp}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.advance(0.0)  # every healthy series exists from the first scrape

    @staticmethod
    def reporters(edge: RequestEdge | TcpEdge, outcome: Outcome | None = None) -> Iterator[str]:
        if edge.source is not UNKNOWN:
            yield "source"
        if outcome is None or outcome.reached:
            yield "destination"

    def labels(self, edge: RequestEdge, reporter: str, outcome: Outcome) -> dict[str, str]:
        key = (edge.key, reporter, outcome)
        cached = self._labels.get(key)
        if cached is None:
            cached = self._labels[key] = request_labels(edge, reporter, self.cluster, outcome)
        return cached

    def advance(self, seconds: float) -> None:
        """Serve `seconds` worth of traffic on every edge."""
        with self.faults.frozen() as active, self.store.batch():
            for edge in self.mesh.requests:
                self._serve(edge, seconds, active.get(edge.key))
            for tcp in self.mesh.tcp:
                self._stream(tcp, seconds)

    def _outcomes(self, edge: RequestEdge, count: int,
                  fault: tuple[float, Outcome] | None) -> dict[Outcome, int]:
        healthy = ok(edge)
        counts = {healthy: 0}
        for _ in range(count):
            if fault and self._rng.random() < fault[0]:
                outcome = fault[1]
            elif edge.not_found and self._rng.random() < edge.not_found:
                outcome = NOT_FOUND
            else:
                outcome = healthy
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def _serve(self, edge: RequestEdge, seconds: float,
               fault: tuple[float, Outcome] | None) -> None:
        count = poisson(self._rng, edge.rate * seconds)
        for outcome, n in self._outcomes(edge, count, fault).items():
            failed = outcome != ok(edge)
            latency = [self._latency(edge, outcome) for _ in range(n)]
            if edge.connection_type is not None:  # seen through traces, not by proxies
                client = [ms + self._rng.uniform(*NETWORK_MS) for ms in latency]
                servicegraph.record(self.store, edge, servicegraph.trace_labels(edge, failed),
                                    n, latency, client)
                continue
            if linkerd.is_linkerd(edge):
                self._record_linkerd(edge, outcome, n, latency)
                continue
            sent = [self._size(edge.request_bytes) for _ in range(n)]
            received = [self._size(ERROR_BYTES if failed else edge.response_bytes)
                        for _ in range(n)]
            for reporter in self.reporters(edge, outcome):
                labels = self.labels(edge, reporter, outcome)
                if reporter == "source":  # the client also waits on the network
                    observed = [ms + self._rng.uniform(*NETWORK_MS) for ms in latency]
                else:
                    observed = latency
                self._record(edge, labels, n, observed, sent, received, failed)

    def _record(self, edge: RequestEdge, labels: dict[str, str], n: int,
                latency: list[float], sent: list[float], received: list[float],
                failed: bool) -> None:
        store = self.store
        values = label_values(labels, "istio_requests_total")
        store.add("istio_requests_total", values, n)
        store.observe("istio_request_duration_milliseconds", values, latency)
        store.observe("istio_request_bytes", values, sent)
        store.observe("istio_response_bytes", values, received)
        if edge.protocol == "grpc":  # unary calls: one message each way, none on failure
            messages = label_values(labels, "istio_request_messages_total")
            store.add("istio_request_messages_total", messages, n)
            store.add("istio_response_messages_total", messages, 0 if failed else n)

    def _record_linkerd(self, edge: RequestEdge, outcome: Outcome, n: int,
                        latency: list[float]) -> None:
        """Linkerd's counts of `n` requests: each proxy that handled them counts them."""
        store = self.store
        for direction in linkerd.directions(edge, outcome):
            key = (edge.key, direction, outcome)
            labels = self._labels.get(key)
            if labels is None:
                labels = self._labels[key] = linkerd.request_labels(edge, direction, outcome)
            observed = ([ms + self._rng.uniform(*NETWORK_MS) for ms in latency]
                        if direction == "outbound" else latency)
            store.add(linkerd.REQUESTS, label_values(labels, linkerd.REQUESTS), n)
            store.add(linkerd.RESPONSES, label_values(labels, linkerd.RESPONSES), n)
            store.observe(linkerd.LATENCY, label_values(labels, linkerd.LATENCY), observed)

    def _latency(self, edge: RequestEdge, outcome: Outcome) -> float:
        if outcome.latency_ms is not None:
            return outcome.latency_ms * self._rng.uniform(1.0, 1.02)
        mean, spread = edge.latency_ms
        return lognormal(self._rng, mean * outcome.latency_factor, spread)

    def _size(self, mean: float) -> float:
        return float(round(lognormal(self._rng, mean, mean / 4)))

    def _stream(self, edge: TcpEdge, seconds: float) -> None:
        """Bytes flow on pooled connections; a few open and close every second."""
        opened = poisson(self._rng, edge.connections * seconds)
        closing = poisson(self._rng, edge.connections * seconds)
        closed = min(self._open[edge.key] + opened, closing)
        self._open[edge.key] += opened - closed
        jitter = self._rng.uniform(0.8, 1.2) if seconds else 0.0
        amounts = {
            "istio_tcp_sent_bytes_total": round(edge.sent_bytes * seconds * jitter),
            "istio_tcp_received_bytes_total": round(edge.received_bytes * seconds * jitter),
            "istio_tcp_connections_opened_total": opened,
            "istio_tcp_connections_closed_total": closed,
        }
        for reporter in self.reporters(edge):
            labels = peer_labels(edge, reporter, self.cluster)
            for family, amount in amounts.items():
                self.store.add(family, label_values(labels, family), amount)

    def start(self, interval: float = 1.0) -> threading.Thread:
        """Advance in a background thread, by the time that really passed."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="mesh-simulator", daemon=True
        )
        self._thread.start()
        return self._thread

    def _run(self, interval: float) -> None:
        last = time.monotonic()
        while not self._stop.wait(interval):
            now = time.monotonic()
            self.advance(now - last)
            last = now

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
