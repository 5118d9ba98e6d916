"""The namespaces the current user (or API token) may see: resolved once per request by
dashboard/access_middleware.py, or per WebSocket by the consumer, and read by the options
parsing every graph route goes through (dashboard/graphs.py). The matching itself is
graph/access.py's, Django-free."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

from graph import access
from graph.access import Patterns

# None: no limit. Set for the length of a request, and by a worker for the length of a
# build a request handed it (dashboard/answers.py); outside them (refreshes, commands)
# nothing is limited: a limited scope carries its patterns in its key.
CURRENT: ContextVar[Patterns | None] = ContextVar("meshlens_access", default=None)


def user_patterns(user: Any) -> Patterns | None:
    """What `user` may see: None (all) for a superuser, and for anyone while sign-in is
    off and they are not signed in; else their groups' patterns, or MESHLENS_DEFAULT_ACCESS
    when no group of theirs has any."""
    if not getattr(user, "is_authenticated", False):
        return None if settings.MESHLENS_AUTH != "login" else ()
    if user.is_superuser:
        return None
    from dashboard.models import NamespaceAccess

    found: list[str] = []
    grants = NamespaceAccess.objects.filter(group__user=user)
    any_grant = False
    for grant in grants:
        any_grant = True
        found += [p for p in grant.patterns() if p not in found]
    if not any_grant:
        found = list(settings.MESHLENS_DEFAULT_ACCESS)
    return None if "*" in found else tuple(found)


def token_patterns(token: Any) -> Patterns | None:
    """A token's namespaces, within its user's."""
    return access.narrowed(token.patterns(), user_patterns(token.user))


def current() -> Patterns | None:
    return CURRENT.get()


@contextmanager
def limited_to(patterns: Patterns | None) -> Iterator[None]:
    reset = CURRENT.set(patterns)
    try:
        yield
    finally:
        CURRENT.reset(reset)


def scoped(patterns: Patterns | None) -> tuple[str, ...]:
    """GraphOptions.access for `patterns`: () is no limit; a user limited to nothing gets a
    pattern no namespace matches, never the empty tuple. Sorted: users with the same
    patterns share one scope (one build per tick), whatever order their groups gave."""
    if patterns is None or "*" in patterns:
        return ()
    return tuple(sorted(set(patterns))) or ("!",)
