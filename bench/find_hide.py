"""How fast Find and Hide work on a big graph, in headless Chromium.

    .venv/bin/python bench/find_hide.py [--nodes 1000 10000] [--runs 5]

For each size, makes bench/page_render.py's synthetic mesh with about that many nodes (5 %
of its edges failing), hands it to a real Meshlens page (`window.meshlens.applySnapshot`; the
WebSocket is stood in for), unfolds every namespace so that all of it is in Cytoscape, and
times, for each expression, the median of `--runs`:

  match   static/js/find.js alone: parse, then the ids found (or hidden) among the data of
          every node and edge, in the page
  apply   the find bar's whole work (find-bar.js: match, then the classes set in Cytoscape),
          from the expression to the classes set; the page's main thread, as a user waits
  frame   the same until the second animation frame after it (the drawing restyled)

  redraw  for reference: the same two frames after one node's class changes (what any
          change costs the canvas to draw this graph again, Find or not)

Then, with every namespace folded again (as a big graph opens), for each expression:

  folded  from the expression to the folded namespaces counted and marked: the graph's
          worker matches the whole graph, folds it again with the counts, and the find bar
          marks the boxes (from bar.set() until the worker's marks are applied)

Each run first clears the expression, so that every apply sets its classes afresh. The
machine is shared: compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.page_render import synthetic_graph  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.meshlens import meshlens  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

# (bar, expression): the presets an on-call engineer reaches for, and a text search.
EXPRESSIONS = [
    ("find", "%httperr > 5"),
    ("find", "! healthy or rt > 1000"),
    ("find", "name contains 7"),
    ("hide", "%httperr > 5"),
    ("hide", "healthy"),
    ("hide", "ns = ns3"),
]
NODES_PER_WORKLOAD = 1.5  # bench/page_render.py's mesh: a service per app and 1-3 versions

DRAW = """async body => {
    await window.meshlens.applySnapshot(JSON.parse(body));
    if (window.meshlens.graph.folded().length) await window.meshlens.graph.toggleFolds();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const cy = window.meshlens.cy;
    return {nodes: cy.nodes().not('.summary').length, edges: cy.edges().not('.aggregate').length};
}"""

MATCH = """async ([kind, expression]) => {
    const find = await import(document.querySelector('script[type=module]').src
                              .replace('main.js', 'find.js'));
    const cy = window.meshlens.cy;
    const nodes = cy.nodes().map(n => n.data());
    const edges = cy.edges().map(e => e.data());
    const t0 = performance.now();
    const parsed = find.parseFind(expression, kind);
    const ids = kind === 'find' ? find.foundIds(parsed, nodes, edges)
                                : find.hiddenIds(parsed, nodes, edges);
    return {ms: performance.now() - t0, count: ids.size};
}"""

APPLY = """async ([kind, expression]) => {
    const bar = window.meshlens.findBar;
    bar.set({});
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const t0 = performance.now();
    bar.set({[kind]: expression});
    const t1 = performance.now();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const t2 = performance.now();
    const marked = window.meshlens.cy.elements(kind === 'find' ? '.find' : '.find-hidden').length;
    return {apply: t1 - t0, frame: t2 - t0, marked};
}"""


REDRAW = """async () => {
    const node = window.meshlens.cy.nodes().not('.summary')[0];
    const t0 = performance.now();
    node.toggleClass('bench-touch');
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return {ms: performance.now() - t0};
}"""


FOLDED = """async ([kind, expression]) => {
    const bar = window.meshlens.findBar;
    const graph = window.meshlens.graph;
    const marked = (want) => new Promise(resolve => {
        const check = () => {
            const m = graph.marks();
            if (m && m.find === (want.find || '') && m.hide === (want.hide || '')) resolve(m);
            else setTimeout(check, 1);
        };
        check();
    });
    bar.set({});
    await marked({});
    const t0 = performance.now();
    bar.set({[kind]: expression});
    const marks = await marked({[kind]: expression});
    return {ms: performance.now() - t0,
            marked: kind === 'find' ? marks.foundTotal : marks.hiddenTotal};
}"""


def median_of(page: Page, script: str, arg: object, key: str, runs: int) -> float:
    return statistics.median(page.evaluate(script, arg)[key] for _ in range(runs))


def run(url: str, nodes: int, runs: int) -> None:
    graph = synthetic_graph(round(nodes / NODES_PER_WORKLOAD))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page.route_web_socket("**/ws/graph?*", lambda ws: None)  # silent: the graph comes below
        page.goto(f"{url}/?namespaces={','.join(f'ns{i}' for i in range(10))}")
        page.wait_for_function("window.meshlens !== undefined")
        drawn = page.evaluate(DRAW, json.dumps(graph))
        print(f"{drawn['nodes']:,} nodes, {drawn['edges']:,} edges, all unfolded "
              f"({page.evaluate('document.body.dataset.renderer')} renderer)")
        redraw = median_of(page, REDRAW, None, "ms", runs)
        print(f"  redraw (any change, for reference): {redraw:.0f} ms")
        print(f"  {'':<5} {'expression':<24} {'marked':>7} {'match':>9} {'apply':>9} {'frame':>9}")
        for kind, expression in EXPRESSIONS:
            arg = [kind, expression]
            match = median_of(page, MATCH, arg, "ms", runs)
            applied = [page.evaluate(APPLY, arg) for _ in range(runs)]
            apply = statistics.median(a["apply"] for a in applied)
            frame = statistics.median(a["frame"] for a in applied)
            print(f"  {kind:<5} {expression:<24} {applied[-1]['marked']:>7,} {match:>6.1f} ms "
                  f"{apply:>6.1f} ms {frame:>6.0f} ms")
        page.evaluate("() => window.meshlens.graph.toggleFolds()")  # all folded again
        page.evaluate("() => window.meshlens.findBar.set({})")
        print(f"  folded ({len(page.evaluate('window.meshlens.graph.folded()'))} namespaces):")
        print(f"  {'':<5} {'expression':<24} {'marked':>7} {'folded':>9}")
        for kind, expression in EXPRESSIONS:
            folded = [page.evaluate(FOLDED, [kind, expression]) for _ in range(runs)]
            ms = statistics.median(f["ms"] for f in folded)
            print(f"  {kind:<5} {expression:<24} {folded[-1]['marked']:>7,} {ms:>6.1f} ms")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        # The page needs no Prometheus: its namespaces are in its URL.
        env = {"PROMETHEUS_URL": "http://127.0.0.1:9", "REDIS_URL": redis.url}
        with meshlens(Path(tmp) / "web", env) as url:
            for nodes in args.nodes:
                run(url, nodes, args.runs)


if __name__ == "__main__":
    main()
