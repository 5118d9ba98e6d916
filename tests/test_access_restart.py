"""Users, groups, their namespaces, sessions and API tokens live in the database: a web
process started again on it (as after a deploy or a crash) knows them all.

    daphne #1 --(bob signs in, makes two tokens, revokes one)--> db.sqlite3
    daphne #2 on the same db: bob's session, password, namespaces and tokens hold

Bookinfo ending now (tests/mesh.py), with checkout-v1 (shop) -> productpage."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import requests

from tests import mesh
from tests.support.accounts import make_user, run_django
from tests.support.meshlens import meshlens

CHECKOUT = mesh.Workload("shop", "checkout-v1", "checkout", service="checkout")
PASSWORD = "kept-across-7"
SECRET = re.compile(r"mlt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def sign_in(url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/login", timeout=30)
    signed = session.post(f"{url}/login", timeout=30, allow_redirects=False, data={
        "username": "bob", "password": PASSWORD, "next": "/",
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert signed.status_code == 302 and signed.headers["Location"] == "/"
    return session


def make_token(session: requests.Session, url: str, name: str) -> str:
    page = session.post(f"{url}/tokens", timeout=30, data={
        "name": name, "expires": "30", "namespaces": "",
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    found = SECRET.findall(page.text)
    assert page.status_code == 200 and len(found) == 1, page.text[:500]
    return found[0]


def api(url: str, secret: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{url}{path}", params=params, timeout=60,
                        headers={"Authorization": f"Bearer {secret}"})


def test_it_keeps_users_groups_sessions_and_tokens_across_a_restart(
        prometheus_with: Any, redis_server: str, tmp_path: Path) -> None:
    now = int(time.time()) // 15 * 15
    prometheus = prometheus_with(
        mesh.bookinfo() + mesh.request_edge(CHECKOUT, mesh.PRODUCTPAGE, {"200": 2.0}), now)
    env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server,
           "MESHLENS_AUTH": "login", "MESHLENS_TOKEN_BURST": "1000"}
    workdir = tmp_path / "meshlens"
    with meshlens(workdir, env) as url:
        make_user(workdir, "bob", PASSWORD, "bookinfo")
        session = sign_in(url)
        kept = make_token(session, url, "kept")
        revoked = make_token(session, url, "revoked")
        pk = run_django(workdir, "from dashboard.models import ApiToken; "
                                 "print(ApiToken.objects.get(name='revoked').pk)").strip()
        gone = session.post(f"{url}/tokens/{pk}/revoke", timeout=30, allow_redirects=False,
                            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]})
        assert gone.status_code == 302
        assert api(url, kept, "/api/v1/namespaces").json() == {"namespaces": ["bookinfo"]}

    with meshlens(workdir, env) as url:
        # The session signed in before: still signed in, still limited.
        listed = session.get(f"{url}/api/v1/namespaces", timeout=30)
        assert listed.json() == {"namespaces": ["bookinfo"]}
        assert "Sign out bob" in session.get(f"{url}/tokens", timeout=30).text
        # The password, the group's namespaces, the tokens and the revocation.
        again = sign_in(url)
        assert again.get(f"{url}/api/v1/graph", params={"namespaces": "shop"},
                         timeout=30).status_code == 403
        graph = api(url, kept, "/api/v1/graph", namespaces="bookinfo")
        assert graph.status_code == 200
        checkout = next(n["data"] for n in graph.json()["elements"]["nodes"]
                        if n["data"].get("workload") == "checkout-v1")
        assert checkout["isInaccessible"] is True and "traffic" not in checkout
        assert api(url, kept, "/api/v1/graph", namespaces="shop").status_code == 403
        assert api(url, revoked, "/api/v1/namespaces").json() == {
            "error": "the token was revoked"}
