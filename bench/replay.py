"""Replay in headless Chromium: the time from choosing a replay frame to its graph on screen.

    .venv/bin/python bench/replay.py [--workloads 0 1000] [--frames 8]

For each size (0: the demo's Bookinfo, tests/mesh.py; N: bench/live_mesh.py's synthetic
mesh of N workloads over namespaces ns0-ns9), backfills 40 minutes of data into a real
Prometheus, starts Meshlens (daphne) on it, opens the page on a 30-minute replay
(`replay=30m`) and chooses frames on its slider, as a user drops the thumb. Prints, per
frame, from the slider's change event (the page's own clock) to the first animation frame
after the page shows that frame's graph (document.body.dataset.graphTimestamp):

  cold      the frame was never asked for: the API builds it (queries Prometheus), the
            page's model worker fetches and parses it, Cytoscape draws it (chosen once no
            other frame is being fetched)
  ahead     the frame was fetched ahead (as playback does, a few frames ahead of the
            playhead): read from the browser's cache (gzip, immutable), parsed, drawn
  api       the API alone for one frame never asked for (GET, gzip): the server's build,
            which a cold frame waits for
  playback  at 2x (a frame due every 500 ms): the gaps between frames drawn, which is
            what a viewer sees as smooth or not

The machine is shared: compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live_mesh import backfill_blocks, log, make_mesh  # noqa: E402
from tests import mesh  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.meshlens import meshlens  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

HISTORY_S = 40 * 60
STEP_S = 15
WINDOW = "30m"
FRAME_STEP_S = 30  # replay.js: a 30m window in 60 frames

# Choose frame t on the slider; resolves to the ms from the change event to the first
# animation frame after its graph is on screen.
CHOOSE = """t => new Promise(resolve => {
    const slider = document.getElementById('replay-slider');
    const began = performance.now();
    slider.value = String(t);
    slider.dispatchEvent(new Event('change'));
    const check = () => {
        if (document.body.dataset.graphTimestamp === String(t)) {
            requestAnimationFrame(() => resolve(performance.now() - began));
        } else {
            setTimeout(check, 2);
        }
    };
    check();
})"""

# Play at the current speed until `last` is shown; the ms between frames drawn.
PLAY = """last => new Promise(resolve => {
    const gaps = []; let seen = document.body.dataset.graphTimestamp; let at = performance.now();
    const check = () => {
        const now = document.body.dataset.graphTimestamp;
        if (now !== seen) { gaps.push(performance.now() - at); at = performance.now(); seen = now; }
        if (now === String(last)) resolve(gaps); else requestAnimationFrame(check);
    };
    document.getElementById('replay-play').click();
    check();
})"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values):.0f} ms, p90 {percentile(values, 0.9):.0f} ms, "
            f"max {max(values):.0f} ms ({len(values)} frames)")


def series_for(workloads: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    if workloads == 0:
        return mesh.bookinfo(ratings_503=1.5), "bookinfo"
    return make_mesh(workloads, seed), ",".join(f"ns{i}" for i in range(10))


def api_seconds(url: str, at: int) -> float:
    request = urllib.request.Request(url + f"&query_time={at}",
                                     headers={"Accept-Encoding": "gzip"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        response.read()
    return time.perf_counter() - began


def measure(page: Page, url: str, frames: int) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_function("document.body.dataset.graphTimestamp !== undefined", timeout=300_000)
    end = int(page.evaluate("new URL(location.href).searchParams.get('replay_end')"))
    start = end - 30 * 60
    # Cold: frames from the middle of the window on, none asked for before.
    cold_frames = [start + FRAME_STEP_S * (20 + 3 * i) for i in range(frames)]
    cold = []
    for t in cold_frames:
        # The frame ahead of the last one is fetched once that is shown: let it come first,
        # so that this frame's build does not share the cores with it.
        page.wait_for_function("window.meshlens.time.frames.pending() === 0", timeout=300_000)
        cold.append(page.evaluate(CHOOSE, t))
    # Ahead: fetched first (as playback does), then chosen.
    ahead_frames = [t + FRAME_STEP_S for t in cold_frames]
    page.evaluate("ts => Promise.all(ts.map(t => window.meshlens.time.frames.get(t)))",
                  ahead_frames)
    ahead = [page.evaluate(CHOOSE, t) for t in ahead_frames]
    # Playback at 2x over the window's last 10 frames.
    page.evaluate(CHOOSE, end - 10 * FRAME_STEP_S)
    page.select_option("#replay-speed", "2")
    gaps = page.evaluate(PLAY, end)
    nodes = page.evaluate("window.meshlens.graph.counted().nodes.total")
    drawn = page.evaluate("window.meshlens.cy.nodes().length")
    return {"nodes": nodes, "drawn": drawn, "cold": cold, "ahead": ahead, "playback": gaps}


def run_size(workloads: int, args: argparse.Namespace, base: Path) -> None:
    series, namespaces = series_for(workloads, args.seed)
    now = int(time.time())
    tsdb = backfill_blocks(series, base, now - HISTORY_S, now + 600, STEP_S, args.seed)
    with ExitStack() as exits:
        prometheus = PrometheusServer(tsdb, base / "prometheus")
        prometheus.start(timeout=300)
        exits.callback(prometheus.stop)
        redis_server = RedisServer(base / "redis").start()
        exits.callback(redis_server.stop)
        url = exits.enter_context(meshlens(base / "web", {
            "PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
            "MESHLENS_PROMETHEUS_TIMEOUT": "120"}))
        api = f"{url}/api/v1/graph?namespaces={namespaces}&duration=60s"
        first = int(time.time()) // 60 * 60 - 600
        builds = [1000 * api_seconds(api, first - 7 * i) for i in range(3)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            result = measure(page, f"{url}/?namespaces={namespaces}&duration=60s"
                                   f"&replay={WINDOW}", args.frames)
            browser.close()
    label = "demo (Bookinfo)" if workloads == 0 else f"{workloads:,} workloads"
    log(f"{label}: {result['nodes']:,} nodes ({result['drawn']:,} drawn: big graphs start "
        "with their namespaces folded)")
    log(f"  api       {summary(builds).replace('frames', 'builds')}")
    log(f"  cold      {summary(result['cold'])}")
    log(f"  ahead     {summary(result['ahead'])}")
    log(f"  playback  2x, a frame due every 500 ms: gaps {summary(result['playback'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, nargs="+", default=[0, 1000])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for workloads in args.workloads:
        with tempfile.TemporaryDirectory(prefix="meshlens-replay-") as tmp:
            run_size(workloads, args, Path(tmp))


if __name__ == "__main__":
    main()
