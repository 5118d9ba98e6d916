"""The single sign-on backend (see dashboard/oidc.py): mozilla-django-oidc's, with the
groups claim mapped to the Django groups of the same names.

The provider decides who someone is and which groups they are in; it never makes anyone an
administrator. Users are matched by email: a staff or superuser account is never signed in
this way (an account at the provider with the same address would take it over, and its
groups claim would then set an administrator's groups, which carry the admin's
permissions): administrators sign in with their password. An email the provider says is
not verified matches no one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class GroupsBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        unverified = str(claims.get("email_verified", "")).lower() == "false"
        return bool(super().verify_claims(claims)) and not unverified

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[Any]:
        users = super().filter_users_by_claims(claims)
        if any(user.is_staff or user.is_superuser for user in users):
            # Refused, not made anew: the library answers the sign-in as failed.
            raise SuspiciousOperation("single sign-on does not sign in an administrator")
        return users

    def get_username(self, claims: dict[str, Any]) -> str:
        """preferred_username (dashboard/oidc.py), made unique: a local user of that name
        is someone else (matched by email, they would have been found)."""
        name = str(super().get_username(claims))
        if not self.UserModel.objects.filter(username=name).exists():
            return name
        tag = hashlib.sha256(str(claims.get("sub", claims.get("email", ""))).encode())
        return f"{name[:140]}-{tag.hexdigest()[:8]}"

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
