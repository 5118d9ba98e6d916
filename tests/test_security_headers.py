"""Security headers per route (CSP, frame rules, CORS), the TLS settings, and
`manage.py check --deploy` with the production settings the README documents."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

ROOT = Path(__file__).resolve().parent.parent
PORTAL = "https://portal.example.com"


@pytest.fixture
def client(settings: Settings, db: None) -> Client:
    """The page names its namespaces itself: no Prometheus is asked (the database: the
    page carries the health rules)."""
    settings.MESHLENS_DEFAULT_NAMESPACES = ["bookinfo"]
    settings.MESHLENS_EMBED_ORIGINS = [PORTAL]
    settings.CORS_ALLOWED_ORIGINS = [PORTAL]
    return Client()


def policy(header: str) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in header.split(";"))
    return {d[0]: d[1] for d in directives}


def test_it_sends_a_policy_without_unsafe_inline_on_the_page(client: Client) -> None:
    response = client.get("/?namespaces=bookinfo", HTTP_HOST="localhost")
    assert response.status_code == 200
    csp = policy(response["Content-Security-Policy"])
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["img-src"] == "'self' data:"
    assert csp["connect-src"] == "'self' ws://localhost wss://localhost"
    assert csp["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_has_no_inline_script_or_style_in_the_page(client: Client) -> None:
    """CSP would block them: every <script> has a src but the config, a JSON data block."""
    html = client.get("/").content.decode()
    assert " style=" not in html and "<style" not in html and " on" + "click=" not in html
    scripts = [part.split(">", 1)[0] for part in html.split("<script")[1:]]
    inline = [s for s in scripts if "src=" not in s]
    assert inline == [' id="meshlens-config" type="application/json"']


def test_it_lets_only_the_configured_origins_frame_the_embed_view(client: Client) -> None:
    response = client.get("/embed/graph?namespaces=bookinfo")
    assert response.status_code == 200
    assert policy(response["Content-Security-Policy"])["frame-ancestors"] == PORTAL
    assert "X-Frame-Options" not in response
    assert b'<body class="embed">' in response.content
    assert b'"embed": true' in response.content


def test_it_refuses_every_frame_of_the_embed_view_when_no_origin_is_set(
        client: Client, settings: Settings) -> None:
    settings.MESHLENS_EMBED_ORIGINS = []
    response = client.get("/embed/graph")
    assert policy(response["Content-Security-Policy"])["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/graph?namespaces=Bad_Name", "/nowhere"])
def test_it_denies_frames_of_every_other_answer(client: Client, path: str) -> None:
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert policy(response["Content-Security-Policy"])["frame-ancestors"] == "'none'"


def test_it_answers_cors_for_allowed_origins_only(client: Client) -> None:
    allowed = client.get("/api/v1/graph?namespaces=Bad_Name", HTTP_ORIGIN=PORTAL)
    assert allowed.status_code == 400
    assert allowed["Access-Control-Allow-Origin"] == PORTAL
    assert "Access-Control-Allow-Credentials" not in allowed
    other = client.get("/api/v1/graph?namespaces=Bad_Name", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_it_allows_get_only_in_a_preflight(client: Client) -> None:
    response = client.options("/api/v1/graph", HTTP_ORIGIN=PORTAL,
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Methods"] == "GET, OPTIONS"


def test_it_keeps_cors_off_the_page(client: Client) -> None:
    response = client.get("/", HTTP_ORIGIN=PORTAL)
    assert "Access-Control-Allow-Origin" not in response


def test_it_sends_credentials_only_when_told(client: Client, settings: Settings) -> None:
    settings.CORS_ALLOW_CREDENTIALS = True
    response = client.get("/api/v1/graph?namespaces=Bad_Name", HTTP_ORIGIN=PORTAL)
    assert response["Access-Control-Allow-Credentials"] == "true"


def check(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MESHLENS_", "DJANGO_"))}
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, text=True,
                          capture_output=True, env=clean | env, timeout=60)


# The production settings of the README's "Running in production".
PRODUCTION = {"DJANGO_ALLOWED_HOSTS": "meshlens.example.com", "MESHLENS_TLS": "True",
              "MESHLENS_TRUSTED_PROXY": "True", "MESHLENS_SECURE_HSTS_PRELOAD": "True"}


def test_it_passes_the_deploy_check_with_the_production_settings() -> None:
    result = check("--deploy", "--fail-level", "WARNING",
                   DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_warns_in_the_deploy_check_without_them() -> None:
    result = check("--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for warning in ("W004", "W008", "W009", "W012", "W016"):
        assert f"security.{warning}" in result.stderr


@pytest.mark.parametrize(("name", "value"), [
    ("MESHLENS_EMBED_ORIGINS", "portal.example.com"),
    ("MESHLENS_EMBED_ORIGINS", "https://portal.example.com/page"),
    ("MESHLENS_CORS_ORIGINS", "https://a.example.com,ftp://b.example.com"),
    ("MESHLENS_TLS", "on"),
    ("MESHLENS_SECURE_HSTS_SECONDS", "a year"),
    ("DATABASE_URL", "nosuchdb://x/y"),
])
def test_it_refuses_to_start_with_a_bad_value(name: str, value: str) -> None:
    result = check(**{name: value})
    assert result.returncode != 0
    assert f"Unexpected value {name}" in result.stderr


@pytest.mark.django_db(transaction=True)
async def test_it_refuses_a_websocket_from_another_origin(meshlens_redis: str) -> None:
    """A page of another site may not open the live graph's socket with the user's
    cookies: the origin must be one of ALLOWED_HOSTS (test_live.py connects from one)."""
    from channels.testing import WebsocketCommunicator

    from dashboard.asgi import application

    headers = [(b"host", b"127.0.0.1"), (b"origin", b"https://evil.example")]
    communicator = WebsocketCommunicator(application, "/ws/graph?namespaces=bookinfo",
                                         headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    await communicator.disconnect()
