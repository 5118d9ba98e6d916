"""Sessions and single sign-on attacked: CSRF on every form, next= followed to this host
only, a new session at sign-in, one answer for whoever is unknown, cookies' flags behind
TLS; the identity provider never signing in an administrator, nor anyone by an unverified
email, nor failing on a name already taken; its settings checked at start."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from dashboard.models import ApiToken, NamespaceAccess
from dashboard.oidc import settings_from_env
from tests.test_access_attacks import settings_with
from tests.test_access_oidc import FakeIdP, idp, sso  # noqa: F401
from tests.test_access_oidc import env as oidc_env

pytestmark = pytest.mark.django_db


# --- Sessions ------------------------------------------------------------------------------


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="wonderland-7")


def test_it_wants_a_csrf_token_on_every_form(alice: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login", {"username": "alice",
                                  "password": "wonderland-7"}).status_code == 403
    strict.force_login(alice)
    token, _ = ApiToken.issue(alice, "ci")
    for path in ("/tokens", f"/tokens/{token.pk}/revoke", "/logout"):
        assert strict.post(path, {"name": "x", "expires": "7"}).status_code == 403, path
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked is None
    assert strict.get("/tokens").status_code == 200  # still signed in


@pytest.mark.parametrize("target", [
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "%2F%2Fevil.example",
    "https:evil.example", "/%09/evil.example", " //evil.example", "\t//evil.example",
    "//evil.example%2F..", "javascript:alert(1)", "http:///evil.example",
    "//testserver@evil.example"])
def test_it_follows_next_to_this_host_only(alice: User, target: str) -> None:
    signing_in = Client().post("/login", {"username": "alice", "password": "wonderland-7",
                                          "next": target})
    signed_in = Client()
    signed_in.force_login(alice)
    again = signed_in.get("/login", {"next": target})
    for response in (signing_in, again):
        assert response.status_code == 302
        # Read as a browser reads it: backslashes are slashes, tabs and newlines dropped.
        location = re.sub(r"[\t\n\r]", "", response["Location"].replace("\\", "/"))
        landed = urlsplit(urljoin("http://testserver/login", location))
        assert (landed.scheme, landed.netloc) == ("http", "testserver"), location


def test_it_gives_a_new_session_at_sign_in(alice: User) -> None:
    client = Client()
    client.get("/login")
    session = client.session
    session["planted"] = "by someone else"
    session.save()
    planted = session.session_key
    client.cookies["sessionid"] = planted
    client.post("/login", {"username": "alice", "password": "wonderland-7"})
    assert client.cookies["sessionid"].value != planted


def test_it_answers_an_unknown_user_as_a_wrong_password(alice: User) -> None:
    """a wrong password, no such user, an inactive user's right password: one answer"""
    User.objects.create_user("ghost", password="boo-boo-7", is_active=False)
    answers = set()
    for name, password in (("alice", "nope"), ("nobody", "nope"), ("ghost", "boo-boo-7")):
        page = Client().post("/login", {"username": name, "password": password})
        assert page.status_code == 200
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page.content.decode())
        answers.add(text.replace(f'value="{name}"', 'value="NAME"'))
    assert len(answers) == 1


def test_it_slows_password_guessing(meshlens_redis: str, alice: User) -> None:
    """ten wrong passwords for alice from one address: from there her right one reads as
    wrong, on this page and the admin's; from another address she signs in"""
    right = {"username": "alice", "password": "wonderland-7"}
    for attempt in range(10):
        page = "/login" if attempt % 2 else "/admin/login/"
        Client(REMOTE_ADDR="10.9.8.7").post(page, {**right, "password": f"guess-{attempt}"})
    guesser = Client(REMOTE_ADDR="10.9.8.7")
    refused = guesser.post("/login", right)
    assert refused.status_code == 200 and b"do not match" in refused.content
    assert "_auth_user_id" not in guesser.session
    assert Client(REMOTE_ADDR="10.9.8.8").post("/login", right).status_code == 302


def test_it_flags_the_cookies_behind_tls() -> None:
    found = settings_with({"MESHLENS_TLS": "True"}, [
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE"])
    assert found == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
                     "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax"}


# --- Single sign-on ------------------------------------------------------------------------


def sign_in_with(claims: dict[str, Any], start_at: str = "/oidc/authenticate/",
                 ) -> tuple[Client, str]:
    """A whole sign-in through the fake provider with these claims: the client and where
    the callback sent it."""
    client = Client()
    start = client.get(start_at)
    asked = parse_qs(urlsplit(start["Location"]).query)
    FakeIdP.nonce = asked["nonce"][0]
    FakeIdP.claims = {"sub": "idp-7", **claims}
    done = client.get(f"/oidc/callback/?code=the-code&state={asked['state'][0]}")
    return client, done["Location"]


@pytest.mark.parametrize("kind", ["superuser", "staff"])
def test_it_signs_in_no_administrator_through_the_provider(sso: str,  # noqa: F811
                                                          kind: str) -> None:
    """an account at the provider with the admin's email, in a group that sees all"""
    admins = Group.objects.create(name="everything")
    NamespaceAccess.objects.create(group=admins, namespaces="*")
    root = User.objects.create_user("root", email="root@example.com", password="pw-pw-pw-9",
                                    is_staff=True, is_superuser=kind == "superuser")
    client, landed = sign_in_with({"email": "ROOT@example.com", "preferred_username": "root",
                                   "groups": ["everything"]})
    assert landed == "/login?failed=sso" and "_auth_user_id" not in client.session
    assert not root.groups.exists() and User.objects.count() == 1


def test_it_matches_no_one_by_an_email_the_provider_did_not_verify(
        sso: str) -> None:  # noqa: F811
    User.objects.create_user("kim", email="kim@example.com")
    client, landed = sign_in_with({"email": "kim@example.com", "email_verified": False})
    assert landed == "/login?failed=sso" and "_auth_user_id" not in client.session


def test_it_makes_a_user_of_a_name_already_taken_someone_new(sso: str) -> None:  # noqa: F811
    """preferred_username `lee` is a local user with another email: not theirs, not a 500"""
    lee = User.objects.create_user("lee", email="lee@local.example", password="pw-pw-pw-9")
    client, landed = sign_in_with({"email": "lee@idp.example", "preferred_username": "lee"})
    assert landed == "/"
    signed_in = User.objects.get(pk=client.session["_auth_user_id"])
    assert signed_in != lee and signed_in.username.startswith("lee-")
    assert not signed_in.is_staff and not signed_in.is_superuser


@pytest.mark.parametrize(("name", "value"), [("MESHLENS_OIDC_VERIFY", "maybe"),
                                             ("MESHLENS_OIDC_SCOPES", "profile")])
def test_it_checks_single_sign_ons_settings_at_start(name: str, value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"Unexpected value {name}={value}"):
        settings_from_env(oidc_env("https://idp.example", **{name: value}))


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/",
                                    "/\\evil.example"])
def test_it_follows_next_to_this_host_only_after_single_sign_on(
        sso: str, target: str) -> None:  # noqa: F811
    client, landed = sign_in_with({"email": "max@example.com", "preferred_username": "max"},
                                  f"/oidc/authenticate/?next={target}")
    assert "_auth_user_id" in client.session and landed == "/"
