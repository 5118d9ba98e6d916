"""The WebSocket consumer of /ws/graph: join the scope's group, keep it live, send graphs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from dashboard import auth, live, publish
from graph.options import OptionError, graph_options_from_query


class GraphConsumer(AsyncWebsocketConsumer):
    scope_key = ""
    group = ""
    keepalive: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        if not auth.allowed(self.scope.get("user")):
            await self.send(text_data=publish.error_message(
                "sign in first (MESHLENS_AUTH=login)", stale=False))
            await self.close(code=4401)
            return
        # Bytes that are not UTF-8 become U+FFFD, which no parameter accepts: a clear error.
        query = dict(parse_qsl(self.scope["query_string"].decode(errors="replace")))
        try:
            if "query_time" in query:
                raise OptionError("query_time", "a live graph is always now; use /api/v1/graph")
            options = graph_options_from_query(query)
        except OptionError as exc:
            await self.send(text_data=publish.error_message(str(exc), stale=False))
            await self.close(code=4400)
            return
        self.scope_key = options.scope_key()
        self.group = live.group_name(self.scope_key)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await sync_to_async(live.mark_live)(self.scope_key)
        self.keepalive = asyncio.create_task(self.keep_live())
        await self.send_first()

    async def send_first(self) -> None:
        """The cached graph at once; then a fresh one if the cache is missing or old."""
        cached = await sync_to_async(live.load)(self.scope_key)
        if cached is not None:
            await self.send(text_data=publish.snapshot_message(cached.graph))
            if cached.stale:
                await self.send(text_data=publish.error_message(cached.error))
        max_age = 2 * settings.MESHLENS_REFRESH_SECONDS
        if cached is not None and time.time() - cached.updated < max_age:
            return
        # Whoever holds the lock publishes to the whole group, this viewer included.
        if await sync_to_async(live.acquire)(self.scope_key, 60):
            try:
                await sync_to_async(publish.refresh)(self.scope_key)
            finally:
                await sync_to_async(live.release)(self.scope_key)

    async def keep_live(self) -> None:
        period = max(5, settings.MESHLENS_LIVE_TTL_SECONDS // 3)
        while True:
            await asyncio.sleep(period)
            await sync_to_async(live.mark_live)(self.scope_key)

    async def disconnect(self, code: int) -> None:
        if self.keepalive is not None:
            self.keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keepalive
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients may ping; any message renews the scope."""
        if self.scope_key:
            await sync_to_async(live.mark_live)(self.scope_key)

    async def graph_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
