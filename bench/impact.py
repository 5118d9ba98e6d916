"""How long a blast radius and a diff take on a big graph (the Python of /api/v1/impact
and /api/v1/graph/diff, without Prometheus or the cache).

    .venv/bin/python bench/impact.py [--nodes 10000] [--edges 50000] [--repeat 5]

The graph is API-shaped (`elements` as /api/v1/graph answers) and synthetic: nodes in 20
layers, each edge from a layer to a later one, and one edge in twenty back to an earlier
layer, so that strongly connected components form as in meshes with callbacks. The
blast radius is taken of the node of the last layer with the most ancestors; the diff
compares the graph with a copy where 2 % of the edges vanished, 2 % are new and 5 % have
other error rates.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph.diff import Thresholds, graph_diff  # noqa: E402
from graph.impact import blast_radius  # noqa: E402

LAYERS = 20


def edge(source: int, target: int, rate: float, err: float) -> dict[str, Any]:
    return {"data": {"id": f"e{source}-{target}", "source": f"n{source}", "target": f"n{target}",
                     "traffic": {"protocol": "http",
                                 "rates": {"http": f"{rate:.2f}", "httpPercentErr": f"{err:.1f}"}},
                     "responseTime": f"{rate * 3:.2f}"}}


def synthetic(nodes: int, edges: int, rng: random.Random) -> dict[str, Any]:
    layer = {n: n * LAYERS // nodes for n in range(nodes)}
    by_layer: dict[int, list[int]] = {}
    for n, k in layer.items():
        by_layer.setdefault(k, []).append(n)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        source = rng.randrange(nodes)
        if layer[source] == LAYERS - 1:
            continue
        back = rng.random() < 0.05 and layer[source] > 0
        target_layer = (rng.randrange(layer[source]) if back
                        else rng.randrange(layer[source] + 1, LAYERS))
        pairs.add((source, rng.choice(by_layer[target_layer])))
    return {"elements": {
        "nodes": [{"data": {"id": f"n{n}", "label": f"n{n}", **({"isRoot": True} if layer[n] == 0
                                                                  else {})}}
                  for n in range(nodes)],
        "edges": [edge(s, t, rng.uniform(0.1, 50), rng.choice((0, 0, 0, 1, 20)))
                  for s, t in sorted(pairs)]}}


def changed(graph: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    edges = [e for e in graph["elements"]["edges"] if rng.random() > 0.02]
    nodes = len(graph["elements"]["nodes"])
    edges += [edge(nodes + i, rng.randrange(nodes), 1.0, 0.0) for i in range(len(edges) // 50)]
    extra = [{"data": {"id": f"n{nodes + i}", "label": "new"}} for i in range(len(edges) // 50)]
    for e in edges:
        if rng.random() < 0.05:
            rates = {"http": "1.00", "httpPercentErr": "60.0"}
            e["data"] = e["data"] | {"traffic": {"protocol": "http", "rates": rates}}
    return {"elements": {"nodes": graph["elements"]["nodes"] + extra, "edges": edges}}


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--edges", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    graph = synthetic(args.nodes, args.edges, rng)
    g = nx.DiGraph((e["data"]["source"], e["data"]["target"]) for e in graph["elements"]["edges"])
    last = [n["data"]["id"] for n in graph["elements"]["nodes"]][-args.nodes // LAYERS:]
    target = max(last, key=lambda n: len(nx.ancestors(g, n)) if n in g else -1)
    body = blast_radius(graph, node=target)
    cycles = sum(1 for c in nx.strongly_connected_components(g) if len(c) > 1)
    print(f"{args.nodes} nodes, {len(graph['elements']['edges'])} edges, {cycles} cycles "
          f"(strongly connected components of 2 or more); target {target}: "
          f"{len(body['nodes'])} callers, {len(body['edges'])} edges on the way")
    median, best = timed(lambda: blast_radius(graph, node=target), args.repeat)
    print(f"blast_radius: median {median * 1000:.0f} ms, best {best * 1000:.0f} ms")
    other = changed(graph, rng)
    median, best = timed(lambda: graph_diff(graph, other, Thresholds()), args.repeat)
    print(f"graph_diff:   median {median * 1000:.0f} ms, best {best * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
