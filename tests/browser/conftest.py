"""A real Meshlens (daphne) on a free port, over the session's Redis and a backfilled
Prometheus, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests import mesh
from tests.support.ports import free_port, wait_until
from tests.support.process import spawn, stop, tail

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MESHLENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser_prometheus(prometheus_with: Any) -> Any:
    """Bookinfo ending now (the page is always live), reviews-v2 -> ratings failing 50 %."""
    now = int(time.time()) // 15 * 15
    return prometheus_with(mesh.bookinfo(ratings_503=1.5), now)


@pytest.fixture(scope="session")
def meshlens_url(browser_prometheus: Any, redis_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("daphne")
    env = {"PROMETHEUS_URL": browser_prometheus.url, "REDIS_URL": redis_server,
           "MESHLENS_DB": str(workdir / "db.sqlite3"), "DJANGO_SETTINGS_MODULE":
           "dashboard.settings"}
    process = spawn([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                     "dashboard.asgi:application"], workdir / "daphne.log", cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        import urllib.request
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return True
        except OSError as exc:  # 503 (no worker in these tests) still means it is up
            return getattr(exc, "code", None) == 503

    if not wait_until(up, 30, abort=lambda: process.poll() is not None):
        stop(process)
        raise RuntimeError(f"daphne did not start:\n{tail(workdir / 'daphne.log')}")
    yield url
    stop(process)


# Module scope: Playwright's sync API runs an event loop of its own while it is open, and
# must close it before the asyncio tests elsewhere in the session run theirs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"
