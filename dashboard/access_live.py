"""Viewers who lose access while connected: a live socket stops at once.

A WebSocket's access is settled when it connects (dashboard/consumers.py): its scope holds
the viewer's namespace patterns, and its group is that scope's. When access changes (a
group's namespaces edited, a user put in or out of a group, made inactive or no longer a
superuser, a password changed, a sign-out), every web process hears it on one channel
group, once the change is committed; each of its viewers reads its own access again, from
its session as it now is, and a viewer who may no longer see its graph as it was sent is
told so and closed before the next update: 4401 when no longer signed in, else RECONNECT,
upon which the page connects again and gets the graph as it may now see it (or a 4403).
What no signal announces (a session that expired while its socket was open, a bulk SQL
UPDATE of users or grants) is found by reading a signed-in viewer's access again every
MESHLENS_ACCESS_RECHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib import auth as django_auth
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db import close_old_connections, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest

from dashboard import access, auth, publish
from dashboard.access_models import NamespaceAccess
from dashboard.layer_calls import group_calls
from graph import access as graph_access
from graph.access import Patterns
from graph.kiali_params import ForbiddenNamespace

log = logging.getLogger(__name__)

GROUP = "meshlens.access"
CHANGED = "access.changed"
# The page reconnects on any close code but 4400 and 4401 (static/js/live.js).
RECONNECT = 4409
UNAUTHORISED = 4401
FORBIDDEN = 4403
# channels_redis forgets a group member after a day: a viewer renews its place well before.
RENEW_S = 3600


def announce(**_: Any) -> None:
    """A signal's receiver: tell the viewers once the change is committed (before, their
    processes would read the access as it was)."""
    transaction.on_commit(tell_viewers)


def tell_viewers() -> None:
    from channels.layers import get_channel_layer

    try:
        async_to_sync(get_channel_layer().group_send)(GROUP, {"type": CHANGED})
    except Exception as exc:  # noqa: BLE001 (whatever the layer raises, the edit stands)
        log.warning("access changed, but live viewers could not be told (%s): they keep what "
                  "they were sent until they reconnect", exc)


def saved(sender: Any, created: bool = False, update_fields: Any = None,
          **kwargs: Any) -> None:
    """A user or group just made sees nothing yet that it could lose; a sign-in saves
    last_login alone, which changes nobody's access."""
    if created or (update_fields is not None and set(update_fields) == {"last_login"}):
        return
    announce()


def connect_signals() -> None:
    """Called by the app's ready()."""
    user_model = get_user_model()
    post_save.connect(announce, sender=NamespaceAccess, dispatch_uid="access-na-saved")
    for model in (NamespaceAccess, Group, user_model):
        post_delete.connect(announce, sender=model, dispatch_uid=f"access-{model}-deleted")
    for model in (Group, user_model):
        post_save.connect(saved, sender=model, dispatch_uid=f"access-{model}-saved")
    m2m_changed.connect(announce, sender=user_model.groups.through,
                        dispatch_uid="access-user-groups")
    user_logged_out.connect(announce, dispatch_uid="access-logged-out")


def viewer_access(session_key: str | None) -> tuple[bool, Patterns | None]:
    """(whether the viewer of this session may look at all, the namespaces they may see),
    read afresh: the session as it is now (gone after a sign-out, void after a password
    change), its user as the database has them."""
    try:
        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = django_auth.get_user(request)
        return auth.allowed(user), access.user_patterns(user)
    finally:
        close_old_connections()


class AccessWatch:
    """Mixed into the graph consumer (its `options` and `scope_key`): its viewer's access,
    watched from before it is read at connect (a change in between is heard) to the end."""

    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str
    options: Any
    scope_key: str
    refused = False
    watched_at = 0.0  # time.monotonic() of the last join of GROUP

    async def watch_access(self) -> None:
        self.watched_at = time.monotonic()
        try:
            async with group_calls():
                await self.channel_layer.group_add(GROUP, self.channel_name)
        except Exception as exc:  # noqa: BLE001 (Redis down: the scope's group fails too)
            log.warning("cannot watch a viewer's access: %s", exc)

    async def unwatch_access(self) -> None:
        with contextlib.suppress(Exception):
            async with group_calls():
                await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Nothing more of the group's once the socket is closed for its access: updates
        already queued for it are dropped. A live viewer's updates also renew its place in
        GROUP (no task of its own to outlive it)."""
        if message["type"].startswith("websocket."):
            await super().dispatch(message)  # type: ignore[misc]
            return
        if self.refused:
            return
        if time.monotonic() - self.watched_at > RENEW_S:
            await self.watch_access()
        await super().dispatch(message)  # type: ignore[misc]

    async def recheck_access(self) -> None:
        """A background task of a signed-in viewer's socket: its access read again every
        period, until the socket closes. An anonymous viewer has no session to expire and
        nothing a bulk UPDATE could take away from it alone."""
        period = settings.MESHLENS_ACCESS_RECHECK_SECONDS
        if period <= 0 or not getattr(self.scope.get("user"), "is_authenticated", False):
            return
        while not self.refused:
            await asyncio.sleep(period)
            await self.access_changed({"type": CHANGED})

    async def access_changed(self, event: dict[str, Any]) -> None:
        if not self.scope_key or self.refused:
            return  # connect() reads the access after this; or the socket is closing
        session = self.scope.get("session")
        allowed, patterns = await sync_to_async(viewer_access)(
            getattr(session, "session_key", None))
        if not allowed:
            await self.refuse("you are signed out (MESHLENS_AUTH=login)", UNAUTHORISED)
            return
        try:
            graph_access.check(self.options.namespaces, patterns)
        except ForbiddenNamespace as exc:
            await self.refuse(str(exc), FORBIDDEN)
            return
        if access.scoped(patterns) != self.options.access:
            await self.refuse("your namespace access changed: reconnecting", RECONNECT)

    async def refuse(self, message: str, code: int) -> None:
        self.refused = True
        await self.send(text_data=publish.error_message(message, stale=False))  # type: ignore[attr-defined]
        await self.close(code=code)  # type: ignore[attr-defined]
