"""Meshlens's own sign-in page: /login, /logout, next= kept and checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="wonderland-7")


def test_it_sends_visitors_to_its_own_sign_in_page(settings: Any) -> None:
    settings.MESHLENS_AUTH = "login"
    page = Client().get("/?namespaces=bookinfo")
    assert page.status_code == 302
    assert page["Location"] == "/login?next=/%3Fnamespaces%3Dbookinfo"
    form = Client().get(page["Location"])
    assert form.status_code == 200
    body = form.content.decode()
    assert 'name="next" value="/?namespaces=bookinfo"' in body
    assert "<script" not in body and "<style" not in body and " style=" not in body


def test_it_signs_in_and_follows_next(alice: User) -> None:
    client = Client()
    response = client.post("/login", {"username": "alice", "password": "wonderland-7",
                                      "next": "/?namespaces=shop"})
    assert response.status_code == 302 and response["Location"] == "/?namespaces=shop"
    assert client.session.get("_auth_user_id") == str(alice.pk)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "http://testserver.evil.example/"])
def test_it_refuses_an_open_redirect(alice: User, target: str) -> None:
    response = Client().post("/login", {"username": "alice", "password": "wonderland-7",
                                        "next": target})
    assert response.status_code == 302 and response["Location"] == "/"


def test_it_says_when_the_password_is_wrong(alice: User) -> None:
    response = Client().post("/login", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content


def test_it_signs_out_on_post_only(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert "_auth_user_id" not in client.session
