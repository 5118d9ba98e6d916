"""The main thread's work per live update of a big folded graph, in headless Chromium.

    .venv/bin/python bench/page_updates.py [--workloads 10000] [--deltas 8]
                                           [--against DIR] [--rounds 2]

Makes bench/page_render.py's synthetic graph (10 namespaces, folded on the page), hands it
to a real Meshlens page (the WebSocket stood in for), then sends `--deltas` graph.delta
messages by reference, as the live path sends big ones (the page's worker fetches them):
every edge's rate moved by up to 2 %, as in a live mesh. Each delta is traced (Chromium's
own trace), and for each it prints the time until drawn (the second frame after it), the
page's long tasks (over 50 ms of wall time, as the page's PerformanceObserver reports them),
and from the trace the CPU time of the main thread's longest task and of all its tasks, and
the worker's CPU time. On a shared machine a task's wall time stretches whenever the
machine is busy; its CPU time does not, which is what makes the trace's figures comparable.

`--against DIR`: the same, alternately, `--rounds` times each, in another checkout (its own
daphne and page; it needs bench/page_render.py): on a shared machine only figures of one run
side by side mean anything.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DELTA = """async href => {
    const tasks = [];
    const observer = new PerformanceObserver(list => {
        for (const e of list.getEntries()) tasks.push(e.duration);
    });
    observer.observe({type: 'longtask'});
    const t0 = performance.now();
    await window.meshlens.applyDelta({href});
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const ms = performance.now() - t0;
    await new Promise(r => setTimeout(r, 500));  // the tasks after it, reported late
    observer.disconnect();
    return {ms, tasks};
}"""


def moved_rates(graph: dict[str, Any], tick: int, rng: random.Random) -> dict[str, Any]:
    """Every edge's rate moved by up to 2 %, the rest as it was."""
    changed = []
    for e in graph["elements"]["edges"]:
        rates = dict(e["data"]["traffic"]["rates"])
        rates["http"] = f"{float(rates['http']) * rng.uniform(0.98, 1.02):.2f}"
        changed.append({"group": "edges", "data": {
            "id": e["data"]["id"], "traffic": {"protocol": "http", "rates": rates}}})
    return {"type": "graph.delta", "timestamp": graph["timestamp"] + 10 * tick, "added": [],
            "removed": [], "changed": changed}


def thread_cpu(trace: Path) -> tuple[float, float, float]:
    """(longest task, all tasks) of the page's main thread and all tasks of its workers, in
    ms of CPU time, from a Chromium trace."""
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("name") == "thread_name"}
    main: list[float] = []
    worker = 0.0
    for e in events:
        if e.get("ph") != "X" or e.get("name") != "ThreadControllerImpl::RunTask":
            continue
        thread = names.get((e["pid"], e["tid"]), "")
        if thread == "CrRendererMain":
            main.append(e.get("tdur", 0) / 1000)
        elif thread.startswith("DedicatedWorker"):
            worker += e.get("tdur", 0) / 1000
    return max(main, default=0.0), sum(main), worker


def run(root: Path, workloads: int, deltas: int) -> None:
    """One page of the checkout `root`, its figures printed."""
    sys.path.insert(0, str(root))
    from playwright.sync_api import sync_playwright

    from bench.page_render import synthetic_graph
    from graph.build import gc_paused
    from graph.layout import add_positions
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support.meshlens import meshlens
    from tests.support.redis import RedisServer

    graph = synthetic_graph(workloads)
    with gc_paused():
        add_positions(graph["elements"])
    rng = random.Random(3)
    bodies = {f"/bench/delta/{t}": json.dumps(moved_rates(graph, t, rng))
              for t in range(1, deltas + 1)}
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        env = {"PROMETHEUS_URL": "http://127.0.0.1:9", "REDIS_URL": redis.url}
        with meshlens(Path(tmp) / "web", env) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            page.route_web_socket("**/ws/graph?*", lambda ws: None)
            page.route("**/bench/delta/*", lambda route, request: route.fulfill(
                status=200, content_type="application/json",
                body=bodies[request.url.split(url, 1)[1]]))
            namespaces = ",".join(f"ns{i}" for i in range(10))
            page.goto(f"{url}/?namespaces={namespaces}")
            page.wait_for_function("window.meshlens !== undefined")
            page.evaluate("body => window.meshlens.applySnapshot(JSON.parse(body))",
                          json.dumps(graph))
            page.wait_for_timeout(1000)
            drawn = page.evaluate("[window.meshlens.cy.nodes().length, "
                                  "window.meshlens.cy.edges().length]")
            print(f"{root}: {workloads:,} workloads, {drawn[0]} nodes and {drawn[1]} edges "
                  "drawn (folded)")
            for href in bodies:
                trace = Path(tmp) / "trace.json"
                browser.start_tracing(page=page, path=str(trace),
                                      categories=["toplevel", "devtools.timeline"])
                got = page.evaluate(DELTA, href)
                browser.stop_tracing()
                longest, main_cpu, worker_cpu = thread_cpu(trace)
                tasks = sorted(got["tasks"], reverse=True)
                print(f"  delta {href.rsplit('/', 1)[1]}: drawn in {got['ms']:.0f} ms; long "
                      f"tasks {[round(t) for t in tasks]} ms (wall); main thread CPU: longest "
                      f"task {longest:.0f} ms, all {main_cpu:.0f} ms; worker CPU "
                      f"{worker_cpu:.0f} ms")
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--workloads", type=int, default=10000)
    parser.add_argument("--deltas", type=int, default=8)
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout, run alternately with this one")
    parser.add_argument("--rounds", type=int, default=2, help="with --against (default 2)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.against:
        run(args.root.resolve(), args.workloads, args.deltas)
        return
    here = Path(__file__).resolve().parent.parent
    for _ in range(args.rounds):
        for root in (args.against.resolve(), here):
            subprocess.run([sys.executable, __file__, "--root", str(root), "--workloads",
                            str(args.workloads), "--deltas", str(args.deltas)], check=True)


if __name__ == "__main__":
    main()
