"""The WebSocket consumer of /ws/graph: join the scope's group, keep it live, send graphs.

A viewer gets the cached graph at once. A scope with no graph yet, or an old one, is
rebuilt: by a worker when one is alive, else here, in a thread of its own. Meanwhile a
viewer with nothing on screen hears `graph.progress` every PROGRESS_EVERY_S seconds; a
slow build never closes the socket.

Redis failing under a viewer (restarted, empty, or gone a while) closes its socket, so
that the page reconnects, with its backoff, and subscribes afresh: a consumer that cannot
join its group, whose group messages fail, or that hears no update for a whole renewal
period while its scope's cached graph is a version it was not sent (its messages lost on
the way: a subscription that Redis forgot, a channel layer stuck after a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl

import redis
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections

from dashboard import access, access_live, auth, live, metrics, publish, retention, sources, tasks
from dashboard.layer_calls import group_calls
from graph import access as graph_access
from graph.kiali_params import ForbiddenNamespace
from graph.options import GraphOptions, OptionError, graph_options_from_query

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 2.0
# Closes the socket of a viewer whose subscription failed: the page reconnects (any code but
# 4400 and 4401) and gets the current snapshot. (Daphne takes 1000 or 3000-4999 only.)
RESUBSCRIBE = 4503
REDIS_DOWN = live.REDIS_ERRORS
# How often a client's messages may renew its scope's liveness.
RENEW_EVERY_S = 1.0
P = ParamSpec("P")
T = TypeVar("T")

# Builds this process runs for viewers while no worker is alive. Kept here, not on a
# consumer: a build goes on when the viewer who asked for it leaves, for the others.
LOCAL_BUILDS: set[asyncio.Task[None]] = set()


def describe(options: GraphOptions) -> str:
    names = options.namespaces
    if len(names) <= 3:
        return ", ".join(names)
    return f"{len(names)} namespaces"


def off_loop(work: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """`work` (Redis round trips, no database) in a thread of the pool. sync_to_async's
    default, thread_sensitive, runs every consumer's calls in one thread, one after another:
    200 viewers connecting at once waited on each other's (bench/load.py)."""
    return sync_to_async(work, thread_sensitive=False)


def refresh_here(scope_key: str, token: str) -> None:
    try:
        # Logged and reported to the viewers already; this thread has no one else to tell.
        with contextlib.suppress(Exception):
            tasks.refresh_holding(scope_key, token)
    finally:
        close_old_connections()


def build_here(scope_key: str, token: str) -> None:
    task = asyncio.create_task(
        sync_to_async(refresh_here, thread_sensitive=False)(scope_key, token))
    LOCAL_BUILDS.add(task)
    task.add_done_callback(LOCAL_BUILDS.discard)


class GraphConsumer(access_live.AccessWatch, metrics.CountedConsumer, AsyncWebsocketConsumer):
    scope_key = ""
    group = ""
    options: GraphOptions | None = None
    background: tuple[asyncio.Task[None], ...] = ()
    watch: asyncio.Task[None] | None = None  # take_over_unless_picked_up
    # Graph messages (snapshots, deltas) and errors this viewer got from its group.
    updates = 0
    shown = 0  # the version of the last graph sent
    errors = 0
    renewed_at = -RENEW_EVERY_S  # when a client's message last renewed the scope

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the consumer; whatever ends it, its background work ends too. Channels calls
        disconnect() only when the client leaves: a consumer whose channel layer failed
        (Redis gone) would leave its renewals running, keeping its scope live forever."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stop_background()

    async def connect(self) -> None:
        await self.accept()
        if not auth.allowed(self.scope.get("user")):
            await self.send(text_data=publish.error_message(
                "sign in first (MESHLENS_AUTH=login)", stale=False))
            await self.close(code=4401)
            return
        await self.watch_access()  # before the access is read: a change meanwhile is heard
        # Bytes that are not UTF-8 become U+FFFD, which no parameter accepts: a clear error.
        query = dict(parse_qsl(self.scope["query_string"].decode(errors="replace")))
        try:
            if "query_time" in query:
                raise OptionError("query_time", "a live graph is always now; use /api/v1/graph")
            self.options = graph_options_from_query(query)
            retention.check(self.options.duration, None, ask=False)
            if self.options.sources or self.options.dialects:  # named in the admin's table
                await sync_to_async(sources.selected)(self.options)
            # The viewer's namespaces, never the query's: a limited viewer's graph is a
            # scope of its own, redacted when built.
            patterns = await sync_to_async(access.user_patterns)(self.scope.get("user"))
            graph_access.check(self.options.namespaces, patterns)
            self.options = replace(self.options, access=access.scoped(patterns))
        except ForbiddenNamespace as exc:
            await self.send(text_data=publish.error_message(str(exc), stale=False))
            await self.close(code=4403)
            return
        except OptionError as exc:
            await self.send(text_data=publish.error_message(str(exc), stale=False))
            await self.close(code=4400)
            return
        self.scope_key = self.options.scope_key()
        self.group = live.group_name(self.scope_key)
        try:
            async with group_calls():
                await self.channel_layer.group_add(self.group, self.channel_name)
        except REDIS_DOWN as exc:
            await self.send(text_data=publish.error_message(
                f"live updates (Redis) cannot be reached: {type(exc).__name__}"))
            await self.close(code=RESUBSCRIBE)
            return
        # The cached graph goes before any message of the group: this handler runs to its
        # end before the consumer reads the group's messages.
        cached = await self.send_cached()
        self.shown = cached.version if cached is not None else 0
        self.background = (asyncio.create_task(self.keep_live()),
                           asyncio.create_task(self.until_fresh(self.options, cached)),
                           asyncio.create_task(self.recheck_access()))

    async def send_cached(self) -> live.Cached | None:
        try:
            cached = await off_loop(live.load)(self.scope_key)
            if cached is None:
                return None
            text = await off_loop(publish.cached_snapshot_message)(self.scope_key, cached)
        except redis.RedisError as exc:
            await self.send(text_data=publish.error_message(
                f"the graph cache (Redis) cannot be reached: {type(exc).__name__}"))
            return None
        await self.send(text_data=text)
        if cached.stale:
            await self.send(text_data=publish.error_message(cached.error))
        return cached

    async def until_fresh(self, options: GraphOptions, cached: live.Cached | None) -> None:
        """Have the scope built when its graph is missing or old, and tell a viewer who
        has nothing on screen how long it has been, until a graph comes."""
        max_age = 2 * settings.MESHLENS_REFRESH_SECONDS
        if cached is not None and time.time() - cached.updated < max_age:
            return
        started = time.monotonic()
        retry_s = max(settings.MESHLENS_REFRESH_SECONDS, PROGRESS_EVERY_S)
        next_request = started
        errors_at_request = self.errors
        while self.updates == 0:
            now = time.monotonic()
            if now >= next_request:
                next_request = now + retry_s
                errors_at_request = self.errors
                await self.request_build()
            if cached is not None:
                return  # a graph is on screen: one request for a fresher one is enough
            # Progress while the build asked for can still succeed; after an error the
            # viewer reads the error until the next try.
            if self.errors == errors_at_request:
                await self.send(text_data=publish.progress_message(
                    f"Building the graph of {describe(options)}… {now - started:.0f} s",
                    now - started))
            await asyncio.sleep(PROGRESS_EVERY_S)

    async def request_build(self) -> None:
        try:
            where, token = await off_loop(tasks.request_refresh)(self.scope_key)
        except REDIS_DOWN as exc:
            log.warning("scope %s: cannot ask for a build: %s", self.scope_key, exc)
            return
        if where == tasks.HERE:
            build_here(self.scope_key, token)
        elif where == tasks.QUEUED:
            self.watch = asyncio.create_task(self.take_over_unless_picked_up(token))

    async def take_over_unless_picked_up(self, token: str) -> None:
        """Build here a refresh queued for this viewer that no worker began in time."""
        await asyncio.sleep(tasks.PICKUP_S)
        if self.updates:
            return
        try:
            mine = await off_loop(tasks.take_over)(self.scope_key, token)
        except REDIS_DOWN as exc:
            log.warning("scope %s: cannot take over a queued build: %s", self.scope_key, exc)
            return
        if mine is not None:
            log.info("scope %s: no worker began the build in %.0f s: building here",
                     self.scope_key, tasks.PICKUP_S)
            build_here(self.scope_key, mine)

    async def keep_live(self) -> None:
        """Renew the scope (and this viewer's place in its group: a Redis that came back
        empty forgot both) every period, and close the socket when the scope's cached graph
        was a version this viewer had not been sent at two checks in a row, with no update
        reaching it in between: the page then reconnects and subscribes afresh (see the
        module docstring)."""
        period = max(5, settings.MESHLENS_LIVE_TTL_SECONDS // 3)
        behind_at: int | None = None  # self.updates at the last check that found it behind
        while True:
            try:
                await off_loop(live.mark_live)(self.scope_key)
                async with group_calls():
                    await self.channel_layer.group_add(self.group, self.channel_name)
                cached = await off_loop(live.load)(self.scope_key)
            except REDIS_DOWN as exc:
                log.warning("scope %s: cannot renew: %s", self.scope_key, exc)
            else:
                behind = cached is not None and cached.version != self.shown
                if behind and behind_at == self.updates:
                    log.warning("scope %s: no update reached a viewer in %d s while the "
                                "graph moved on: closing its socket for it to subscribe "
                                "again", self.scope_key, period)
                    await self.close(code=RESUBSCRIBE)
                    return
                behind_at = self.updates if behind else None
            await asyncio.sleep(period)

    async def stop_background(self) -> None:
        running = (*self.background, *((self.watch,) if self.watch else ()))
        self.background, self.watch = (), None
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_counting()

    async def disconnect(self, code: int) -> None:
        await self.stop_background()
        if self.group:
            with contextlib.suppress(*REDIS_DOWN):
                async with group_calls():
                    await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.unwatch_access()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients may ping; any message renews the scope, at most once per RENEW_EVERY_S
        (a client sending a flood of messages costs Redis no more than one that pings).
        What a message says is never read: none is answered."""
        now = time.monotonic()
        if self.scope_key and now - self.renewed_at >= RENEW_EVERY_S:
            self.renewed_at = now
            with contextlib.suppress(redis.RedisError):
                await off_loop(live.mark_live)(self.scope_key)

    async def graph_message(self, event: dict[str, Any]) -> None:
        version = event.get("version")
        if version is not None:
            if version <= self.shown:
                # Published after this viewer joined the group but read from the cache
                # before: the snapshot sent on connecting has it already, and a delta to it
                # would not apply (the page would reconnect).
                return
            self.shown = version
        kind = event.get("kind")
        if kind in (publish.SNAPSHOT, publish.DELTA):
            self.updates += 1
        elif kind == publish.ERROR:
            self.errors += 1
        await self.send(text_data=event["text"])
