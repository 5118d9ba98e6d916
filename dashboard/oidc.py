"""Optional single sign-on with OpenID Connect, through mozilla-django-oidc, configured
from the environment (MESHLENS_OIDC_*). Off unless MESHLENS_OIDC_CLIENT_ID is set; when it
is, a missing setting stops the start with its name.

A user signing in is matched by email (the library's rule) and made on first sign-in; with
MESHLENS_OIDC_GROUPS_CLAIM, their Django groups are set at every sign-in to the groups of
that claim which exist in Meshlens (made in the admin, with their namespaces): the
identity provider decides who is in which group, Meshlens what a group may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

ENDPOINTS = {
    "MESHLENS_OIDC_AUTHORIZATION_ENDPOINT": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "MESHLENS_OIDC_TOKEN_ENDPOINT": "OIDC_OP_TOKEN_ENDPOINT",
    "MESHLENS_OIDC_USER_ENDPOINT": "OIDC_OP_USER_ENDPOINT",
}
SIGN_ALGOS = ("RS256", "ES256", "HS256")


def settings_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Django settings for mozilla-django-oidc from MESHLENS_OIDC_*; {} when SSO is off."""
    client_id = env.get("MESHLENS_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        return {}
    missing = [name for name in (*ENDPOINTS, "MESHLENS_OIDC_CLIENT_SECRET")
               if not env.get(name, "").strip()]
    algo = env.get("MESHLENS_OIDC_SIGN_ALGO", "RS256").strip()
    if algo not in SIGN_ALGOS:
        raise ImproperlyConfigured(f"Unexpected value MESHLENS_OIDC_SIGN_ALGO={algo}: use one "
                                   f"of {', '.join(SIGN_ALGOS)}")
    if algo != "HS256" and not env.get("MESHLENS_OIDC_JWKS_ENDPOINT", "").strip():
        missing.append("MESHLENS_OIDC_JWKS_ENDPOINT")
    if missing:
        raise ImproperlyConfigured(f"MESHLENS_OIDC_CLIENT_ID is set: single sign-on also needs "
                                   f"{', '.join(missing)}")
    verify = env.get("MESHLENS_OIDC_VERIFY", "true").strip().lower()
    if verify not in ("true", "false", "1", "0", "yes", "no"):
        raise ImproperlyConfigured(f"Unexpected value MESHLENS_OIDC_VERIFY={verify}: use true "
                                   "or false")
    scopes = env.get("MESHLENS_OIDC_SCOPES", "openid email profile").strip()
    if not {"openid", "email"} <= set(scopes.split()):
        raise ImproperlyConfigured(f"Unexpected value MESHLENS_OIDC_SCOPES={scopes}: users are "
                                   "matched by email, so it needs openid and email")
    for name in (*ENDPOINTS, "MESHLENS_OIDC_JWKS_ENDPOINT"):
        value = env.get(name, "").strip()
        if value and not value.startswith(("https://", "http://")):
            raise ImproperlyConfigured(f"Unexpected value {name}={value}: not an http(s) URL")
    found: dict[str, Any] = {
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": env["MESHLENS_OIDC_CLIENT_SECRET"].strip(),
        "OIDC_RP_SIGN_ALGO": algo,
        "OIDC_RP_SCOPES": scopes,
        "OIDC_USERNAME_ALGO": "dashboard.oidc.username",
        "OIDC_VERIFY_SSL": verify not in ("0", "false", "no"),
        "OIDC_TIMEOUT": 10,
        "LOGIN_REDIRECT_URL_FAILURE": "/login?failed=sso",
        "MESHLENS_OIDC_NAME": env.get("MESHLENS_OIDC_NAME", "single sign-on").strip(),
        "MESHLENS_OIDC_GROUPS_CLAIM": env.get("MESHLENS_OIDC_GROUPS_CLAIM", "").strip(),
    }
    found |= {setting: env[name].strip() for name, setting in ENDPOINTS.items()}
    if env.get("MESHLENS_OIDC_JWKS_ENDPOINT", "").strip():
        found["OIDC_OP_JWKS_ENDPOINT"] = env["MESHLENS_OIDC_JWKS_ENDPOINT"].strip()
    return found


def username(email: str | None, claims: Mapping[str, Any]) -> str:
    """A new user's name: the provider's preferred_username, else the email."""
    return str(claims.get("preferred_username") or email or claims.get("sub", ""))[:150]
