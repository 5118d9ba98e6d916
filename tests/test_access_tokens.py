"""API tokens: made on the tokens page (and in the admin), stored hashed, shown once,
read-only, limited to their namespaces, expiring, revocable, rate-limited in Redis."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.models import ApiToken
from tests.live_env import QUERY_TIME
from tests.test_access_namespaces import access_prometheus, user_seeing  # noqa: F401

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"mlt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
GRAPH = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"


@pytest.fixture
def carol() -> User:
    return user_seeing("carol", "bookinfo, shop")


@pytest.fixture
def carol_page(carol: User) -> Client:
    client = Client()
    client.force_login(carol)
    return client


def make_token(page: Client, **fields: str) -> str:
    response = page.post("/tokens", {"name": "ci", "expires": "30", **fields})
    assert response.status_code == 200
    found = SECRET.findall(response.content.decode())
    assert len(found) == 1, response.content.decode()
    return found[0]


def api(secret: str, path: str, method: str = "get") -> Any:
    return getattr(Client(), method)(path, headers={"Authorization": f"Bearer {secret}"})


def test_it_shows_a_new_token_once_and_stores_only_its_hash(carol_page: Client) -> None:
    secret = make_token(carol_page, namespaces="bookinfo")
    listing = carol_page.get("/tokens").content.decode()
    assert secret not in listing and secret[:12] + "…" in listing
    token = ApiToken.objects.get()
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.fields]
    assert not any(secret in value or secret[13:] in value for value in stored)
    assert token.namespaces == "bookinfo" and token.expires is not None


def test_it_keeps_a_tokens_namespaces_within_the_users(carol_page: Client) -> None:
    response = carol_page.post("/tokens", {"name": "ci", "expires": "",
                                           "namespaces": "bookinfo, team-*"})
    assert b"not within your namespaces: team-*" in response.content
    assert not ApiToken.objects.exists()


def test_it_answers_a_token_within_its_namespaces(access_prometheus: Any,  # noqa: F811
                                                 carol_page: Client) -> None:
    """checkout-v1 (shop) -> [productpage] -> productpage-v1: carol sees shop, her token not"""
    secret = make_token(carol_page, namespaces="bookinfo")
    body = api(secret, GRAPH).json()
    checkout = next(n["data"] for n in body["elements"]["nodes"]
                    if n["data"].get("workload") == "checkout-v1")
    assert checkout["isInaccessible"] is True and "traffic" not in checkout
    refused = api(secret, GRAPH.replace("bookinfo", "shop"))
    assert refused.status_code == 403
    assert refused.json() == {"error": "namespaces: namespace 'shop' is not accessible to you"}
    assert ApiToken.objects.get().last_used is not None


def test_it_is_read_only(carol_page: Client) -> None:
    secret = make_token(carol_page)
    response = api(secret, "/api/v1/graph?namespaces=bookinfo", "post")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert "read-only" in response.json()["error"]


@pytest.mark.parametrize("secret", ["mlt_00000000_" + "x" * 43, "nonsense", "mlt_zz_1", ""])
def test_it_refuses_an_unknown_token_without_saying_more(carol_page: Client,
                                                        secret: str) -> None:
    real = make_token(carol_page)
    for wrong in (secret, real[:-1] + ("A" if real[-1] != "A" else "B")):
        response = api(wrong, "/api/v1/namespaces")
        assert response.status_code == 401
        assert response.json() == {"error": "the API token is not valid"}


def test_it_names_an_expired_or_revoked_token_to_its_holder(carol_page: Client) -> None:
    expired, revoked = make_token(carol_page), make_token(carol_page)
    ApiToken.objects.filter(lookup=expired[4:12]).update(
        expires=timezone.now() - timedelta(seconds=1))
    pk = ApiToken.objects.get(lookup=revoked[4:12]).pk
    assert carol_page.post(f"/tokens/{pk}/revoke").status_code == 302
    assert api(expired, "/api/v1/namespaces").json() == {"error": "the token has expired"}
    assert api(revoked, "/api/v1/namespaces").json() == {"error": "the token was revoked"}
    assert api(revoked, "/api/v1/namespaces").status_code == 401


def test_it_revokes_only_the_users_own_tokens(carol_page: Client) -> None:
    make_token(carol_page)
    other = Client()
    other.force_login(User.objects.create_user("dave", password="secret-pass-1"))
    assert other.post(f"/tokens/{ApiToken.objects.get().pk}/revoke").status_code == 404
    assert ApiToken.objects.get().revoked is None


def test_it_limits_each_tokens_rate(meshlens_redis: str, settings: Any,
                                    carol_page: Client) -> None:
    """a bucket 3 deep, refilled at one request per 1000 s: the fourth request waits"""
    settings.MESHLENS_TOKEN_RATE, settings.MESHLENS_TOKEN_BURST = 0.001, 3
    first, second = make_token(carol_page), make_token(carol_page)
    for _ in range(3):
        assert api(first, "/api/v1/graph?namespaces=billing").status_code == 403
    limited = api(first, "/api/v1/graph?namespaces=billing")
    assert limited.status_code == 429
    assert 900 <= int(limited["Retry-After"]) <= 1000
    assert "too many requests with this token" in limited.json()["error"]
    assert api(second, "/api/v1/graph?namespaces=billing").status_code == 403  # its own


def test_it_takes_tokens_on_the_api_only(settings: Any, carol_page: Client) -> None:
    settings.MESHLENS_AUTH = "login"
    secret = make_token(carol_page)
    assert api(secret, "/").status_code == 302  # the page wants a signed-in browser


def test_it_makes_a_token_in_the_admin(admin_client: Client, carol: User) -> None:
    response = admin_client.post("/admin/dashboard/apitoken/add/", {
        "user": carol.pk, "name": "deploy", "namespaces": "shop"}, follow=True)
    found = SECRET.findall(response.content.decode())
    assert len(found) == 1
    assert api(found[0], "/api/v1/graph?namespaces=bookinfo").status_code == 403
