"""A bound on the channel-layer calls one process makes at once (group_add, group_discard):
the viewers' joins and leaves of their scope's group and of the access watchers' group."""

from __future__ import annotations

import asyncio
import weakref

# Channel-layer calls (group_add, group_discard) this process makes at once. channels_redis
# uses redis-py's asyncio pool, which refuses a command past 100 connections in use instead
# of waiting for one: of 200 viewers connecting at once, half lost their consumer to
# MaxConnectionsError (closed with 1011; bench/load.py). Well under that, so that the
# layer's own reads and sends always find a connection.
GROUP_CALLS = 32
_group_calls: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary())


def group_calls() -> asyncio.Semaphore:
    """The running loop's bound on channel-layer calls (a semaphore serves one loop)."""
    loop = asyncio.get_running_loop()
    bound = _group_calls.get(loop)
    if bound is None:
        bound = _group_calls[loop] = asyncio.Semaphore(GROUP_CALLS)
    return bound
