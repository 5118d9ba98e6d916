"""Inside Prometheus: what it spends on one GET's query plan, query by query and in its own
CPU profile (issue 7, eighth round).

    .venv/bin/python bench/prometheus_profile.py --keep DIR [--workloads 10000]
        [--rounds 3] [--profile-seconds 30] [--out DIR]

On api_timeline.py's mesh (`--keep DIR` reuses a kept data set, else it is backfilled):
1. each distinct query of the plan `GET /api/v1/graph` sends for all ten namespaces
   (remote read where the plan asks for it, as graph/prometheus.py sends it), alone,
   Prometheus's CPU from /proc (median of --rounds);
2. the whole batch as one GET sends it (graph.prometheus.Prometheus.query_each), and
   Kiali's per-namespace set, rounds interleaved (`--pause S` idle before each, as between
   two refreshes; `--in-flight 2` the batch again with at most 2 remote reads at once);
3. Prometheus's own CPU profile (/debug/pprof/profile) while it answers the batch over and
   over, and again for Kiali's set, written to --out as meshlens.pprof and kiali.pprof for
   `go tool pprof -top` (Go is a developer tool here, not part of the project's install),
   and, when `go` is on the PATH, sorted by what Prometheus is doing (pprof_categories.py);
   `--profile-shares` profiles the ten request shares alone too, as instant PromQL and as
   XOR chunks;
4. (`--candidates`) other ways to read the ten request shares, against the plan's, rounds
   interleaved: Prometheus's CPU for the ten, and this process's CPU to take the answers in
   (bench/prometheus_candidates.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pprof_categories  # noqa: E402
from bench import prometheus_candidates as candidates  # noqa: E402
from bench.api_timeline import mesh_prometheus  # noqa: E402
from bench.graph_build import process_cpu_s  # noqa: E402
from bench.kiali_queries import NAMESPACES, kiali_time  # noqa: E402
from bench.live_mesh import log  # noqa: E402
from graph.build import plan  # noqa: E402
from graph.options import MeshConfig, graph_options_from_query  # noqa: E402
from graph.prometheus import Prometheus, PrometheusSettings, Query  # noqa: E402


def api_queries(at: int, duration: int) -> tuple[list[Query], list[str]]:
    """The plan of `GET /api/v1/graph` over all ten namespaces: its queries (each answer
    once, as query_each groups them) and what reads each."""
    options = graph_options_from_query({"namespaces": ",".join(NAMESPACES),
                                        "duration": f"{duration}s", "query_time": str(at)})
    queries = plan(options, MeshConfig())
    groups: dict[tuple[object, ...], tuple[Query, list[str]]] = {}
    for index, query in enumerate(queries.batch()):
        groups.setdefault(query.answer(), (query, []))[1].append(queries.kind(index))
    return [q for q, _ in groups.values()], ["+".join(k) for _, k in groups.values()]


def describe(query: Query) -> str:
    """A short name: the metric, its namespace matcher's values (first and last)."""
    text = query.promql
    metric = text[text.index("istio_"):].split("{", 1)[0]
    matcher = text.split("{", 1)[1].split("}", 1)[0]
    last = matcher.rsplit(",", 1)[-1]
    return f"{'remote ' if query.remote else ''}{metric} {last[:48]}"


class Bench:
    def __init__(self, url: str, pid: int, at: int, duration: int, remote: str) -> None:
        self.url, self.pid, self.at, self.duration = url, pid, at, duration
        self.prometheus = Prometheus(PrometheusSettings(url=url, timeout=600,
                                                        remote_read=remote))

    def timed(self, run: Callable[[], object]) -> tuple[float, float]:
        """(wall s, Prometheus CPU s) of one run."""
        cpu, start = process_cpu_s(self.pid), time.perf_counter()
        run()
        return time.perf_counter() - start, process_cpu_s(self.pid) - cpu

    def batch(self, queries: list[Query]) -> None:
        for _ in self.prometheus.query_each(queries, self.at):
            pass

    def limited(self, in_flight: int) -> Callable[[list[Query]], None]:
        """batch() with at most `in_flight` remote reads at once (the PromQL queries as
        before): a client whose RemoteReads.fetch waits on a semaphore."""
        client = Prometheus(PrometheusSettings(url=self.url, timeout=600,
                                               remote_read=self.prometheus.settings.remote_read))
        gate = threading.BoundedSemaphore(in_flight)
        fetch = client.remote.fetch

        def gated(query: Query, at: int) -> object:
            if query.remote is None:
                return fetch(query, at)
            with gate:
                return fetch(query, at)

        client.remote.fetch = gated  # type: ignore[method-assign, assignment]

        def run(queries: list[Query]) -> None:
            for _ in client.query_each(queries, self.at):
                pass

        return run

    def kiali(self) -> None:
        kiali_time(self.url, self.at, self.duration)

    def profile(self, run: Callable[[], object], seconds: int, path: Path) -> int:
        """Prometheus's CPU profile over `seconds` while `run` is called again and again:
        written to `path`; how many runs it covered."""
        got: list[bytes] = []

        def fetch() -> None:
            response = requests.get(f"{self.url}/debug/pprof/profile",
                                    params={"seconds": str(seconds)}, timeout=seconds + 120)
            response.raise_for_status()
            got.append(response.content)

        thread = threading.Thread(target=fetch)
        thread.start()
        runs = 0
        while thread.is_alive():
            run()
            runs += 1
        thread.join()
        path.write_bytes(got[0])
        return runs


def each_alone(bench: Bench, queries: list[Query], readers: list[str], rounds: int) -> None:
    log(f"each query alone, Prometheus CPU (median of {rounds}), remote read as the plan asks")
    total = 0.0
    for query, kinds in zip(queries, readers, strict=True):
        runs = [bench.timed(lambda q=query: bench.prometheus.fetch(q, bench.at))
                for _ in range(rounds)]
        cpu = statistics.median(r[1] for r in runs)
        wall = statistics.median(r[0] for r in runs)
        total += cpu
        log(f"  {kinds:26s} {describe(query):64s} wall {wall * 1000:6.0f} ms "
            f"CPU {cpu * 1000:6.0f} ms")
    log(f"  {'all, one after another':91s} CPU {total * 1000:6.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep (and reuse) the backfilled blocks here")
    parser.add_argument("--remote-read", default="auto", help="MESHLENS_REMOTE_READ")
    parser.add_argument("--profile-seconds", type=int, default=30)
    parser.add_argument("--out", default=".", help="where the two profiles are written")
    parser.add_argument("--skip-alone", action="store_true", help="no point 1")
    parser.add_argument("--candidates", action="store_true", help="point 4 only")
    parser.add_argument("--ways", type=lambda v: v.split(","), default=[],
                        help="point 4: only the ways whose names hold one of these "
                             "(comma-separated, e.g. '12 in flight,2 in flight')")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds idle before each run of points 2 and 4 (a refresh "
                             "period: "
                             "Go returns the freed heap to the system meanwhile)")
    parser.add_argument("--in-flight", type=lambda v: [int(x) for x in v.split(",")],
                        default=[], help="point 2 also with at most N remote reads at once "
                        "(comma-separated)")
    parser.add_argument("--no-profile", action="store_true", help="no point 3")
    parser.add_argument("--profile-shares", action="store_true", help="point 3 also for "
                        "the ten shares alone, as instant PromQL and as XOR chunks")
    args = parser.parse_args()
    with ExitStack() as exits:
        server, _, at, duration = mesh_prometheus(args, exits)
        if args.candidates:
            candidates.compare(server.url, int(server.pid or 0), at, duration, args.rounds,
                               args.pause, args.ways)
            return 0
        bench = Bench(server.url, int(server.pid or 0), at, duration, args.remote_read)
        queries, readers = api_queries(at, duration)
        bench.batch(queries)  # warm-up: the page cache, the server's remote read version
        bench.kiali()
        if not args.skip_alone:
            each_alone(bench, queries, readers, args.rounds)
        runs: dict[str, Callable[[], object]] = {
            "Meshlens's batch": lambda: bench.batch(queries), "Kiali's set": bench.kiali}
        for width in args.in_flight:
            limited = bench.limited(width)
            runs[f"batch, {width} remote in flight"] = lambda r=limited: r(queries)
        got: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for round_no in range(args.rounds):
            names = list(runs) if round_no % 2 == 0 else list(runs)[::-1]
            for name in names:
                time.sleep(args.pause)
                got[name].append(bench.timed(runs[name]))
        log(f"the batch as one GET sends it, median of {args.rounds} rounds (interleaved, "
            f"every other one backwards, {args.pause:g} s idle before each)")
        for name, times in got.items():
            log(f"  {name:30s} wall {statistics.median(t[0] for t in times):6.2f} s  "
                f"Prometheus CPU {statistics.median(t[1] for t in times):6.2f} s  "
                f"({', '.join(f'{t[1]:.2f}' for t in times)})")
        if args.no_profile:
            return 0
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        profiled: list[tuple[str, Callable[[], object], str]] = [
            ("Meshlens's batch", runs["Meshlens's batch"], "meshlens"),
            ("Kiali's set", bench.kiali, "kiali")]
        if args.profile_shares:
            ways = candidates.share_ways(server.url, int(server.pid or 0), at, duration)
            profiled += [(f"the ten shares, {name}", ways[name], name) for name in ways]
        for name, run, file in profiled:
            run()  # warm-up
            count = bench.profile(run, args.profile_seconds, out / f"{file}.pprof")
            log(f"profile of {name}: {count} runs in {args.profile_seconds} s, "
                f"{out / (file + '.pprof')}")
        if pprof_categories.available():
            log("what Prometheus does, % of each profile's samples:\n"
                + pprof_categories.table([out / f"{file}.pprof" for _, _, file in profiled]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
