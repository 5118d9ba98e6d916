"""Replay frames built ahead by the workers (GET /api/v1/graph/frames, frame_views.py).

A replay at 1,000 workloads waits for each frame's build (about a second on a quiet
machine, several under load) when the page fetches frames ahead one or two at a time
through its own requests. Here the page names the frames it will show next, and the
workers build them side by side, as many at once as they have processes, each stored in
Redis (gzip, the API's JSON) until the page asks for it. GET /api/v1/graph?query_time=
answers from there (dashboard/builds.cached_body), and waits for a frame still being built
rather than building it a second time.

Bounded: at most MAX_FRAMES frames per request, only settled moments (a graph of the last
SETTLED_S may still change), and a frame already kept or being built is not queued again.
Without a worker alive nothing is queued: the page's own fetches build the frames. A frame
is kept under its scope's key, which holds the viewer's namespace access: a limited
viewer's frames are built limited and kept apart.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from uuid import uuid4

import redis
from django.conf import settings

from dashboard import access, answers, graphs, live, shared_answers
from dashboard.answers import Query
from graph.compression import gzipped
from graph.options import GraphOptions, OptionError

MAX_FRAMES = 8
SETTLED_S = 120
# How long a frame is kept for the page to ask for it (a replay at 1x shows 60 in a minute).
FRAME_TTL_S = 600
# How long a frame may be building before a view stops waiting for it and builds it itself.
BUILDING_S = 120
POLL_S = 0.05
TASK_KIND = "frame"


def frame_key(options: GraphOptions) -> str:
    return shared_answers.key_of("frame", {
        "scope": options.scope_key(), "at": str(options.query_time),
        "prometheus": str(settings.PROMETHEUS_URL)}, {}, None, options.access)


def settled(options: GraphOptions) -> bool:
    return options.query_time is not None and options.query_time <= time.time() - SETTLED_S


def cached_frame(options: GraphOptions) -> bytes | None:
    """The frame of these options built ahead (gzip JSON), waiting for one being built;
    None when there is none (or Redis cannot be reached)."""
    if not settled(options):
        return None
    key = frame_key(options)
    try:
        r = live.client()
        deadline = time.monotonic() + BUILDING_S
        while True:
            body = r.get(key)
            if body is not None:
                return bytes(body)
            if not r.exists(f"{key}:building") or time.monotonic() > deadline:
                return None
            time.sleep(POLL_S)
    except redis.RedisError:
        return None


def parse_times(value: str | None) -> list[int]:
    if not value:
        raise OptionError("times", "give the frames' Unix times (s), comma-separated")
    parts = value.split(",")
    if len(parts) > MAX_FRAMES:
        raise OptionError("times", f"{len(parts)} frames: at most {MAX_FRAMES} at once")
    if not all(p.isdigit() and len(p) <= 12 for p in parts):
        raise OptionError("times", f"{value[:60]!r} is not a list of Unix times (s)")
    return [int(p) for p in parts]


def prefetch(query: Mapping[str, str], times: list[int]) -> dict[str, list[int]]:
    """Queue the builds of the frames at `times` of the view `query` on the workers:
    {queued, kept, building, unsettled} by time."""
    out: dict[str, list[int]] = {"queued": [], "kept": [], "building": [], "unsettled": []}
    if not answers.worker_alive():
        return out
    from dashboard.celery import app

    # The asking user's namespaces go with each build, as with any answer a worker builds
    # (dashboard/answers.py): None (no limit) and [] (nothing) differ.
    patterns = access.current()
    limit = None if patterns is None else list(patterns)
    r = live.client()
    for t in times:
        frame_query = {**query, "query_time": str(t)}
        options = graphs.options_from_query(frame_query)
        key = frame_key(options)
        if not settled(options):
            out["unsettled"].append(t)
        elif r.exists(key):
            out["kept"].append(t)
        elif not r.set(f"{key}:building", "1", nx=True, ex=BUILDING_S):
            out["building"].append(t)
        else:
            app.send_task(answers.TASK, args=(TASK_KIND, frame_query, {}, uuid4().hex),
                          kwargs={"patterns": limit}, expires=BUILDING_S)
            out["queued"].append(t)
    return out


@answers.builder(TASK_KIND)
def frame_json(query: Query, path: Query) -> bytes:
    """In a worker: build a frame and keep it for the view that will ask for it. The reply
    (nobody waits on it) is only what was kept."""
    options = graphs.options_from_query(query)
    key = frame_key(options)
    r = live.client()
    try:
        body = graphs.graph_body(options)
        if b'"failedSources"' not in body:  # partial: asking again may give it whole
            r.set(key, gzipped(body), ex=FRAME_TTL_S)
    finally:
        r.delete(f"{key}:building")
    return b'{"kept": true}'
