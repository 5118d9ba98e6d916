"""Single sign-on: the settings read from the environment and checked at start, the login
button, and a whole sign-in against a fake identity provider (a loopback HTTP server that
answers the token and userinfo endpoints), the groups claim mapped to Django groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from dashboard.oidc import settings_from_env

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID, CLIENT_SECRET = "meshlens", "a-shared-secret-of-the-client-app"


def env(base: str, **more: str) -> dict[str, str]:
    return {"MESHLENS_OIDC_CLIENT_ID": CLIENT_ID, "MESHLENS_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "MESHLENS_OIDC_AUTHORIZATION_ENDPOINT": f"{base}/authorize",
            "MESHLENS_OIDC_TOKEN_ENDPOINT": f"{base}/token",
            "MESHLENS_OIDC_USER_ENDPOINT": f"{base}/userinfo",
            "MESHLENS_OIDC_SIGN_ALGO": "HS256", "MESHLENS_OIDC_NAME": "Example SSO",
            "MESHLENS_OIDC_GROUPS_CLAIM": "groups", **more}


def test_it_is_off_without_a_client_id() -> None:
    assert settings_from_env({}) == {}


def test_it_names_the_settings_single_sign_on_lacks() -> None:
    with pytest.raises(ImproperlyConfigured, match="also needs MESHLENS_OIDC_TOKEN_ENDPOINT, "
                                                   "MESHLENS_OIDC_JWKS_ENDPOINT"):
        settings_from_env({k: v for k, v in env("https://idp.example").items()
                           if k not in ("MESHLENS_OIDC_TOKEN_ENDPOINT",
                                        "MESHLENS_OIDC_SIGN_ALGO")})
    with pytest.raises(ImproperlyConfigured, match="MESHLENS_OIDC_USER_ENDPOINT=idp: not an"):
        settings_from_env(env("https://idp.example", MESHLENS_OIDC_USER_ENDPOINT="idp"))


def test_it_refuses_to_start_half_configured(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
        env=os.environ | {"MESHLENS_DB": str(tmp_path / "db.sqlite3"),
                          "MESHLENS_OIDC_CLIENT_ID": CLIENT_ID}, check=False)
    assert result.returncode != 0
    assert "single sign-on also needs MESHLENS_OIDC_AUTHORIZATION_ENDPOINT" in result.stderr


class FakeIdP(BaseHTTPRequestHandler):
    """The token endpoint gives an ID token signed with the client's secret (HS256) for
    the nonce the test set; the userinfo endpoint gives the user's claims."""

    nonce = ""
    claims: dict[str, Any] = {}

    def reply(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        assert form["code"] == ["the-code"] and form["client_id"] == [CLIENT_ID]
        now = int(time.time())
        id_token = jwt.encode({"iss": "fake", "aud": CLIENT_ID, "sub": "erin-1", "iat": now,
                               "exp": now + 300, "nonce": FakeIdP.nonce}, CLIENT_SECRET,
                              algorithm="HS256")
        self.reply({"id_token": id_token, "access_token": "the-access-token",
                    "token_type": "Bearer"})

    def do_GET(self) -> None:  # noqa: N802
        assert self.headers["Authorization"] == "Bearer the-access-token"
        self.reply(FakeIdP.claims)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def idp() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeIdP)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def sso(idp: str, settings: Any) -> str:
    for name, value in settings_from_env(env(idp)).items():
        setattr(settings, name, value)
    settings.MESHLENS_OIDC_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = ["dashboard.oidc_backend.GroupsBackend",
                                        "django.contrib.auth.backends.ModelBackend"]
    settings.ROOT_URLCONF = "tests.support.oidc_urls"
    return idp


def test_it_offers_single_sign_on_on_the_login_page(sso: str) -> None:
    body = Client().get("/login?next=/tokens").content.decode()
    assert 'href="/oidc/authenticate/?next=/tokens"' in body and "Sign in with Example SSO" in body


def test_it_signs_in_through_the_identity_provider(sso: str) -> None:
    """browser -> /oidc/authenticate/ -> IdP (skipped: the test is the user) -> callback
    -> token and userinfo endpoints -> signed in, in the groups of the claim that exist"""
    team = Group.objects.create(name="bookinfo-team")
    client = Client()
    start = client.get("/oidc/authenticate/?next=/tokens")
    assert start.status_code == 302 and start["Location"].startswith(f"{sso}/authorize?")
    asked = parse_qs(urlparse(start["Location"]).query)
    assert asked["client_id"] == [CLIENT_ID] and asked["scope"] == ["openid email profile"]
    FakeIdP.nonce = asked["nonce"][0]
    FakeIdP.claims = {"sub": "erin-1", "email": "erin@example.com",
                      "preferred_username": "erin", "groups": ["bookinfo-team", "not-here"]}
    done = client.get(f"/oidc/callback/?code=the-code&state={asked['state'][0]}")
    assert done.status_code == 302 and done["Location"] == "/tokens"
    erin = User.objects.get(username="erin")
    assert list(erin.groups.all()) == [team]
    assert client.get("/tokens").status_code == 200
    # The provider's groups decide, at every sign-in.
    FakeIdP.claims["groups"] = []
    client.post("/logout")
    again = client.get("/oidc/authenticate/")
    asked = parse_qs(urlparse(again["Location"]).query)
    FakeIdP.nonce = asked["nonce"][0]
    assert client.get(f"/oidc/callback/?code=the-code&state={asked['state'][0]}")[
        "Location"] == "/"
    assert not erin.groups.exists()


def test_it_says_when_single_sign_on_failed(sso: str) -> None:
    client = Client()
    start = client.get("/oidc/authenticate/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    failed = client.get(f"/oidc/callback/?error=access_denied&state={state}")
    assert start.status_code == 302 and failed["Location"] == "/login?failed=sso"
    assert b"Single sign-on did not sign you in" in client.get(failed["Location"]).content
