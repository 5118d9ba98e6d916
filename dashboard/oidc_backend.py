"""The single sign-on backend (see dashboard/oidc.py): mozilla-django-oidc's, with the
groups claim mapped to the Django groups of the same names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class GroupsBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def create_user(self, claims: dict[str, Any]) -> Any:
        return self.update_user(super().create_user(claims), claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        """The user's groups: those of the groups claim that exist here, at every sign-in."""
        claim = settings.MESHLENS_OIDC_GROUPS_CLAIM
        if claim:
            names = claims.get(claim) or []
            if isinstance(names, str):
                names = [names]
            user.groups.set(Group.objects.filter(name__in=[str(n) for n in names]))
        return user
