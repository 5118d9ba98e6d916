"""What the live benchmark reads from the page in headless Chromium.

Everything is measured by the page's own clock (performance.now(), from the start of the
navigation) and read back at the end, so that Playwright's round trips do not count:
- the first graph: window.meshlens.cy holds nodes, document.body.dataset.graphTimestamp is
  set (and window.meshlens.version, when the page has one), then a frame is drawn;
- frame times while panning: requestAnimationFrame deltas while cy.panBy runs every frame;
- main-thread blocking per update: 'longtask' entries (PerformanceObserver) between one
  WebSocket message and the next;
- bytes per update: the WebSocket message, plus the body fetched over HTTP for a message
  sent by reference (as it came over the wire: gzip-compressed), from the page's worker too.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, Page, Request, WebSocket
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# Installed before the page's own scripts: long tasks, and the WebSocket messages the page
# gets (arrival time, type, size), whatever the transport does with them afterwards.
INIT_SCRIPT = """
window.__bench = {longtasks: [], messages: [], sockets: 0};
try {
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
  }).observe({type: 'longtask', buffered: true});
} catch (e) {}
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    window.__bench.sockets += 1;
    this.addEventListener('message', event => {
      const text = typeof event.data === 'string' ? event.data : '';
      const found = /"type"\\s*:\\s*"([^"]+)"/.exec(text.slice(0, 200));
      const version = /"version"\\s*:\\s*(\\d+)/.exec(text.slice(0, 200));
      window.__bench.messages.push([performance.now(), found ? found[1] : 'binary',
                                    text.length || event.data.size || 0,
                                    version ? Number(version[1]) : null]);
    });
  }
};
"""

# Polled in requestAnimationFrame callbacks: once the graph is in, the time of the next
# frame (the one after the frame that drew it), with the counts; one polling step, so that
# nothing more need be asked of a page that may be busy laying the graph out.
READY = """() => {
  const m = window.meshlens, b = window.__bench;
  if (b.readyAt !== undefined) return [performance.now(), m.cy.nodes().length, m.cy.edges().length];
  if (!m || !m.cy || document.body.dataset.graphTimestamp === undefined) return false;
  if ('version' in m && !m.version) return false;
  if (m.cy.nodes().length > 0) b.readyAt = performance.now();
  return false;
}"""

NEXT_FRAME = """() => new Promise(resolve =>
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now()))))"""

PAN = """ms => new Promise(resolve => {
  const cy = window.meshlens.cy, deltas = [];
  let last = null, end = null, sign = 1, frames = 0;
  function step(t) {
    if (last !== null) deltas.push(t - last);
    if (end === null) end = t + ms;
    last = t;
    if (++frames % 60 === 0) sign = -sign;  // back and forth, so the graph stays in view
    cy.panBy({x: 6 * sign, y: 3 * sign});
    if (t < end) requestAnimationFrame(step); else resolve(deltas);
  }
  requestAnimationFrame(step);
})"""


@dataclass
class FirstGraph:
    seconds: float | None  # None: no graph within the timeout
    nodes: int = 0
    edges: int = 0
    note: str = ""


@dataclass
class Updates:
    count: int = 0
    types: list[str] = field(default_factory=list)
    max_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)  # socket message + HTTP body (compressed)
    note: str = ""


# Graph bodies fetched by each page (its workers' requests included): (path, version, bytes).
FETCHED: dict[int, list[tuple[str, int, int]]] = {}
BY_REFERENCE = re.compile(r"(/api/v1/(?:snapshot|delta))\?.*version=(\d+)")


def open_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                  bypass_csp=True)  # wait_for_function uses eval()
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    fetched = FETCHED.setdefault(id(page), [])

    def finished(request: Request) -> None:
        found = BY_REFERENCE.search(request.url)
        if found:
            fetched.append((found[1], int(found[2]), request.sizes()["responseBodySize"]))

    context.on("requestfinished", finished)
    return page


def first_graph(page: Page, url: str, timeout_s: float) -> FirstGraph:
    # What the browser received, counted outside the page: a page stuck in a long task
    # answers no evaluate, but its WebSocket frames still reach Playwright.
    sockets: list[list[str]] = []

    def opened(ws: WebSocket) -> None:
        got: list[str] = []
        sockets.append(got)
        ws.on("framereceived", lambda payload: got.append(message_type(payload)))

    page.on("websocket", opened)
    page.goto(url, wait_until="commit")
    try:
        handle = page.wait_for_function(READY, polling="raf", timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        received = [kind for got in sockets for kind in got]
        return FirstGraph(None, note=f"no graph within {timeout_s:.0f} s: the page opened "
                                     f"{len(sockets)} WebSocket(s) and got "
                                     f"{summarise(received)}")
    finally:
        page.remove_listener("websocket", opened)
    drawn_ms, nodes, edges = handle.json_value()
    return FirstGraph(round(drawn_ms / 1000, 2), nodes, edges)


def message_type(payload: str | bytes) -> str:
    text = payload if isinstance(payload, str) else ""
    found = re.search(r'"type"\s*:\s*"([^"]+)"', text[:200])
    return found.group(1) if found else "binary"


def summarise(kinds: list[str]) -> str:
    if not kinds:
        return "no message"
    counts = Counter(kinds)
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def pan_frames(page: Page, seconds: float) -> list[float]:
    """Milliseconds between frames while panning every frame for `seconds`."""
    return list(page.evaluate(PAN, seconds * 1000))


def updates(page: Page, count: int, timeout_s: float) -> Updates:
    """Wait for `count` more WebSocket messages; the long tasks of each, from its arrival
    to the next message (or to the end, for the last)."""
    start = page.evaluate("window.__bench.messages.length")
    try:
        page.wait_for_function(f"() => window.__bench.messages.length >= {start + count}",
                               timeout=timeout_s * 1000, polling=250)
    except PlaywrightTimeout:
        pass
    # The last message may be a reference still being fetched: wait until the page shows
    # its version (when the page tells its version), then for a frame.
    last = page.evaluate("() => (window.__bench.messages.at(-1) || [])[3] ?? null")
    if last is not None:
        try:
            page.wait_for_function("v => !('version' in window.meshlens) || "
                                   "window.meshlens.version >= v", arg=last,
                                   timeout=timeout_s * 1000, polling=250)
        except PlaywrightTimeout:
            pass
    page.evaluate(NEXT_FRAME)
    page.wait_for_timeout(1000)  # let the last update's work finish and be reported
    bench: dict[str, Any] = page.evaluate("window.__bench")
    messages = bench["messages"][start:]
    out = Updates(count=len(messages))
    if len(messages) < count:
        out.note = f"only {len(messages)} of {count} updates within {timeout_s:.0f} s"
    now = page.evaluate("performance.now()")
    fetched = FETCHED.get(id(page), [])
    for i, (arrived, kind, size, version) in enumerate(messages):
        until = messages[i + 1][0] if i + 1 < len(messages) else now
        tasks = [d for t, d in bench["longtasks"] if arrived <= t < until]
        path = "/api/v1/snapshot" if kind == "graph.snapshot" else "/api/v1/delta"
        body = sum(n for p, v, n in fetched if p == path and v == version)
        out.bytes.append(size + body)
        out.types.append(kind)
        out.max_ms.append(max(tasks, default=0.0))
        out.total_ms.append(sum(tasks))
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def frame_summary(deltas: list[float]) -> str:
    if not deltas:
        return "no frames"
    median = statistics.median(deltas)
    return (f"median {median:.1f} ms ({1000 / median:.0f} frames/s), "
            f"p95 {percentile(deltas, 0.95):.1f} ms, {len(deltas)} frames")
