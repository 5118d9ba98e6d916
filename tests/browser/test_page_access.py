"""Signing in, seeing only one's namespaces, and API tokens, in Chromium under the CSP
Meshlens sends (no unsafe-inline): a whole Meshlens with MESHLENS_AUTH=login, a worker
building bob's limited scope.

    checkout-v1 (shop) -> [productpage] -> productpage-v1 -> [pay (billing)] -> pay-v1
    bob sees bookinfo: checkout-v1 and pay drawn without details, pay-v1 not at all
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page

from tests import mesh
from tests.browser.csp import until
from tests.support.accounts import make_user
from tests.support.meshlens import meshlens
from tests.support.redis import RedisServer

CHECKOUT = mesh.Workload("shop", "checkout-v1", "checkout", service="checkout")
PAY = mesh.Workload("billing", "pay-v1", "pay", service="pay")
PASSWORD = "bookinfo-only-7"
SECRET = re.compile(r"mlt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def series() -> list[dict[str, Any]]:
    return (mesh.bookinfo() + mesh.request_edge(CHECKOUT, mesh.PRODUCTPAGE, {"200": 2.0})
            + mesh.request_edge(mesh.PRODUCTPAGE, PAY, {"200": 1.0}))


@pytest.fixture(scope="module")
def signed_meshlens(prometheus_with: Any, tmp_path_factory: pytest.TempPathFactory,
                    ) -> Iterator[str]:
    """Meshlens with sign-in on, a worker and beat on a Redis of its own; bob sees bookinfo."""
    now = int(time.time()) // 15 * 15
    prometheus = prometheus_with(series(), now)
    workdir: Path = tmp_path_factory.mktemp("access")
    with RedisServer(workdir / "redis") as redis_server:
        env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
               "MESHLENS_AUTH": "login", "MESHLENS_REFRESH_SECONDS": "2"}
        with meshlens(workdir / "meshlens", env, live=True) as url:
            make_user(workdir / "meshlens", "bob", PASSWORD, "bookinfo")
            yield url


def no_violations(page: Page) -> None:
    assert page.evaluate("window.cspViolations") == []


NODE = "label => window.meshlens.cy.nodes().filter(n => n.data('label') === label)"


def node_data(page: Page, label: str) -> list[dict[str, Any]]:
    return list(page.evaluate(f"label => ({NODE})(label).map(n => n.data())", label))


def test_it_signs_in_shows_only_the_namespaces_granted_and_makes_tokens(
        strict_page: Page, signed_meshlens: str) -> None:
    page, url = strict_page, signed_meshlens
    # Sign in: the page sends a visitor to Meshlens's own sign-in page, and back after.
    answer = page.goto(f"{url}/?namespaces=bookinfo&duration=60s")
    assert answer is not None and "unsafe-inline" not in answer.headers[
        "content-security-policy"]
    assert page.url.startswith(f"{url}/login?next=")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "do not match" in page.inner_text("[role=alert]")
    no_violations(page)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/?namespaces=bookinfo&duration=60s")
    # Seen as bob: shop's caller and billing's service drawn without details, pay-v1 not
    # at all (one snapshot brings them all).
    until(page, f"window.meshlens && window.meshlens.cy && ({NODE})('checkout-v1').length")
    checkout = node_data(page, "checkout-v1")[0]
    assert checkout["isInaccessible"] is True and "traffic" not in checkout
    assert node_data(page, "pay")[0]["isInaccessible"] is True
    assert node_data(page, "pay-v1") == []
    assert "traffic" in node_data(page, "productpage-v1")[0]
    # The namespace picker lists bookinfo alone.
    with page.expect_response(lambda r: "/api/v1/namespaces" in r.url) as listed:
        page.click("#ns-button")
    assert listed.value.json() == {"namespaces": ["bookinfo"]}
    page.wait_for_selector("#ns-menu:not([hidden])")
    assert page.eval_on_selector_all("#ns-menu input", "els => els.map(e => e.value)") == [
        "bookinfo"]
    page.click("#ns-button")
    no_violations(page)

    # A token, made on the tokens page and shown once.
    page.click("text=API tokens")
    page.wait_for_url(f"{url}/tokens")
    page.fill("input[name=name]", "ci")
    page.select_option("select[name=expires]", "7")
    page.fill("input[name=namespaces]", "bookinfo, shop")
    page.click("text=Create token")
    assert "not within your namespaces: shop" in page.inner_text("[role=alert]")
    page.fill("input[name=namespaces]", "bookinfo")
    page.click("text=Create token")
    secret = page.inner_text("#new-token")
    assert SECRET.fullmatch(secret)
    bearer = {"Authorization": f"Bearer {secret}"}
    graph = requests.get(f"{url}/api/v1/graph", params={"namespaces": "bookinfo"},
                         headers=bearer, timeout=60)
    assert graph.status_code == 200 and b"pay-v1" not in graph.content
    assert requests.get(f"{url}/api/v1/graph", params={"namespaces": "shop"},
                        headers=bearer, timeout=60).status_code == 403
    page.goto(f"{url}/tokens")
    assert secret not in page.content() and secret[:12] in page.content()
    no_violations(page)

    # Revoked: the token no longer opens the API.
    page.click("text=Revoke")
    page.wait_for_selector("td:text-is('revoked')")
    revoked = requests.get(f"{url}/api/v1/namespaces", headers=bearer, timeout=60)
    assert revoked.status_code == 401
    assert revoked.json() == {"error": "the token was revoked"}
    no_violations(page)

    # Signed out: back to the sign-in page.
    page.click("text=Sign out bob")
    page.wait_for_url(f"{url}/login")
    page.goto(f"{url}/?namespaces=bookinfo")
    assert page.url.startswith(f"{url}/login?next=")
    no_violations(page)
