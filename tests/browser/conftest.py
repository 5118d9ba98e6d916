"""A real Meshlens (daphne) on a free port, over the session's Redis and a backfilled
Prometheus, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests import mesh
from tests.browser.csp import RECORD_VIOLATIONS
from tests.support.meshlens import meshlens

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MESHLENS_CHROMIUM", "/usr/bin/chromium")
# Without a GPU, Chromium gives WebGL through SwiftShader only when told that this is
# wanted (its automatic fallback is deprecated): the big-graph tests draw through it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


RATINGS_V2 = mesh.Workload("bookinfo", "ratings-v2", "ratings", "v2", service="ratings")
MTLS = {"connection_security_policy": "mutual_tls",
        "source_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews",
        "destination_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings"}
PLAIN = {"connection_security_policy": "none"}


def timings(src: mesh.Workload, dst: mesh.Workload, rps: float, ms: float) -> list[dict[str, Any]]:
    """Response times of an edge: a third of the requests under `ms`/2, a third under `ms`,
    the rest under 2 * `ms`; `ms` on average; request and response bytes, 100 and 2000 each."""
    buckets = {f"{ms / 2:g}": rps / 3, f"{ms:g}": 2 * rps / 3, f"{2 * ms:g}": rps, "+Inf": rps}
    return (mesh.duration_histogram(src, dst, buckets, sum_ms=rps * ms)
            + mesh.bytes_edge(src, dst, request=100 * rps, response=2000 * rps))


def page_mesh(now: int) -> list[dict[str, Any]]:
    """Bookinfo as the page tests see it: mutual TLS everywhere but productpage -> details
    (plain) and reviews-v3 -> ratings (two thirds); response times and bytes on every edge;
    reviews-v3 -> ratings-v2 idle since half an hour.

    productpage -> reviews-v2: 3 rps; 40 ms avg, p50 30 ms, p95 77 ms; 300 B/s request,
    6 kB/s response.
    """
    plain = {mesh.DETAILS.workload}
    series = []
    for item in mesh.bookinfo(ratings_503=1.5):
        lbl = item["labels"]
        edge = (lbl["source_workload"], lbl["destination_workload"])
        if edge == ("reviews-v3", "ratings-v1"):
            series += [item | {"rate": item["rate"] * 2 / 3, "labels": lbl | MTLS},
                       item | {"rate": item["rate"] / 3, "labels": lbl | PLAIN}]
        else:
            series.append(item | {"labels": lbl | (PLAIN if edge[1] in plain else MTLS)})
    edges = [(mesh.INGRESS, mesh.PRODUCTPAGE, 10.0, 30.0),
             (mesh.PRODUCTPAGE, mesh.DETAILS, 10.0, 8.0),
             (mesh.PRODUCTPAGE, mesh.REVIEWS_V1, 4.0, 20.0),
             (mesh.PRODUCTPAGE, mesh.REVIEWS_V2, 3.0, 40.0),
             (mesh.PRODUCTPAGE, mesh.REVIEWS_V3, 3.0, 50.0),
             (mesh.REVIEWS_V2, mesh.RATINGS, 3.0, 6.0),
             (mesh.REVIEWS_V3, mesh.RATINGS, 3.0, 6.0)]
    for src, dst, rps, ms in edges:
        series += timings(src, dst, rps, ms)
    idle = mesh.with_labels(mesh.request_edge(mesh.REVIEWS_V3, RATINGS_V2, {"200": 1.0}), **MTLS)
    return series + [item | {"rates": [[now - 1800, 0.0]]} for item in idle]


@pytest.fixture(scope="session")
def browser_prometheus(prometheus_with: Any) -> Any:
    """Bookinfo ending now (the page is always live), reviews-v2 -> ratings failing 50 %,
    with the mTLS, response times, bytes and idle edge of `page_mesh`."""
    now = int(time.time()) // 15 * 15
    return prometheus_with(page_mesh(now), now)


@pytest.fixture(scope="session")
def meshlens_url(browser_prometheus: Any, redis_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"PROMETHEUS_URL": browser_prometheus.url, "REDIS_URL": redis_server}
    with meshlens(tmp_path_factory.mktemp("daphne"), env) as url:
        yield url


def console_error(message: ConsoleMessage) -> str:
    """A console error with where it came from: Chromium's "Failed to load resource" names
    neither the request nor the status alone."""
    url = message.location.get("url", "")
    return f"{message.text} ({url})" if url else message.text


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
    # Playwright's wait_for_function evaluates its predicate with eval(), which the page's
    # Content-Security-Policy forbids; test_page_security.py tests the page under it.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(console_error(m)) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"


# --- the page as a user sees it -------------------------------------------------------------

SHOTS = ROOT / "test-results"

# What one element looks like on screen. `key`: an id, a node label, "box:<label>" for a
# box, or "<source label>><target label>" for an edge.
LOOK = """key => {
    const cy = window.meshlens.cy;
    let ele = cy.getElementById(key);
    if (key.startsWith('box:')) {
        ele = cy.nodes('[isBox]').filter(n => n.data('label') === key.slice(4));
    } else if (ele.empty() && key.includes('>')) {
        const [a, b] = key.split('>');
        ele = cy.edges().filter(e => e.source().data('label') === a
                                     && e.target().data('label') === b);
    } else if (ele.empty()) {
        ele = cy.nodes().filter(n => n.data('label') === key && !n.data('isBox'));
    }
    if (ele.length !== 1) return null;
    const look = {id: ele.id(), label: ele.style('label'), opacity: Number(ele.style('opacity')),
                  classes: ele.classes(), data: ele.data()};
    if (ele.isNode()) {
        const box = ele.boundingBox({includeLabels: false});
        Object.assign(look, {shape: ele.style('shape'), border: ele.style('border-style'),
                             parent: ele.parent().nonempty() ? ele.parent().data('label') : null,
                             children: ele.children().map(c => c.style('label')).sort(),
                             box: [box.x1, box.y1, box.x2, box.y2]});
    } else {
        const mid = ele.renderedMidpoint();
        Object.assign(look, {line: ele.style('line-style'), mid: [mid.x, mid.y]});
    }
    return look;
}"""


class GraphPage:
    """The graph page in Chromium, read the way a user reads it: what is drawn, the legend,
    the URL, and the WebSocket queries the page opened (`sockets`)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[dict[str, str]] = []
        self.socket_queries: list[str] = []
        page.on("websocket", lambda ws: self.opened(ws.url))

    def opened(self, url: str) -> None:
        """Record a WebSocket the page opened (routed sockets are recorded by their route)."""
        self.sockets.append(query_of(url))
        self.socket_queries.append(urlsplit(url).query)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("document.body.dataset.graphTimestamp !== undefined",
                                    timeout=15000)

    def wait_for(self, predicate: str, arg: Any = None, timeout: float = 10000) -> None:
        """Wait until `predicate` (a JS function of `cy` and `arg`) holds."""
        self.page.wait_for_function(f"arg => ({predicate})(window.meshlens.cy, arg)", arg=arg,
                                    timeout=timeout)

    def wait_for_sockets(self, count: int) -> dict[str, str]:
        """The query of the `count`-th WebSocket the page opened, once it has opened and
        the page shows the first graph it brought. (Waiting on what is drawn alone would
        not do: the page empties the graph when the view changes, and an empty graph
        already satisfies "no app nodes".)"""
        # Polled: the page's "websocket" event may have come before this call. Bounded as
        # the wait below, not by a shorter one: a busy machine slows the page's reply too.
        for _ in range(300):
            if len(self.sockets) >= count:
                break
            self.page.wait_for_timeout(50)
        assert len(self.sockets) == count, self.sockets
        self.page.wait_for_function("query => window.meshlens.state.shown.query === query",
                                    arg=self.socket_queries[-1], timeout=15000)
        return self.sockets[-1]

    def look(self, key: str) -> dict[str, Any]:
        found = self.page.evaluate(LOOK, key)
        assert found is not None, f"no single element {key!r} on the page"
        return found

    def has(self, key: str) -> bool:
        return self.page.evaluate(LOOK, key) is not None

    def tap(self, key: str) -> None:
        """Tap an element as a user would click it (it opens the side panel)."""
        element_id = self.look(key)["id"]
        # Returns nothing: serialising a Cytoscape collection back to Python takes seconds.
        self.page.evaluate("id => { window.meshlens.cy.getElementById(id).emit('tap'); }",
                           element_id)

    def labels(self, selector: str = "node") -> list[str]:
        return self.page.evaluate(
            "s => window.meshlens.cy.elements(s).map(e => e.data('label')).sort()", selector)

    def styles(self, selector: str, prop: str) -> list[str]:
        """`prop` of every element that `selector` (a Cytoscape selector) matches."""
        return self.page.evaluate("([s, p]) => window.meshlens.cy.elements(s).map(e => e.style(p))",
                                  [selector, prop])

    def legend(self) -> list[str]:
        return self.page.eval_on_selector_all("#legend li[data-key]",
                                              "items => items.map(li => li.dataset.key)")

    def display(self, toggle_id: str, on: bool = True) -> None:
        """Tick or untick a box of the Display menu, opening the menu first."""
        if self.page.locator("#display-menu").is_hidden():
            self.page.click("#display-button")
        self.page.set_checked(f"#{toggle_id}", on)

    def badges(self) -> list[dict[str, Any]]:
        return self.page.eval_on_selector_all(".edge-badge:not([hidden])", """badges => {
            const g = document.getElementById('graph').getBoundingClientRect();
            return badges.map(b => {
                const r = b.getBoundingClientRect();
                return {edge: b.dataset.edgeId, partial: b.dataset.partial === 'true',
                        x: r.x + r.width / 2 - g.x, y: r.y + r.height / 2 - g.y, title: b.title};
            });
        }""")

    def url(self) -> dict[str, str]:
        return query_of(self.page.url)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def graph_page(page: Page) -> GraphPage:
    return GraphPage(page)


@pytest.fixture
def strict_page(browser: Browser) -> Iterator[Page]:
    """A page under the CSP Meshlens sends (the `page` fixture bypasses it)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    violations = page.evaluate("window.cspViolations")
    context.close()
    assert errors == [], f"browser errors: {errors} {violations}"
