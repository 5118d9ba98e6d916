"""The clients of bench/load.py: WebSocket viewers that follow the page's protocol, and an
open-loop generator of API requests (run in a process of its own, so that its threads do
not share a GIL with the viewers' event loop and delay the times they note).

A viewer does what static/js/live.js does: it takes `graph.snapshot` (inline, or fetched
over HTTP when it comes by reference, `href`), then `graph.delta`s, each of which must apply
to the version shown (`base`); one that does not is a lost update, and the viewer
reconnects for a fresh snapshot, as the page does. It notes, for every update, the time
it came against the time the worker published it (the message's `sent`).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests
import websockets

SNAPSHOT, DELTA, ERROR, PROGRESS = "graph.snapshot", "graph.delta", "graph.error", "graph.progress"


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def spread(values: Sequence[float], scale: float = 1000.0) -> dict[str, Any]:
    """count, p50, p99 and max of `values` (seconds), in milliseconds by default."""
    def at(p: float) -> float | None:
        found = percentile(values, p)
        return None if found is None else round(found * scale, 1)

    return {"count": len(values), "p50": at(50), "p90": at(90), "p99": at(99),
            "max": None if not values else round(max(values) * scale, 1)}


@dataclass
class Viewer:
    """What one WebSocket client saw."""

    index: int
    connected_at: float = 0.0
    first_graph_s: float | None = None  # from opening the socket to its first snapshot
    version: int | None = None  # the version shown
    versions: list[int] = field(default_factory=list)  # every version shown, in order
    lags: list[tuple[int, float]] = field(default_factory=list)  # (version, publish -> here)
    ages: list[float] = field(default_factory=list)  # graph timestamp -> here (incl. build)
    fetch_s: list[float] = field(default_factory=list)  # bodies fetched by reference
    kinds: Counter[str] = field(default_factory=Counter)
    gaps: int = 0  # deltas from another version than the one shown
    reconnects: int = 0
    failures: list[str] = field(default_factory=list)


def fetch(url: str) -> float:
    start = time.perf_counter()
    response = requests.get(url, timeout=60)
    _ = response.content
    response.raise_for_status()
    return time.perf_counter() - start


async def watch(viewer: Viewer, ws_url: str, http_base: str) -> None:
    """Keep viewer `viewer` connected to `ws_url` until cancelled."""
    origin = http_base  # the page's own origin: daphne checks it against ALLOWED_HOSTS
    while True:
        opened = time.perf_counter()
        try:
            # No pings: a browser sends none, and a ping unanswered while this process is
            # busy would close the socket for the bench's sake.
            async with websockets.connect(ws_url, origin=origin, ping_interval=None,
                                          max_size=None, open_timeout=120,
                                          close_timeout=2) as ws:
                viewer.connected_at = time.time()
                viewer.version = None
                while True:
                    raw = await ws.recv(decode=False)
                    got = time.time()
                    if not await take(viewer, read(raw), got, opened, http_base):
                        break  # a lost update: reconnect for a fresh snapshot
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - noted and retried, as the page does
            viewer.failures.append(f"{type(exc).__name__}: {exc}"[:200])
            await asyncio.sleep(0.5)
        viewer.reconnects += 1


HEAD = re.compile(rb'^\{"type":"([a-z.]+)","version":(\d+)(?:,"base":(\d+))?')
TIMESTAMP = re.compile(rb'"timestamp":(\d+(?:\.\d+)?)')
SENT = re.compile(rb',"sent":(\d+(?:\.\d+)?)\}$')


def read(raw: bytes) -> dict[str, Any]:
    """The fields a viewer here needs of a message. A big graph message is read at its head
    (type, version, base, timestamp) and tail (sent) only: 200 viewers parsing every byte
    would take this process's CPU, and its delay would count as the server's lag (a browser
    parses in a process of its own)."""
    head = HEAD.match(raw) if len(raw) > 4096 else None
    if head is None:
        return orjson.loads(raw)  # type: ignore[no-any-return]
    message: dict[str, Any] = {"type": head[1].decode(), "version": int(head[2])}
    if head[3] is not None:
        message["base"] = int(head[3])
    stamp = TIMESTAMP.search(raw, 0, 400)
    if stamp:
        message["timestamp"] = float(stamp[1])
    sent = SENT.search(raw, len(raw) - 40)
    if sent:
        message["sent"] = float(sent[1])
    return message


async def take(viewer: Viewer, message: dict[str, Any], got: float, opened: float,
               http_base: str) -> bool:
    """Apply one message as the page would; False when it cannot be (reconnect)."""
    kind = message.get("type", "?")
    viewer.kinds[kind] += 1
    if kind not in (SNAPSHOT, DELTA):
        return True
    if kind == DELTA and message.get("base") != viewer.version:
        viewer.gaps += 1
        return False
    if "href" in message:
        viewer.fetch_s.append(await asyncio.to_thread(fetch, http_base + message["href"]))
    version = int(message["version"])
    if "sent" in message:
        viewer.lags.append((version, got - float(message["sent"])))
    timestamp = message.get("timestamp") or (message.get("graph") or {}).get("timestamp")
    if timestamp and viewer.versions:  # the first snapshot is the cached graph: not an update
        viewer.ages.append(got - float(timestamp))
    if viewer.first_graph_s is None:
        viewer.first_graph_s = time.perf_counter() - opened
    viewer.version = version
    viewer.versions.append(version)
    return True


def viewer_figures(viewers: Sequence[Viewer], since_version: int,
                   last_version: int) -> dict[str, Any]:
    """Lost updates and lag over the versions in (since_version, last_version]."""
    wanted = set(range(since_version + 1, last_version + 1))
    missed = [len(wanted - set(v.versions)) for v in viewers]
    lags = [lag for v in viewers for version, lag in v.lags if version in wanted]
    by_version: dict[int, list[float]] = {}
    for v in viewers:
        for version, lag in v.lags:
            if version in wanted:
                by_version.setdefault(version, []).append(lag)
    # How long one update takes to reach every viewer after the first: the fan-out's part.
    fan_out = [max(lags) - min(lags) for lags in by_version.values()]
    ages = [age for v in viewers for age in v.ages]
    kinds: Counter[str] = Counter()
    for v in viewers:
        kinds.update(v.kinds)
    return {
        "viewers": len(viewers),
        "updates_published": len(wanted),
        "updates_expected": len(wanted) * len(viewers),
        "updates_lost": sum(missed),
        "viewers_that_lost_any": sum(1 for m in missed if m),
        "deltas_from_another_version": sum(v.gaps for v in viewers),
        "reconnects": sum(v.reconnects for v in viewers),
        "failures": sorted({f for v in viewers for f in v.failures})[:10],
        "update_lag_ms": spread(lags),
        # From the worker's publish to the first viewer of each update: Redis, the channel
        # layer and daphne before any fan-out.
        "first_viewer_lag_ms": spread([min(lags) for lags in by_version.values()]),
        "fan_out_spread_ms": spread(fan_out),
        "graph_age_at_arrival_ms": spread(ages),
        "fetched_by_reference_ms": spread([s for v in viewers for s in v.fetch_s]),
        "messages_by_type": dict(kinds),
    }


# --- the API load ------------------------------------------------------------------------


_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session  # type: ignore[no-any-return]


def one_request(kind: str, url: str, due: float) -> dict[str, Any]:
    sent = time.perf_counter()
    try:
        response = session().get(url, timeout=60)
        _ = response.content
        status = response.status_code
    except requests.RequestException as exc:
        status = f"{type(exc).__name__}"  # type: ignore[assignment]
    return {"kind": kind, "status": status, "late_s": sent - due, "due": due,
            "latency_s": time.perf_counter() - sent}


def api_load(urls: dict[str, str], rate: float, seconds: float, start_at: float,
             threads: int = 300) -> list[dict[str, Any]]:
    """GET the `urls` in turn, `rate` a second for `seconds` from wall time `start_at`, on a
    fixed schedule whatever the answers take (open loop: a slow answer does not hold the
    next request back, so a slow server shows as latency, not as fewer requests)."""
    kinds = list(urls)
    total = int(rate * seconds)
    base = time.perf_counter() + max(0.0, start_at - time.time())
    futures = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for i in range(total):
            due = base + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            kind = kinds[i % len(kinds)]
            futures.append(pool.submit(one_request, kind, urls[kind], due))
        return [f.result() for f in futures]


def api_figures(results: Sequence[dict[str, Any]], bucket_s: float = 10) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not results:
        return out
    start = min(r["due"] for r in results)
    buckets: dict[int, list[float]] = {}
    for r in results:
        buckets.setdefault(int((r["due"] - start) // bucket_s), []).append(r["latency_s"])
    out["p99_ms_by_10_s"] = [spread(buckets[b])["p99"] for b in sorted(buckets)]
    for kind in sorted({r["kind"] for r in results}) + ["all"]:
        mine = [r for r in results if kind in ("all", r["kind"])]
        statuses = Counter(str(r["status"]) for r in mine)
        out[kind] = {"latency_ms": spread([r["latency_s"] for r in mine]),
                     "errors": sum(n for s, n in statuses.items() if s != "200"),
                     "statuses": dict(statuses),
                     "sent_late_p99_ms": spread([r["late_s"] for r in mine])["p99"]}
    return out
