"""Meshlens's own metrics, served at /metrics in Prometheus's text format.

Builds run in the Celery worker (in its pool's child processes), viewers are connected to
daphne, and /metrics is answered by whichever web process gets the request: counters kept
in each process's memory would each see a part. Every Meshlens process already shares one
Redis (cache, broker, channel layer), wherever it runs, so the counts live there: each
build adds to a Redis hash in one pipelined round trip, messages are tallied in memory and
added once a second, and a collector reads the hash when /metrics is scraped.
(prometheus_client's multiprocess mode would need a directory shared by every process, on
one machine, wiped at each start, and gauges of processes that died without saying so
would linger.) Viewers are a sorted set of
WebSocket channels, each with an expiry its consumer keeps renewing, so that the viewers
of a web process that was killed drop out by themselves.

The names and label sets are documented in the README ("Metrics").
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from dashboard import live
from graph import remote_servers
from graph.build import BuildTimings

log = logging.getLogger(__name__)

HASH_KEY = "meshlens:metrics"
VIEWERS_KEY = "meshlens:metrics:viewers"
# Separates a field's parts in the hash; no metric name or label value holds it.
SEP = "\t"

SECONDS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGES = ("query", "traffic", "merge", "appenders", "serialise", "total")


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # counter, histogram or gauge
    help: str
    labels: tuple[str, ...] = ()


BUILD_SECONDS = Definition(
    "meshlens_build_seconds", "histogram",
    "Seconds per graph build, by stage: query (waiting on Prometheus), traffic, merge "
    "(merge, finalizers, health), appenders, serialise (graph to JSON elements), total",
    ("stage",))
QUERY_SECONDS = Definition(
    "meshlens_prometheus_query_seconds", "histogram",
    "Seconds from sending a build's query batch to each answer, by query kind", ("kind",))
ROWS = Definition("meshlens_prometheus_rows", "counter",
                  "Rows (series) read from Prometheus by graph builds, by query kind", ("kind",))
FAILURES = Definition("meshlens_build_failures", "counter",
                      "Graph builds that failed because Prometheus could not answer")
SKIPPED = Definition("meshlens_refreshes_skipped", "counter",
                     "Refresh ticks skipped because the scope's previous build was still running")
MESSAGES = Definition("meshlens_messages_sent", "counter",
                      "WebSocket messages sent to viewers, by message type", ("type",))
BYTES = Definition("meshlens_sent_bytes", "counter",
                   "Bytes of WebSocket messages sent to viewers, by message type", ("type",))
LIVE_SCOPES = Definition("meshlens_live_scopes", "gauge",
                         "Scopes watched now (rebuilt at every refresh)")
VIEWERS = Definition("meshlens_viewers", "gauge", "WebSockets connected now")
REDIS_UP = Definition("meshlens_metrics_redis_up", "gauge",
                      "1 if the metrics could be read from Redis, else 0")
REMOTE_FALLBACKS = Definition(
    "meshlens_remote_read_fallbacks", "counter",
    "Times a Prometheus refused remote read and its queries went as PromQL for a while "
    "(MESHLENS_REMOTE_READ=auto), by reason: http-<status>, answer, version, decoder",
    ("reason",))
DEFINITIONS = (BUILD_SECONDS, QUERY_SECONDS, ROWS, FAILURES, SKIPPED, MESSAGES, BYTES,
               LIVE_SCOPES, VIEWERS, REDIS_UP, REMOTE_FALLBACKS)


def field(name: str, part: str, labels: Iterable[str]) -> str:
    return SEP.join((name, part, *labels))


class Batch:
    """Updates sent to Redis in one pipelined round trip. Metrics never break what they
    measure: when Redis fails, the updates are dropped (and logged)."""

    def __init__(self) -> None:
        self.pipe = live.client().pipeline(transaction=False)

    def add(self, metric: Definition, value: float, *labels: str) -> None:
        self.pipe.hincrbyfloat(HASH_KEY, field(metric.name, "", labels), value)

    def observe(self, metric: Definition, seconds: float, *labels: str) -> None:
        self.pipe.hincrbyfloat(HASH_KEY, field(metric.name, "sum", labels), seconds)
        self.pipe.hincrby(HASH_KEY, field(metric.name, "count", labels), 1)
        # Buckets are cumulative, as the exposition format wants them.
        for le in SECONDS_BUCKETS:
            if seconds <= le:
                self.pipe.hincrby(HASH_KEY, field(metric.name, "bucket", (*labels, str(le))), 1)

    def send(self) -> None:
        try:
            self.pipe.execute()
        except redis.RedisError as exc:
            log.debug("metrics not recorded: %s", exc)
            forget_frames(exc)


def forget_frames(exc: BaseException | None) -> None:
    """Clear the locals of the finished frames an exception's traceback (and those of the
    exceptions it chains) holds. redis-py keeps the error it raises in a local of a frame
    on its own traceback: a reference cycle, and every frame it holds links to its caller's,
    up to the build that recorded its metrics, whose graph and JSON then stay alive until
    the collector walks them (at 1,000 workloads 59,000 objects, 63 ms on the request)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


# --- recording --------------------------------------------------------------------------


def record_build(timings: BuildTimings | None, serialise_s: float, total_s: float) -> None:
    """One build: its stages (from graph.build's timings), its queries and rows."""
    batch = Batch()
    stages = dict(timings.stages) if timings else {}
    stages.update(serialise=serialise_s, total=total_s)
    for stage, seconds in stages.items():
        batch.observe(BUILD_SECONDS, seconds, stage)
    for kind, seconds, rows in timings.queries if timings else ():
        batch.observe(QUERY_SECONDS, seconds, kind)
        batch.add(ROWS, rows, kind)
    for reason, times in remote_servers.take_fallbacks().items():
        batch.add(REMOTE_FALLBACKS, times, reason)
    batch.send()


def count(metric: Definition, value: float = 1.0, *labels: str) -> None:
    batch = Batch()
    batch.add(metric, value, *labels)
    batch.send()


def build_failed() -> None:
    count(FAILURES)


def refresh_skipped() -> None:
    count(SKIPPED)


MESSAGE_TYPE = re.compile(r'"type"\s*:\s*"([A-Za-z0-9_.-]{1,40})"')
FLUSH_SECONDS = 1.0


class MessageTally:
    """The messages and bytes this process has sent, by message type, added to Redis once a
    second by a thread of its own: a refresh sends one message to every viewer, and a Redis
    round trip for each (from a thread, as the consumer must not block) would cost more
    than the message. What is not yet flushed when a process dies is lost: at most a
    second of counts."""

    def __init__(self, interval: float = FLUSH_SECONDS) -> None:
        self.interval = interval
        self.lock = threading.Lock()
        self.pending: dict[str, list[float]] = {}  # type -> [messages, bytes]
        self.flusher_pid: int | None = None

    def add(self, kind: str, size: int) -> None:
        with self.lock:
            counts = self.pending.get(kind)
            if counts is None:
                counts = self.pending[kind] = [0, 0]
            counts[0] += 1
            counts[1] += size
            if self.flusher_pid != os.getpid():  # none yet, or one left in a parent process
                self.flusher_pid = os.getpid()
                threading.Thread(target=self.run, name="metrics-flush", daemon=True).start()

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
        if not pending:
            return
        batch = Batch()
        for kind, (messages, size) in pending.items():
            batch.add(MESSAGES, messages, kind)
            batch.add(BYTES, size, kind)
        batch.send()

    def run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - metrics never stop the process they measure
                log.exception("metrics: flush failed")


TALLY = MessageTally()
atexit.register(TALLY.flush)


def message_sent(text: str | None, data: bytes | None = None) -> None:
    """A message sent to one viewer; its type read from the start of its JSON. Counted in
    memory (no I/O: safe to call from the event loop), flushed by MessageTally."""
    if text is not None:
        found = MESSAGE_TYPE.search(text, 0, 200)
        size = len(text) if text.isascii() else len(text.encode())
    else:
        found, size = None, len(data or b"")
    TALLY.add(found.group(1) if found else "other", size)


def viewer_ttl() -> int:
    return int(settings.MESHLENS_LIVE_TTL_SECONDS)


def viewer_seen(channel_name: str) -> None:
    with contextlib.suppress(redis.RedisError):
        live.client().zadd(VIEWERS_KEY, {channel_name: time.time() + viewer_ttl()})


def viewer_left(channel_name: str) -> None:
    with contextlib.suppress(redis.RedisError):
        live.client().zrem(VIEWERS_KEY, channel_name)


class CountedConsumer:
    """Mix into a Channels WebSocket consumer (before AsyncWebsocketConsumer) to count it
    as a viewer from accept to disconnect, and every message it sends."""

    channel_name: str
    _viewer_renewal: asyncio.Task[None] | None = None

    async def accept(self, subprotocol: str | None = None,
                     headers: Any = None) -> None:
        await super().accept(subprotocol, headers)  # type: ignore[misc]
        await sync_to_async(viewer_seen, thread_sensitive=False)(self.channel_name)
        self._viewer_renewal = asyncio.create_task(self._renew_viewer())

    async def _renew_viewer(self) -> None:
        while True:
            await asyncio.sleep(max(1, viewer_ttl() // 3))
            await sync_to_async(viewer_seen, thread_sensitive=False)(self.channel_name)

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None,
                   close: bool = False) -> None:
        await super().send(text_data=text_data, bytes_data=bytes_data,  # type: ignore[misc]
                           close=close)
        if text_data is not None or bytes_data is not None:
            message_sent(text_data, bytes_data)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """A socket the server closes (a refused viewer) stops counting at once: its client
        may never send the disconnect that would end the renewals."""
        await self._stop_counting()
        await super().close(code, reason)  # type: ignore[misc]

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        try:
            await super().websocket_disconnect(message)  # type: ignore[misc]
        finally:
            await self._stop_counting()

    async def _stop_counting(self) -> None:
        renewal, self._viewer_renewal = self._viewer_renewal, None
        if renewal is None:
            return
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        await sync_to_async(viewer_left, thread_sensitive=False)(self.channel_name)


# --- exposition ---------------------------------------------------------------------------


class RedisCollector(Collector):
    """Reads every Meshlens process's counts from Redis at scrape time."""

    def collect(self) -> Iterator[Metric]:
        try:
            r = live.client()
            now = time.time()
            r.zremrangebyscore(VIEWERS_KEY, "-inf", now)
            raw = r.hgetall(HASH_KEY)
            gauges = {LIVE_SCOPES.name: r.zcount(live.LIVE_KEY, now, "+inf"),
                      VIEWERS.name: r.zcount(VIEWERS_KEY, now, "+inf")}
        except redis.RedisError as exc:
            log.warning("metrics: Redis cannot be read: %s", exc)
            yield GaugeMetricFamily(REDIS_UP.name, REDIS_UP.help, value=0)
            return
        values: dict[str, dict[tuple[str, ...], dict[str, float]]] = {}
        for key, value in raw.items():
            name, part, *labels = key.decode().split(SEP)
            values.setdefault(name, {}).setdefault(tuple(labels), {})[part] = float(value)
        for metric in DEFINITIONS:
            if metric is REDIS_UP:
                yield GaugeMetricFamily(REDIS_UP.name, REDIS_UP.help, value=1)
            elif metric.kind == "gauge":
                yield GaugeMetricFamily(metric.name, metric.help, value=gauges[metric.name])
            elif metric.kind == "counter":
                yield counter_family(metric, values.get(metric.name, {}))
            else:
                yield histogram_family(metric, values.get(metric.name, {}))


def counter_family(metric: Definition,
                   found: dict[tuple[str, ...], dict[str, float]]) -> CounterMetricFamily:
    family = CounterMetricFamily(metric.name, metric.help, labels=metric.labels)
    if not metric.labels and not found:
        found = {(): {"": 0.0}}
    for labels, parts in sorted(found.items()):
        family.add_metric(list(labels), parts.get("", 0.0))
    return family


def histogram_family(metric: Definition,
                     found: dict[tuple[str, ...], dict[str, float]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
    series: dict[tuple[str, ...], dict[str, float]] = {}
    buckets: dict[tuple[str, ...], dict[str, float]] = {}
    for labels, parts in found.items():
        if "bucket" in parts:  # labels end with the bucket's upper bound
            buckets.setdefault(labels[:-1], {})[labels[-1]] = parts["bucket"]
        else:
            series[labels] = parts
    for labels, parts in sorted(series.items()):
        counts = buckets.get(labels, {})
        total = parts.get("count", 0.0)
        family.add_metric(list(labels),
                          [(str(le), counts.get(str(le), 0.0)) for le in SECONDS_BUCKETS]
                          + [("+Inf", total)], parts.get("sum", 0.0))
    return family


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(RedisCollector())
# process_* of the web process that answers the scrape (its memory and CPU).
ProcessCollector(registry=REGISTRY)


def exposition() -> tuple[bytes, str]:
    """The body and content type of GET /metrics."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
