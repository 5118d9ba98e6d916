"""Stored access: the namespaces of each group (NamespaceAccess) and the users' API tokens
(ApiToken). Imported by dashboard/models.py, Django's models module of the app."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from graph.access import Patterns, parse_patterns

TOKEN_PREFIX = "mlt_"
# The visible part stored in clear for lookup (and shown in lists); the rest is secret.
LOOKUP_CHARS = 8


def validate_patterns(value: str) -> None:
    try:
        parse_patterns(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class NamespaceAccess(models.Model):
    """What the members of a group may see. A user sees the namespaces of all their groups'
    patterns; superusers see all."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="namespace_access")
    namespaces = models.TextField(
        validators=[validate_patterns],
        help_text="Namespace patterns, fnmatch-style, separated by commas, spaces or lines: "
                  "bookinfo, team-*, shop-[ab]. * is every namespace.")

    class Meta:
        verbose_name = "namespace access"
        verbose_name_plural = "namespace access"

    def __str__(self) -> str:
        return f"{self.group.name}: {self.namespaces}"

    def patterns(self) -> Patterns:
        return parse_patterns(self.namespaces)


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A read-only API token of a user, limited to namespaces within the user's. Only its
    SHA-256 is stored; the token is shown once, when made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100)
    lookup = models.CharField(max_length=LOOKUP_CHARS, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    namespaces = models.TextField(
        blank=True, validators=[validate_patterns],
        help_text="Namespace patterns within the user's; empty: all the user's")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True, help_text="Empty: never")
    revoked = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created",)
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.shown_prefix()}…)"

    def shown_prefix(self) -> str:
        return f"{TOKEN_PREFIX}{self.lookup}"

    @classmethod
    def issue(cls, user: object, name: str, namespaces: str = "",
              expires: object = None) -> tuple[ApiToken, str]:
        """A new token and its secret (shown once, never stored)."""
        lookup, secret = cls.new_secret()
        token = cls.objects.create(user=user, name=name, lookup=lookup,
                                   secret_hash=hash_secret(secret), namespaces=namespaces,
                                   expires=expires)
        return token, secret

    @classmethod
    def new_secret(cls) -> tuple[str, str]:
        """A free lookup prefix and a token holding it: `mlt_<lookup>_<32 random bytes>`."""
        while True:
            lookup = secrets.token_hex(LOOKUP_CHARS // 2)
            if not cls.objects.filter(lookup=lookup).exists():
                return lookup, f"{TOKEN_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"

    def patterns(self) -> Patterns | None:
        """None: all the user's."""
        return parse_patterns(self.namespaces) if self.namespaces.strip() else None

    def why_not_usable(self) -> str | None:
        if self.revoked is not None:
            return "the token was revoked"
        if self.expires is not None and self.expires <= timezone.now():
            return "the token has expired"
        if not self.user.is_active:
            return "the token's user is inactive"
        return None
