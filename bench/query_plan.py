"""What Meshlens's query plan costs Prometheus, query by query, against Kiali's query set.

Backfills graph_build.py's synthetic mesh into a real Prometheus, then, for the batch
`build_graph` sends for all ten namespaces (each distinct query once, as
Prometheus.query_each sends them) and for Kiali's per-namespace set (live_scale.py's
kiali_queries): each query alone (wall, Prometheus CPU from /proc, answer size), then the
whole batch in parallel as each sends it, rounds interleaved. `--shares` tries several
values of graph/sources/istio/queries.SHARDS in the same run.

    .venv/bin/python bench/query_plan.py [--workloads 1000] [--edges 5000] [--shares 1,5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import graph_build as gb  # noqa: E402
import live_scale  # noqa: E402
import requests  # noqa: E402

from graph.build import plan  # noqa: E402
from graph.options import GraphOptions, MeshConfig  # noqa: E402
from graph.prometheus import Prometheus, PrometheusSettings  # noqa: E402
from graph.sources.istio import queries as istio  # noqa: E402

NAMESPACES = tuple(f"ns{i}" for i in range(10))


def batch(shares: int) -> list[tuple[str, str]]:
    """(kind, promql) of each distinct query build_graph sends with `shares` shares."""
    istio.SHARDS = shares
    options = GraphOptions(namespaces=NAMESPACES, query_time=gb.QUERY_TIME, duration=60)
    queries = plan(options, MeshConfig())
    out: dict[str, str] = {}
    for index, query in enumerate(queries.batch()):
        out.setdefault(query.promql, queries.kind(index))
    return [(kind, promql) for promql, kind in out.items()]


class Bench:
    def __init__(self, url: str, pid: int) -> None:
        self.url, self.pid = url, pid
        # As Meshlens asks a loopback Prometheus (graph/prometheus.py).
        self.plain = Prometheus(PrometheusSettings(url=url)).session.headers["Accept-Encoding"]

    def send(self, session: requests.Session, promql: str, encoding: str) -> int:
        response = session.post(f"{self.url}/api/v1/query",
                                data={"query": promql, "time": str(gb.QUERY_TIME)},
                                headers={"Accept-Encoding": encoding}, timeout=600)
        response.raise_for_status()
        return len(response.content)

    def timed(self, run: Callable[[], object]) -> tuple[float, float]:
        """(wall ms, Prometheus CPU ms) of one run."""
        cpu, start = gb.process_cpu_s(self.pid), time.perf_counter()
        run()
        return (time.perf_counter() - start) * 1000, (gb.process_cpu_s(self.pid) - cpu) * 1000

    def ours(self, promqls: Sequence[str]) -> None:
        session = gb.raw_session()
        with ThreadPoolExecutor(max_workers=min(gb.MAX_PARALLEL, len(promqls))) as pool:
            list(pool.map(lambda q: self.send(session, q, self.plain), promqls))

    def kiali(self) -> None:
        """Kiali's set as live_scale.kiali_time sends it (gzip, as Go's client asks)."""
        def namespace(ns: str) -> None:
            with requests.Session() as session:
                for promql in live_scale.kiali_queries(ns, 60):
                    self.send(session, promql, "gzip")

        with ThreadPoolExecutor(max_workers=len(NAMESPACES)) as pool:
            list(pool.map(namespace, NAMESPACES))


def each_alone(bench: Bench, name: str, queries: list[tuple[str, str]]) -> None:
    print(f"\n{name}: {len(queries)} queries, each alone (median of 3)")
    print(f"  {'kind':16s} {'wall ms':>8s} {'CPU ms':>7s} {'MB':>6s}")
    session = gb.raw_session()
    total_wall = total_cpu = 0.0
    for kind, promql in queries:
        runs = [bench.timed(lambda q=promql: bench.send(session, q, bench.plain))
                for _ in range(3)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        size = bench.send(session, promql, bench.plain)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"  {kind:16s} {wall:8.0f} {cpu:7.0f} {size / 1e6:6.2f}")
    print(f"  {'sequential':16s} {total_wall:8.0f} {total_cpu:7.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=None, help="default: 5 per workload")
    parser.add_argument("--shares", default=f"{istio.SHARDS}",
                        help="comma-separated values of queries.SHARDS to compare")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    edges = args.edges or args.workloads * 5
    shares = [int(s) for s in args.shares.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rng = random.Random(args.seed)
        series = gb.make_series(gb.make_workloads(args.workloads, rng), edges, edges // 10, rng)
        base = Path(tmp)
        server = gb.backfill.PrometheusServer(gb.backfill_blocks(series, base, 300),
                                              base / "server")
        server.start()
        try:
            bench = Bench(server.url, int(server.pid or 0))
            batches = {f"Meshlens, {n} share(s)": batch(n) for n in shares}
            kiali = [("kiali", q) for ns in NAMESPACES for q in live_scale.kiali_queries(ns, 60)]
            runs: dict[str, Callable[[], object]] = {
                name: (lambda b=b: bench.ours([q for _, q in b])) for name, b in batches.items()}
            runs["Kiali's set (60 queries)"] = bench.kiali
            for run in runs.values():  # warm-up
                run()
            for name, queries in batches.items():
                each_alone(bench, name, queries)
            each_alone(bench, "Kiali's set, the 6 queries of ns0", kiali[:6])
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
            for _ in range(args.rounds):
                for name, run in runs.items():
                    times[name].append(bench.timed(run))
            print(f"\nwhole batch, in parallel, median of {args.rounds} rounds (interleaved)")
            for name, got in times.items():
                print(f"  {name:28s} wall {statistics.median(t[0] for t in got):7.0f} ms   "
                      f"Prometheus CPU {statistics.median(t[1] for t in got):7.0f} ms")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
