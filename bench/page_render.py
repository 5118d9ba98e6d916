"""How fast the page draws a big graph, in headless Chromium.

    .venv/bin/python bench/page_render.py [--workloads 1000 10000] [--renderer auto]
                                          [--shots DIR]

For each size, makes a graph shaped like bench/graph_build.py's synthetic mesh (workloads of
1-3 versions behind one service per app, over 10 namespaces; 3 edges per workload from
callers to services, and service -> version edges; ~1.5 nodes and ~4.7 edges per workload),
lays it out with graph/layout.py as the server does, and hands it to the page
(`window.meshlens.applySnapshot`, on a real Meshlens page served by daphne; the WebSocket is
stood in for). Prints:

  layout     graph/layout.py CPU, fresh and again with one node more (the per-tick cost)
  parse      JSON.parse of the body in the page
  draw       applySnapshot until the second animation frame after it (namespaces folded)
  delta      a graph.delta (500 edges changed, a node and an edge added) applied, until
             the second frame after it: the main thread's work per live update
  unfold     unfolding every namespace until the second frame after it
  pan        frame time (median, 90th percentile) while panning every frame, folded and
             unfolded (requestAnimationFrame deltas, cy.panBy each frame)

The machine is shared: compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.graph_build import make_workloads, random_pairs  # noqa: E402
from graph.build import gc_paused  # noqa: E402
from graph.layout import add_positions, positions_of  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.meshlens import meshlens  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

CALLS_PER_WORKLOAD = 4
FAILING_SHARE = 0.05


def synthetic_graph(workloads: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    ws = make_workloads(workloads, rng)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    services: dict[str, str] = {}
    for w in ws:
        if w.service not in services:
            sid = f"svc:{w.namespace}/{w.service}"
            services[w.service] = sid
            nodes.append({"data": {"id": sid, "nodeType": "service", "cluster": "Kubernetes",
                                   "namespace": w.namespace, "service": w.service,
                                   "label": w.service, "healthStatus": "Healthy"}})
        wid = f"wl:{w.namespace}/{w.workload}"
        nodes.append({"data": {"id": wid, "nodeType": "workload", "cluster": "Kubernetes",
                               "namespace": w.namespace, "workload": w.workload, "app": w.app,
                               "version": w.version, "label": w.workload,
                               "healthStatus": "Healthy"}})
        edges.append(edge(services[w.service], wid, rng))
    for src, dst in random_pairs(CALLS_PER_WORKLOAD * workloads, len(ws), rng):
        target = services[ws[dst].service]
        edges.append(edge(f"wl:{ws[src].namespace}/{ws[src].workload}", target, rng))
    unique = {e["data"]["id"]: e for e in edges}
    elements = {"nodes": nodes, "edges": list(unique.values())}
    return {"timestamp": int(time.time()), "duration": 60, "graphType": "workload",
            "elements": elements}


def edge(source: str, target: str, rng: random.Random) -> dict[str, Any]:
    failing = rng.random() < FAILING_SHARE
    rate = f"{rng.uniform(1, 50):.2f}"
    rates = {"http": rate} | ({"http5xx": "1.00", "httpPercentErr": "12.0"} if failing else {})
    return {"data": {"id": f"{source}>{target}", "source": source, "target": target,
                     "healthStatus": "Failure" if failing else "Healthy",
                     "traffic": {"protocol": "http", "rates": rates}}}


DRAW = """async body => {
    const t0 = performance.now();
    const graph = JSON.parse(body);
    const t1 = performance.now();
    await window.meshlens.applySnapshot(graph);
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const t2 = performance.now();
    return {parse: t1 - t0, draw: t2 - t1};
}"""

UNFOLD = """async () => {
    const tasks = [];
    const observer = new PerformanceObserver(list => {
        for (const e of list.getEntries()) tasks.push(e.duration);
    });
    observer.observe({type: 'longtask'});
    const t0 = performance.now();
    await window.meshlens.graph.toggleFolds();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    window.meshlens.cy.fit();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const ms = performance.now() - t0;
    await new Promise(r => setTimeout(r, 200));
    observer.disconnect();
    return {ms, longest: Math.max(0, ...tasks), tasks: tasks.length};
}"""

DELTA = """async delta => {
    const t0 = performance.now();
    await window.meshlens.applyDelta(delta);
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t0;
}"""

PAN = """async frames => {
    const cy = window.meshlens.cy;
    const deltas = [];
    let last = performance.now();
    await new Promise(done => {
        let k = 0;
        function frame() {
            const now = performance.now();
            if (k > 0) deltas.push(now - last);
            last = now;
            cy.panBy({x: (k % 40 < 20 ? 6 : -6), y: 3 * (k % 40 < 20 ? 1 : -1)});
            if (++k <= frames) requestAnimationFrame(frame); else done();
        }
        requestAnimationFrame(frame);
    });
    return deltas;
}"""


def frames(page: Page, count: int = 90) -> str:
    deltas = sorted(page.evaluate(PAN, count))
    median = statistics.median(deltas)
    p90 = deltas[int(len(deltas) * 0.9)]
    return f"median {median:.1f} ms ({1000 / median:.0f} frames/s), p90 {p90:.1f} ms"


def a_delta(graph: dict[str, Any], grown: dict[str, Any], tick: int) -> dict[str, Any]:
    """500 edges with new rates, and the node `grown` adds (with its position) and an edge
    to it, as publish.py would send them."""
    changed = []
    for e in graph["elements"]["edges"][:500]:
        data = e["data"] | {"traffic": {"protocol": "http",
                                        "rates": {"http": f"{tick + 1.5:.2f}"}}}
        changed.append({"group": "edges", "data": data})
    new = grown["nodes"][-1]
    source = graph["elements"]["nodes"][0]["data"]["id"]
    added = [{"group": "nodes", "data": new["data"] | {"id": f"new-{tick}"},
              "position": new["position"]},
             {"group": "edges", "data": {"id": f"e-new-{tick}", "source": source,
                                         "target": f"new-{tick}", "healthStatus": "Healthy"}}]
    return {"type": "graph.delta", "timestamp": graph["timestamp"] + 10 * tick,
            "added": added, "removed": [], "changed": changed}


def run(url: str, workloads: int, renderer: str, shots: Path | None) -> None:
    graph = synthetic_graph(workloads)
    elements = graph["elements"]
    # With the collector held off, as dashboard/graphs.py builds.
    with gc_paused():
        start = time.process_time()
        add_positions(elements)
        fresh = time.process_time() - start
        grown = {"nodes": [{"data": n["data"]} for n in elements["nodes"]]
                 + [{"data": {"id": "new", "namespace": "ns0", "label": "new"}}],
                 "edges": elements["edges"]}
        start = time.process_time()
        add_positions(grown, positions_of(elements))
        again = time.process_time() - start
    body = json.dumps(graph)
    n, e = len(elements["nodes"]), len(elements["edges"])
    print(f"{workloads:,} workloads: {n:,} nodes, {e:,} edges, body {len(body) / 1e6:.1f} MB")
    print(f"  layout: fresh {fresh * 1000:.0f} ms CPU, next tick {again * 1000:.0f} ms CPU")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page.route_web_socket("**/ws/graph?*", lambda ws: None)  # silent: the graph comes below
        namespaces = ",".join(f"ns{i}" for i in range(10))
        query = f"namespaces={namespaces}" + (f"&renderer={renderer}" if renderer != "auto" else "")
        page.goto(f"{url}/?{query}")
        page.wait_for_function("window.meshlens !== undefined")
        timing = page.evaluate(DRAW, body)
        reason = page.evaluate("document.body.dataset.rendererReason")
        drawn = page.evaluate("document.body.dataset.renderer")
        print(f"  renderer: {drawn} ({reason})")
        print(f"  parse {timing['parse']:.0f} ms, draw (folded) {timing['draw']:.0f} ms")
        if shots:
            page.screenshot(path=str(shots / f"page-{workloads}-folded.png"))
        print(f"  pan, folded: {frames(page)}")
        delta_ms = page.evaluate(DELTA, a_delta(graph, grown, 1))
        print(f"  delta, folded: {delta_ms:.0f} ms")
        unfold = page.evaluate(UNFOLD)
        print(f"  unfold all: {unfold['ms']:.0f} ms; long tasks: {unfold['tasks']}, "
              f"the longest {unfold['longest']:.0f} ms")
        if shots:
            page.screenshot(path=str(shots / f"page-{workloads}-unfolded.png"))
        print(f"  pan, unfolded: {frames(page)}")
        delta_ms = page.evaluate(DELTA, a_delta(graph, grown, 2))
        print(f"  delta, unfolded: {delta_ms:.0f} ms")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--renderer", choices=["auto", "webgl", "canvas"], default="auto")
    parser.add_argument("--shots", type=Path, help="save screenshots in this directory")
    args = parser.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        # The page needs no Prometheus: its namespaces are in its URL.
        env = {"PROMETHEUS_URL": "http://127.0.0.1:9", "REDIS_URL": redis.url}
        with meshlens(Path(tmp) / "web", env) as url:
            for workloads in args.workloads:
                run(url, workloads, args.renderer, args.shots)


if __name__ == "__main__":
    main()
