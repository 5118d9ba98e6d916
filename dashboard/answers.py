"""Answers the web process has a worker build: daphne keeps bytes, never a graph.

A build holds its graph, its scope's caches (row plans, layouts) and its JSON at once: at
10,000 workloads about 1 GB at its peak, and the allocator keeps most of that in the
process afterwards. The worker refreshes the live scopes and has those caches already. So
while a worker is alive, a view that must build (a past query_time, a scope not cached,
Kiali's route, the failing edges) queues `dashboard.tasks.answer` and waits for the
gzip-compressed JSON on a Redis list of its own: the web process holds only those bytes.
With no worker alive, or none that begins within PICKUP_S (a worker that just died still
has a fresh heartbeat; a busy one has not taken the task), the view builds here as before.

Who builds is settled by one key set with NX (`claim`): the worker when it begins, the view
when it gives up waiting; the other then does nothing. The worker pushes STARTED when it
begins, then the answer's status and body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple
from uuid import uuid4

import orjson
import redis
from django.conf import settings

from dashboard import access, graphs, live
from graph.access import Patterns
from graph.build import gc_paused
from graph.compression import gzipped
from graph.export_svg import GraphvizError
from graph.ids import NodeIdError
from graph.kiali_params import ForbiddenNamespace
from graph.options import OptionError
from graph.prometheus import PrometheusBadAnswer, PrometheusError, PrometheusQueryError
from graph.promql import PromQLError

log = logging.getLogger(__name__)

# How long a view waits for a worker to begin its build before it builds it itself.
PICKUP_S = 5.0
# A reply nobody reads (its view gave up) is dropped after this.
REPLY_TTL_S = 300
STARTED = b"started"
TASK = "dashboard.tasks.answer"

Query = Mapping[str, str]
# A build a worker may be asked for: (query parameters, route variables) -> JSON.
Builder = Callable[[Query, Query], bytes]
BUILDERS: dict[str, Builder] = {}
# The scope key a build's size is kept under (graphs.apart), from the same arguments.
Sizer = Callable[[Query, Query], str]
SIZERS: dict[str, Sizer] = {}


class Reply(NamedTuple):
    status: int
    body: bytes  # gzip-compressed JSON


def builder(name: str, sizer: Sizer | None = None) -> Callable[[Builder], Builder]:
    """Register a build the web process may hand to a worker under `name`; `sizer` names
    the scope it builds (without one, every such build is taken for a big one)."""

    def register(build: Builder) -> Builder:
        BUILDERS[name] = build
        if sizer is not None:
            SIZERS[name] = sizer
        return build

    return register


def scope_of(kind: str, query: Query, path: Query) -> str | None:
    """The scope key a build's size is kept under; None when it names none, or its input
    is bad (the build then says what is wrong)."""
    sizer = SIZERS.get(kind)
    if sizer is None:
        return None
    try:
        return sizer(query, path)
    except Exception:  # the same error comes again from the build itself, answered there
        return None


def status_of(exc: Exception) -> int | None:
    """The HTTP status of an error a build raises for its input or its Prometheus; None
    for any other."""
    if isinstance(exc, ForbiddenNamespace):
        return 403
    if isinstance(exc, OptionError | NodeIdError | PromQLError):
        return 400
    # Prometheus refused the query, or what answered was not Prometheus: a bad gateway.
    if isinstance(exc, PrometheusQueryError | PrometheusBadAnswer):
        return 502
    if isinstance(exc, PrometheusError | GraphvizError):
        return 503
    return None


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


def reply_key(reply_id: str) -> str:
    return f"meshlens:answer:{reply_id}"


def claim(reply_id: str, who: str) -> bool:
    """Whether `who` builds the answer: the first to ask does."""
    return bool(live.client().set(reply_key(reply_id) + ":claim", who, nx=True,
                                  ex=REPLY_TTL_S))


def worker_alive() -> bool:
    age = live.worker_age()
    return age is not None and age < 3 * settings.MESHLENS_REFRESH_SECONDS


def answer_timeout_s() -> float:
    """How long a build may take once a worker began it: its queries may each wait the
    Prometheus timeout (a few rounds of them), then the build."""
    return 3.0 * float(settings.PROMETHEUS_TIMEOUT) + 60.0


@lru_cache(maxsize=4)
def waiting_client(url: str, timeout_s: float) -> redis.Redis:
    """A client whose socket outlasts a blocking wait of `timeout_s` (live.client()'s
    gives up after 5 s)."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s + 10, socket_connect_timeout=2)


def ask_worker(kind: str, query: Query, path: Query | None = None) -> Reply | None:
    """The answer a worker built; None when this process must build it: no worker is
    alive, or none began within PICKUP_S. The worker builds within the namespaces the
    asking user or token may see (dashboard/access.py), which go with the request: any
    key an answer is found or shared by must hold them too."""
    if kind not in BUILDERS:
        raise KeyError(f"no build named {kind!r}")
    try:
        if not worker_alive():
            return None
        return wait_for_worker(kind, dict(query), dict(path or {}), access.current())
    except live.REDIS_ERRORS as exc:
        log.warning("cannot ask a worker for %s: %s; building here", kind, exc)
        return None


def wait_for_worker(kind: str, query: dict[str, str], path: dict[str, str],
                    patterns: Patterns | None = None) -> Reply | None:
    from dashboard.celery import app

    reply_id = uuid4().hex
    key = reply_key(reply_id)
    timeout = answer_timeout_s()
    waiting = waiting_client(settings.REDIS_URL, timeout)
    # None (no limit) and [] (nothing) differ: JSON keeps them apart.
    limit = None if patterns is None else list(patterns)
    app.send_task(TASK, args=(kind, query, path, reply_id), kwargs={"patterns": limit},
                  expires=REPLY_TTL_S)
    # The worker's first push is STARTED, once it has claimed the build.
    begun = waiting.blpop([key], timeout=PICKUP_S)
    if begun is None:
        if claim(reply_id, "web"):
            log.info("no worker began %s within %.0f s: building here", kind, PICKUP_S)
            return None
        begun = waiting.blpop([key], timeout=timeout)  # claimed just as this one gave up
    got = None if begun is None else waiting.blpop([key], timeout=timeout)
    if got is None:
        return Reply(503, gzipped(error_body(
            f"the worker building this graph gave no answer within {timeout:.0f} s")))
    body = waiting.lpop(key)
    waiting.delete(key)
    return Reply(int(orjson.loads(got[1])["status"]), bytes(body or b""))


def build(kind: str, query: Query, path: Query) -> tuple[int, bytes]:
    """Run a registered build: (status, JSON), its input's and Prometheus's errors as the
    views answer them."""
    try:
        return 200, BUILDERS[kind](query, path)
    except Exception as exc:
        status = status_of(exc)
        if status is None:
            log.exception("%s: the build failed", kind)
            return 500, error_body(f"the graph could not be built: {type(exc).__name__}")
        return status, error_body(str(exc))


def compressed(status: int, body: bytes) -> tuple[int, bytes]:
    return status, gzipped(body)


def run(kind: str, query: Query, path: Query, reply_id: str,
        patterns: Sequence[str] | None = None) -> None:
    """In a worker: build the answer a view asked for, unless that view builds it itself,
    within the namespaces of whoever asked (`patterns`; None: no limit)."""
    if not claim(reply_id, "worker"):
        return
    key = reply_key(reply_id)
    r = live.client()
    r.rpush(key, STARTED)
    r.expire(key, REPLY_TTL_S)
    # A big scope is built apart, as a refresh is: the worker keeps no big build's memory.
    # A forked child runs in the context it was forked in, limit included. The answer is
    # handed over before the collector runs again and the freed memory is given back, and
    # before the build's /metrics (a build here: about 30 ms at 1,000 workloads that the
    # view need not wait for).
    with access.limited_to(None if patterns is None else tuple(patterns)), gc_paused(), \
            graphs.answered_first():
        status, body = graphs.apart(lambda: compressed(*build(kind, query, path)),
                                    scope_of(kind, query, path))
        pipe = r.pipeline()
        pipe.rpush(key, orjson.dumps({"status": status}), body)
        pipe.expire(key, REPLY_TTL_S)
        pipe.execute()
