"""A viewer whose access changes while the page is open, in Chromium under Meshlens's CSP: a
whole Meshlens (daphne, a worker and beat), the group edited from another process as an
admin would.

    checkout-v1 (shop) -> [productpage] -> productpage-v1
    bob sees bookinfo (checkout-v1 a name only); then bookinfo and shop; then shop alone
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import Page

from tests.browser.test_page_access import NODE, PASSWORD, node_data, series
from tests.support.accounts import make_user, run_django
from tests.support.meshlens import meshlens
from tests.support.redis import RedisServer

REGRANT = """
from dashboard.models import NamespaceAccess
grant = NamespaceAccess.objects.get(group__name="bob-team")
grant.namespaces = {patterns!r}
grant.save()
"""


class Running(NamedTuple):
    url: str
    workdir: Path
    redis_url: str


@pytest.fixture
def watched_meshlens(prometheus_with: Any, tmp_path: Path) -> Iterator[Running]:
    """Meshlens with sign-in on, a worker and beat on a Redis of its own; bob sees bookinfo."""
    prometheus = prometheus_with(series(), int(time.time()) // 15 * 15)
    with RedisServer(tmp_path / "redis") as redis_server:
        env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
               "MESHLENS_AUTH": "login", "MESHLENS_REFRESH_SECONDS": "2"}
        with meshlens(tmp_path / "meshlens", env, live=True) as url:
            make_user(tmp_path / "meshlens", "bob", PASSWORD, "bookinfo")
            yield Running(url, tmp_path / "meshlens", redis_server.url)


def eventually(page: Page, expression: str) -> None:
    """Wait until `expression` holds (a reconnect and a new scope's first build, on a busy
    machine, can take a while); polled with evaluate(), which the CSP allows."""
    for _ in range(1200):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {expression}")


def regrant(running: Running, patterns: str) -> None:
    run_django(running.workdir, REGRANT.format(patterns=patterns),
               {"REDIS_URL": running.redis_url})


def test_it_follows_a_viewers_access_while_the_page_is_open(
        strict_page: Page, watched_meshlens: Running) -> None:
    page, running = strict_page, watched_meshlens
    page.goto(f"{running.url}/login?next=/%3Fnamespaces%3Dbookinfo%26duration%3D60s")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    eventually(page, f"window.meshlens && window.meshlens.cy && ({NODE})('checkout-v1').length")
    assert node_data(page, "checkout-v1")[0]["isInaccessible"] is True

    # Given shop too: the page reconnects by itself and shows checkout-v1's traffic.
    regrant(running, "bookinfo, shop")
    eventually(page, f"({NODE})('checkout-v1').length && "
                     f"!({NODE})('checkout-v1')[0].data('isInaccessible')")
    assert "traffic" in node_data(page, "checkout-v1")[0]

    # bookinfo taken away: the page stops, refused, and is sent nothing more.
    regrant(running, "shop")
    page.wait_for_selector("#status-connection[data-state='refused']", timeout=60000)
