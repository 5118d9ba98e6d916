"""Access control attacked: a token wider than its user, a live socket whose viewer lost
access, secrets where they should not be (logs, cookies, caches, errors, /healthz). Each
hole found has its test here (sessions and single sign-on: test_access_attacks_sessions.py);
the guards that held are pinned too."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from dashboard import tokens
from dashboard.asgi import application
from dashboard.models import ApiToken, NamespaceAccess
from graph.access import may_see, narrowed
from graph.prometheus import Prometheus, PrometheusSettings
from tests.live_env import QUERY_TIME
from tests.test_access_namespaces import (  # noqa: F401
    access_prometheus,
    clean_redis,
    connect,
    labels,
    next_graph,
    series,
    user_seeing,
)

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"


def bearer(secret: str, path: str, method: str = "get") -> Any:
    return getattr(Client(), method)(path, headers={"Authorization": f"Bearer {secret}"})


# --- Tokens ------------------------------------------------------------------------------


def test_it_reads_a_pattern_as_a_pattern_when_narrowing_a_token() -> None:
    """A token's `*` within a user's `[!s]*` (all but s...) once let `shop` through: `*`,
    taken as a name, matches `[!s]*`."""
    kept = narrowed(("*",), ("[!s]*",))
    assert not may_see("shop", kept) and may_see("bookinfo", kept)
    both = narrowed(("shop-*",), ("*-prod",))
    assert [ns for ns in ("shop-prod", "shop-dev", "web-prod") if may_see(ns, both)] == [
        "shop-prod"]
    assert narrowed(("team-a*", "t*"), ("team-*", "t?"))[:2] == ("team-a*", "team-a*~t?")
    assert narrowed(("t*",), ("t?", "team-*")) == ("t?", "team-*")


def test_it_keeps_a_token_of_every_namespace_within_its_user(
        access_prometheus: Any) -> None:  # noqa: F811
    """dave sees [!s]* (all but shop); an admin gives him a token of `*`:
    checkout-v1 (shop) -> [productpage] stays a name without details"""
    dave = user_seeing("dave", "[!s]*")
    page = Client()
    page.force_login(dave)
    refused = page.post("/tokens", {"name": "all", "expires": "", "namespaces": "*"})
    assert b"not within your namespaces: *" in refused.content
    _, secret = ApiToken.issue(dave, "all", "*")
    assert bearer(secret, GRAPH.replace("bookinfo", "shop")).status_code == 403
    checkout = labels(bearer(secret, GRAPH).json())["checkout-v1"]
    assert checkout["isInaccessible"] is True and "traffic" not in checkout


def test_it_limits_a_token_to_what_its_user_sees_now(
        access_prometheus: Any) -> None:  # noqa: F811
    """carol's token of shop (and one of all hers) when her group loses shop"""
    carol = user_seeing("carol", "bookinfo, shop")
    _, of_shop = ApiToken.issue(carol, "shop", "shop")
    _, of_all = ApiToken.issue(carol, "all", "")
    shop = GRAPH.replace("bookinfo", "shop")
    assert bearer(of_shop, shop).status_code == 200 and bearer(of_all, shop).status_code == 200
    grant = NamespaceAccess.objects.get(group__name="carol-team")
    grant.namespaces = "bookinfo"
    grant.save()
    assert bearer(of_shop, shop).status_code == 403 and bearer(of_all, shop).status_code == 403
    carol.is_active = False
    carol.save()
    assert bearer(of_all, GRAPH).json() == {"error": "the token's user is inactive"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_it_takes_no_writes_with_a_token(method: str) -> None:
    _, secret = ApiToken.issue(user_seeing("erin", "bookinfo"), "ci")
    for path in ("/api/v1/graph", "/api/v1/namespaces", "/api/namespaces/graph"):
        response = bearer(secret, path, method)
        assert response.status_code == 405, (method, path)
        assert response["Allow"] == "GET, HEAD"


def test_it_spends_a_tokens_bucket_once_per_request_under_concurrency(
        meshlens_redis: str, settings: Any) -> None:
    """40 requests at once on a bucket 10 deep that barely refills: 10 go"""
    settings.MESHLENS_TOKEN_RATE, settings.MESHLENS_TOKEN_BURST = 0.001, 10
    token, _ = ApiToken.issue(user_seeing("fay", "bookinfo"), "ci")
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: tokens.take(token), range(40)))
    assert sum(1 for w in waits if w == 0) == 10


def test_it_writes_no_secret_to_the_logs(caplog: pytest.LogCaptureFixture,
                                         settings: Any) -> None:
    """used, refused, revoked, expired, rate-limited, on a route that fails"""
    settings.MESHLENS_TOKEN_RATE, settings.MESHLENS_TOKEN_BURST = 0.001, 1
    token, secret = ApiToken.issue(user_seeing("gil", "bookinfo"), "ci")
    caplog.set_level(logging.DEBUG)
    for path in ("/api/v1/namespaces?x=1", "/api/v1/graph?namespaces=shop", "/api/nope"):
        bearer(secret, path)
        bearer(secret[:-2] + "zz", path)
        bearer(secret, path, "post")
    token.revoked = token.created
    token.save()
    bearer(secret, "/api/v1/namespaces")
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert secret[13:] not in logged and secret[13:-2] not in logged


async def test_it_takes_no_token_on_the_websocket(settings: Any) -> None:
    """Tokens are for the API: a socket with one and no session is not signed in."""
    settings.MESHLENS_AUTH = "login"
    user = await sync_to_async(user_seeing)("hal", "bookinfo")
    _, secret = await sync_to_async(ApiToken.issue)(user, "ci")
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1"),
               (b"authorization", f"Bearer {secret}".encode())]
    socket = WebsocketCommunicator(application, "/ws/graph?namespaces=bookinfo",
                                   headers=headers)
    await socket.connect(timeout=5)
    errors, code = await closing(socket)
    assert code == 4401 and errors == ["sign in first (MESHLENS_AUTH=login)"]
    await socket.disconnect()


def test_it_keeps_a_new_tokens_page_out_of_caches() -> None:
    page = Client()
    page.force_login(user_seeing("ida", "bookinfo"))
    made = page.post("/tokens", {"name": "ci", "expires": "7", "namespaces": ""})
    assert b"mlt_" in made.content
    assert "no-store" in made["Cache-Control"]


def test_it_keeps_an_admin_made_secret_out_of_cookies(admin_client: Client) -> None:
    """The admin shows a new token in a message; messages kept in a cookie would carry it
    to the browser (and any proxy's log) in a Set-Cookie header."""
    jim = user_seeing("jim", "bookinfo")
    made = admin_client.post("/admin/dashboard/apitoken/add/",
                             {"user": jim.pk, "name": "deploy", "namespaces": ""})
    assert made.status_code == 302
    lookup = ApiToken.objects.get().lookup
    for morsel in made.cookies.values():
        kept = CookieStorage(HttpRequest())._decode(morsel.value) or []
        assert not any(lookup in str(message) for message in kept), morsel.key
    shown = admin_client.get(made["Location"]).content.decode()
    assert f"mlt_{lookup}_" in shown


# --- The live socket -----------------------------------------------------------------------


async def closing(socket: WebsocketCommunicator) -> tuple[list[str], int]:
    """The errors the socket is sent until it is closed, and its close code."""
    errors: list[str] = []
    while True:
        output = await socket.receive_output(timeout=30)
        if output["type"] == "websocket.close":
            return errors, output["code"]
        message = json.loads(output["text"])
        if message["type"] == "graph.error":
            errors.append(message["message"])


def session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def live_mesh(clean_redis: None, prometheus_with: Any, settings: Any) -> None:  # noqa: F811
    """checkout-v1 (shop) -> [productpage] -> productpage-v1, now"""
    settings.PROMETHEUS_URL = prometheus_with(series(), int(time.time()) // 15 * 15,
                                              shared=False).url


async def watching(name: str, patterns: str) -> tuple[User, str, WebsocketCommunicator]:
    user = await sync_to_async(user_seeing)(name, patterns)
    session = await sync_to_async(session_of)(user)
    socket = await connect("/ws/graph?namespaces=bookinfo&duration=60s", session)
    await next_graph(socket)
    return user, session, socket


def regrant(group: str, patterns: str) -> None:
    grant = NamespaceAccess.objects.get(group__name=group)
    grant.namespaces = patterns
    grant.save()


async def test_it_closes_a_live_socket_when_its_namespace_is_taken_away(
        live_mesh: None) -> None:
    """bob watches bookinfo; his group is given shop instead"""
    _, _, socket = await watching("bob", "bookinfo")
    await sync_to_async(regrant)("bob-team", "shop")
    errors, code = await closing(socket)
    assert code == 4403 and errors[-1] == (
        "namespaces: namespace 'bookinfo' is not accessible to you")
    await socket.disconnect()


async def test_it_sends_a_wider_graph_after_access_grows(live_mesh: None) -> None:
    """bob watches bookinfo with shop's checkout-v1 a name; his group is given shop too:
    the socket closes for the page to reconnect, and the new one shows checkout-v1"""
    _, session, socket = await watching("bob", "bookinfo")
    await sync_to_async(regrant)("bob-team", "bookinfo, shop")
    errors, code = await closing(socket)
    assert code == 4409 and "access changed" in errors[-1]
    await socket.disconnect()
    again = await connect("/ws/graph?namespaces=bookinfo&duration=60s", session)
    checkout = labels(await next_graph(again))["checkout-v1"]
    assert "isInaccessible" not in checkout and checkout["traffic"]
    await again.disconnect()


@pytest.mark.parametrize("how", ["sign-out", "group", "inactive", "password"])
async def test_it_closes_a_live_socket_whose_viewer_is_out(live_mesh: None, settings: Any,
                                                           how: str) -> None:
    """signed out in another tab, taken out of the group (MESHLENS_DEFAULT_ACCESS empty),
    made inactive, or the password changed (every session void)"""
    settings.MESHLENS_AUTH = "login"
    settings.MESHLENS_DEFAULT_ACCESS = ()
    user, session, socket = await watching("bob", "bookinfo")

    def act() -> None:
        if how == "sign-out":
            other = Client()
            other.cookies["sessionid"] = session
            assert other.post("/logout").status_code == 302
        elif how == "group":
            user.groups.clear()
        elif how == "inactive":
            user.is_active = False
            user.save()
        else:
            user.set_password("a-new-secret-9")
            user.save()

    await sync_to_async(act)()
    errors, code = await closing(socket)
    expected = (
        4403, "namespaces: namespace 'bookinfo' is not accessible to you") if how == "group" else (
        4401, "you are signed out (MESHLENS_AUTH=login)")
    assert (code, errors[-1]) == expected
    await socket.disconnect()


async def test_it_leaves_a_socket_be_when_its_access_is_unchanged(live_mesh: None) -> None:
    """another user's group edited: bob's socket stays, and still answers"""
    _, _, socket = await watching("bob", "bookinfo")
    await sync_to_async(user_seeing)("carl", "shop")
    await sync_to_async(regrant)("carl-team", "billing")
    await socket.send_to(text_data="ping")
    assert await socket.receive_nothing(timeout=1)
    await socket.disconnect()


async def test_it_closes_a_live_socket_whose_session_expired(live_mesh: None,
                                                            settings: Any) -> None:
    """bob watches bookinfo; his session expires while the page is open (no signal
    tells anyone): the socket is closed at the next reading of his access"""
    settings.MESHLENS_AUTH = "login"
    settings.MESHLENS_ACCESS_RECHECK_SECONDS = 1
    _, session, socket = await watching("bob", "bookinfo")
    await sync_to_async(Session.objects.filter(session_key=session).update)(
        expire_date=timezone.now() - timedelta(seconds=1))
    errors, code = await closing(socket)
    assert (code, errors[-1]) == (4401, "you are signed out (MESHLENS_AUTH=login)")
    await socket.disconnect()


async def test_it_closes_a_live_socket_after_a_bulk_update_of_its_grant(
        live_mesh: None, settings: Any) -> None:
    """bob watches bookinfo; an SQL UPDATE (no model signal) gives his group shop
    instead: the socket is closed at the next reading of his access"""
    settings.MESHLENS_ACCESS_RECHECK_SECONDS = 1
    _, _, socket = await watching("bob", "bookinfo")
    await sync_to_async(NamespaceAccess.objects.filter(group__name="bob-team").update)(
        namespaces="shop")
    errors, code = await closing(socket)
    assert code == 4403 and errors[-1] == (
        "namespaces: namespace 'bookinfo' is not accessible to you")
    await socket.disconnect()


# --- What goes out without a sign-in -------------------------------------------------------


def test_it_shows_no_credentials_of_prometheus(settings: Any) -> None:
    """PROMETHEUS_URL may hold a user and password: /healthz needs no sign-in, and the
    API's errors name the Prometheus that failed"""
    settings.PROMETHEUS_URL = "http://meshlens:s3cret-pw@127.0.0.1:9"
    body = Client().get("/healthz").content.decode()
    assert "s3cret-pw" not in body and "http://127.0.0.1:9" in body
    failed = Client().get(GRAPH)
    assert failed.status_code == 503 and "http://127.0.0.1:9 " in failed.json()["error"]
    assert "s3cret-pw" not in failed.content.decode()



def settings_with(env: dict[str, str], names: list[str]) -> dict[str, Any]:
    """Django's settings `names` as the environment `env` makes them, in a new process."""
    code = ("import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ | {"DJANGO_SETTINGS_MODULE": "dashboard.settings"}
                          | env, check=True, timeout=60)
    return dict(json.loads(done.stdout))


def test_it_gives_browsers_no_credentials_of_prometheus() -> None:
    """The side panel links to MESHLENS_PROMETHEUS_PUBLIC_URL, PROMETHEUS_URL by default"""
    found = settings_with({"PROMETHEUS_URL": "https://meshlens:s3cret-pw@prom.example:9090"},
                          ["PROMETHEUS_URL", "MESHLENS_PROMETHEUS_PUBLIC_URL"])
    assert found == {"PROMETHEUS_URL": "https://meshlens:s3cret-pw@prom.example:9090",
                     "MESHLENS_PROMETHEUS_PUBLIC_URL": "https://prom.example:9090"}
    client = Prometheus(PrometheusSettings(found["PROMETHEUS_URL"]))
    assert client.settings.url == "https://prom.example:9090"
    assert client.session.auth == ("meshlens", "s3cret-pw")  # basic auth, as before


def test_it_names_no_namespace_or_workload_without_a_sign_in(
        meshlens_redis: str, access_prometheus: Any, settings: Any) -> None:  # noqa: F811
    """/metrics and /healthz need no sign-in: after builds of the whole mesh, they name
    none of it"""
    settings.MESHLENS_AUTH = "login"
    root = Client()
    root.force_login(User.objects.create_superuser("root", password="pw-pw-pw-9"))
    assert root.get(GRAPH).status_code == 200
    assert root.get(GRAPH.replace("bookinfo", "shop")).status_code == 200
    anyone = Client()
    for path in ("/metrics", "/healthz"):
        body = anyone.get(path).content.decode()
        assert not [name for name in ("bookinfo", "shop", "billing", "productpage", "checkout")
                    if name in body], path
