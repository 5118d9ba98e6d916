"""The page under its Content-Security-Policy (no unsafe-inline): used as a user uses it,
Chromium reports no violation. And the embed view in other sites' frames: drawn inside a
page of an allowed origin, refused inside any other.

    allowed portal (port A) --frames--> /embed/graph   drawn
    other site     (port B) --frames--> /embed/graph   refused (frame-ancestors)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Frame, Page

from tests.browser.conftest import GraphPage
from tests.browser.csp import RECORD_VIOLATIONS, until
from tests.support.meshlens import meshlens
from tests.support.ports import free_port

HAS_REVIEWS_V2 = ("window.meshlens && window.meshlens.cy"
                  " && window.meshlens.cy.nodes().some(n => n.data('label') === 'reviews-v2')")


def test_it_raises_no_policy_violation_in_use(strict_page: Page, meshlens_url: str) -> None:
    page = strict_page
    graph_page = GraphPage(page)
    answer = page.goto(f"{meshlens_url}/?namespaces=bookinfo&duration=5m")
    assert answer is not None
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    until(page, HAS_REVIEWS_V2)
    page.click("#ns-button")
    page.wait_for_selector("#ns-menu:not([hidden])")
    page.click("#ns-button")
    with page.expect_response(lambda r: "/api/v1/series?" in r.url):
        graph_page.tap("reviews-v2")
    page.wait_for_selector("#side-panel .charts[data-state=shown]")
    with page.expect_response(lambda r: "/api/v1/series?" in r.url):
        page.click("#graph-charts-button")
    page.wait_for_selector("#side-panel .charts[data-state=shown]")
    graph_page.display("badge-security")
    graph_page.display("box-namespace")
    until(page, "window.meshlens.cy.nodes('[isBox]').length > 0")
    assert page.evaluate("window.cspViolations") == []


class Portal(BaseHTTPRequestHandler):
    """Another site's page framing Meshlens's embed view (server.embed_url)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        embed_url: str = self.server.embed_url  # type: ignore[attr-defined]
        body = (f'<!doctype html><title>Portal</title><h1>Portal</h1>'
                f'<iframe id="mesh" src="{embed_url}" width="900" height="600"></iframe>')
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def portals() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    """Two local sites on ports of their own: the first one allowed to frame the embed
    view, the second not."""
    servers = [ThreadingHTTPServer(("127.0.0.1", free_port()), Portal) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield servers[0], servers[1]
    for server in servers:
        server.shutdown()
        server.server_close()


def origin(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def embed_meshlens(browser_prometheus: Any, redis_server: str, tmp_path_factory: Any,
                   portals: tuple[ThreadingHTTPServer, ThreadingHTTPServer]) -> Iterator[str]:
    allowed, _ = portals
    env = {"PROMETHEUS_URL": browser_prometheus.url, "REDIS_URL": redis_server,
           "MESHLENS_EMBED_ORIGINS": origin(allowed)}
    workdir: Path = tmp_path_factory.mktemp("embed")
    with meshlens(workdir, env) as url:
        embed_url = f"{url}/embed/graph?namespaces=bookinfo&duration=5m"
        for server in portals:
            server.embed_url = embed_url  # type: ignore[attr-defined]
        yield url


def framed(page: Page) -> Frame:
    frame = page.frame_locator("#mesh").owner.element_handle().content_frame()
    assert frame is not None
    return frame


def test_it_draws_the_embed_view_in_an_allowed_frame(
        browser: Browser, embed_meshlens: str,
        portals: tuple[ThreadingHTTPServer, ThreadingHTTPServer]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(origin(portals[0]))
    frame = framed(page)
    frame.evaluate(RECORD_VIOLATIONS)
    until(frame, HAS_REVIEWS_V2)
    assert frame.url.startswith(f"{embed_meshlens}/embed/graph?")
    # No chrome: the toolbar, status bar and side panel take no room.
    assert frame.evaluate("""() => ['.toolbar', '.status-bar', '.side-panel'].map(
        s => document.querySelector(s).getBoundingClientRect().height)""") == [0, 0, 0]
    page.screenshot(path=str(Path(__file__).resolve().parents[2] / "test-results"
                             / "embed-allowed.png"))
    violations = frame.evaluate("window.cspViolations")
    context.close()
    assert (errors, violations) == ([], [])


def test_it_refuses_the_embed_view_in_another_origins_frame(
        browser: Browser, embed_meshlens: str,
        portals: tuple[ThreadingHTTPServer, ThreadingHTTPServer]) -> None:
    context = browser.new_context()
    page = context.new_page()
    with page.expect_response(lambda r: "/embed/graph?" in r.url) as answer:
        page.goto(origin(portals[1]))
    assert answer.value.status == 200
    assert f"frame-ancestors {origin(portals[0])}" in answer.value.headers[
        "content-security-policy"]
    page.wait_for_load_state("load")
    frame = framed(page)
    # Chromium puts its error page in place of the refused document: Meshlens never runs.
    assert not frame.url.startswith(embed_meshlens)
    assert frame.evaluate("typeof window.meshlens") == "undefined"
    context.close()
