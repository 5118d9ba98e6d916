"""How much Meshlens adds on top of Prometheus for one big graph.

    .venv/bin/python bench/graph_build.py [--workloads 1000] [--edges 5000] [--repeat 5]
                                          [--profile]

Backfills a synthetic Istio mesh into a real Prometheus (`prometheus` and `promtool` on
PATH) on a free loopback port, then, at a fixed query time, for one request over every
namespace (workload graph, service nodes on, 60 s), times:

  a. Prometheus alone: the queries Meshlens sends (istio.namespace_queries, then the
     appenders', recorded from one build_graph), as raw HTTP POSTs sent in parallel the
     way Meshlens sends them, until the last body is read (no parsing);
  b. Meshlens end to end: GET /api/v1/graph through Django's test client (on a fresh
     database, so no health rules);
  c. the pure Python part: build_graph on rows fetched beforehand + the JSON written
     (graph/cytoscape_json.py, as the API writes it).

DESIGN.md "Speed": Prometheus's time is the floor; the target is b at most 25 % above a.
Everything lives in a temporary directory that is removed at the end, and Prometheus is
stopped even on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, cast

import orjson

# Run as a script from the repository root: make `bench`, `graph` and `tests` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# What other bench scripts import from here, where it lives now: the names stay importable
# from bench/graph_build.py (and from graph_build, with bench/ on the path).
from bench.build_timing import (  # noqa: E402, F401
    CpuUse,
    Replay,
    fetch_raw,
    meshlens_get,
    process_cpu_s,
    python_only,
    raw_session,
    run_rounds,
    stage_times,
)
from bench.synthetic_mesh import (  # noqa: E402, F401
    DURATION_S,
    NAMESPACES,
    QUERY_TIME,
    backfill,
    backfill_blocks,
    log,
    make_series,
    make_workloads,
    random_pairs,
)
from graph.build import build_graph  # noqa: E402
from graph.options import GraphOptions, MeshConfig  # noqa: E402
from graph.prometheus import MAX_PARALLEL, Prometheus, PrometheusSettings  # noqa: E402, F401
from graph.sources.istio import queries as istio  # noqa: E402

PROMETHEUS_TIMEOUT_S = 300
TARGET_OVERHEAD_PCT = 25.0


# --- the run -------------------------------------------------------------------------------


def setup_django(prometheus_url: str, base: Path) -> Any:
    """Django on the bench Prometheus and a fresh database (health rules: none)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    os.environ["PROMETHEUS_URL"] = prometheus_url
    os.environ["MESHLENS_DB"] = str(base / "bench.sqlite3")
    # Unused: with a query_time the view builds the graph and reads no cache.
    os.environ["REDIS_URL"] = "redis://127.0.0.1:1/0"
    # A 10,000-workload batch can take Prometheus longer than the default 10 s on a busy
    # machine; the bench measures, it does not judge the timeout.
    os.environ["MESHLENS_PROMETHEUS_TIMEOUT"] = str(PROMETHEUS_TIMEOUT_S)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    return Client(HTTP_HOST="localhost")


def print_cpu(cpu: CpuUse, median: dict[str, float]) -> None:
    """CPU time against wall time: with Prometheus on the same cores, b cannot take less
    than all the CPU both processes use, spread over every core."""
    cores = len(os.sched_getaffinity(0))
    log(f"\nCPU per run (median ms){'bench process':>32}{'Prometheus':>12}")
    for label, key in (("a. Prometheus alone", "a"), ("b. Meshlens", "b"),
                       ("c. Python only", "c")):
        own, prometheus = cpu.medians(key)
        log(f"  {label:40}{own:13.0f}{prometheus:12.0f}")
    own, prometheus = cpu.medians("b")
    floor = (own + prometheus) / cores
    log(f"  b's floor on these {cores} cores, (Meshlens + Prometheus CPU) / {cores}: "
        f"{floor:.0f} ms = a + {(floor - median['a']) / median['a'] * 100:.0f} %")


def rss_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak, in MB (Linux /proc)."""
    status = dict(line.split(":", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return (int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)


def print_report(times: dict[str, list[tuple[float, float]]],
                 stages: dict[str, tuple[float, float]], facts: dict[str, Any],
                 cpu: CpuUse) -> None:
    median = {key: statistics.median(ms for ms, _ in runs) for key, runs in times.items()}
    rows = [("a. Prometheus alone (raw HTTP)", "a"), ("b. Meshlens GET /api/v1/graph", "b"),
            ("c. Python only (build + JSON written)", "c")]
    log("\n" + "=" * 78)
    log(f"{facts['workloads']:,} workloads in {NAMESPACES} namespaces, {facts['edges']:,} "
        f"request + {facts['tcp_edges']:,} TCP edges, {facts['series']:,} series")
    log(f"graph: {facts['nodes']:,} nodes, {facts['graph_edges']:,} edges; Meshlens answer "
        f"{facts['answer_bytes'] / 1e6:.1f} MB; Prometheus sent {facts['prom_bytes'] / 1e6:.1f} "
        f"MB in {facts['queries']} queries ({facts['rows']:,} rows)")
    log(f"\n{'':42}{'median ms':>11}{'min ms':>9}{'GC ms (median)':>16}")
    for label, key in rows:
        gc_ms = statistics.median(g for _, g in times[key])
        log(f"{label:42}{median[key]:11.1f}{min(ms for ms, _ in times[key]):9.1f}{gc_ms:16.1f}")
    overhead = (median["b"] - median["a"]) / median["a"] * 100
    verdict = "OK" if overhead <= TARGET_OVERHEAD_PCT else "ABOVE TARGET"
    log(f"\n{'ratio b / a (medians)':42}{median['b'] / median['a']:11.2f}")
    log(f"{'overhead (b - a) / a (medians)':42}{overhead:10.0f} %  target <= "
        f"{TARGET_OVERHEAD_PCT:.0f} %: {verdict}")
    print_cpu(cpu, median)
    log(f"\none build, by stage (collector held off){'wall ms':>32}{'CPU ms':>9} (medians)")
    for name, (ms, cpu_ms) in stages.items():
        log(f"  {name:62}{ms:9.1f}{cpu_ms:9.1f}")
    # A stage named "or ..." is the live path's alternative to the one before: not summed.
    summed = [times for name, times in stages.items() if not name.startswith("or ")]
    log(f"  {'all stages (the API path)':62}{sum(ms for ms, _ in summed):9.1f}"
        f"{sum(cpu for _, cpu in summed):9.1f}")
    now, peak = rss_mb()
    log(f"\nRSS of this process (Django, the plan caches, Prometheus's answers kept for c): "
        f"{now:.0f} MB now, {peak:.0f} MB at its peak")


def profile_once(client: Any, path: str) -> None:
    """Where one Meshlens run spends its time (this thread only: the parse of each
    Prometheus answer runs in the query threads, see the stage table instead)."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.runcall(meshlens_get, client, path)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    log("\nprofile of one Meshlens run: top 15 Meshlens functions by cumulative time")
    stats.sort_stats("cumulative").print_stats(r"(graph|dashboard)[/\\]", 15)
    log("top 15 functions of any code by own time (a GC pause counts in the function that")
    log("happened to allocate when it started)")
    stats.sort_stats("tottime").print_stats(15)


def run_benchmark(args: argparse.Namespace, url: str, series: int, base: Path,
                  prometheus_pid: int) -> None:
    namespaces = tuple(f"ns{i}" for i in range(NAMESPACES))
    options = GraphOptions(namespaces=namespaces, query_time=QUERY_TIME, duration=DURATION_S)
    queries = istio.namespace_queries(options, MeshConfig())
    path = (f"/api/v1/graph?namespaces={','.join(namespaces)}&query_time={QUERY_TIME}"
            f"&duration={DURATION_S}s")
    client = setup_django(url, base)
    session = raw_session()
    replay = Replay(Prometheus(PrometheusSettings(url=url, timeout=PROMETHEUS_TIMEOUT_S)))
    build_graph(cast(Prometheus, replay), options, MeshConfig())
    promqls = list(dict.fromkeys(q.promql for q in replay.queries))  # each sent once
    if promqls[:len(queries)] != [q.query.promql for q in queries]:
        raise RuntimeError("build_graph no longer sends istio.namespace_queries first")
    log(f"Meshlens sends {len(promqls)} queries ({len(queries)} traffic, "
        f"{len(promqls) - len(queries)} appender)")
    log(f"warm-up, then {args.repeat} rounds of a, b, c")
    cpu = CpuUse(prometheus_pid)
    times = run_rounds({"a": lambda: fetch_raw(session, url, promqls),
                        "b": lambda: meshlens_get(client, path),
                        "c": lambda: python_only(replay, options)}, args.repeat, cpu)
    answer = meshlens_get(client, path)
    elements = orjson.loads(answer)["elements"]
    facts = {"workloads": args.workloads, "edges": args.edges, "tcp_edges": args.tcp_edges,
             "series": series, "nodes": len(elements["nodes"]),
             "graph_edges": len(elements["edges"]), "answer_bytes": len(answer),
             "prom_bytes": sum(len(b) for b in fetch_raw(session, url, promqls)),
             "queries": len(promqls), "rows": sum(len(r) for r in replay.results or [])}
    print_report(times, stage_times(url, options, session, args.repeat), facts, cpu)
    if args.profile:
        profile_once(client, path)


def measure(args: argparse.Namespace, base: Path) -> None:
    rng = random.Random(args.seed)
    start = time.perf_counter()
    workloads = make_workloads(args.workloads, rng)
    series = make_series(workloads, args.edges, args.tcp_edges, rng)
    log(f"generated {len(series):,} series in {time.perf_counter() - start:.1f} s")
    server = backfill.PrometheusServer(backfill_blocks(series, base, args.history),
                                       base / "server")
    try:
        start = time.perf_counter()
        server.start()
        log(f"  Prometheus ready on {server.url} in {time.perf_counter() - start:.1f} s")
        run_benchmark(args, server.url, len(series), base, cast(int, server.pid))
    finally:
        server.stop()
        log("Prometheus stopped")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=5000, help="request edges")
    parser.add_argument("--tcp-edges", type=int, help="TCP edges (default: edges / 10)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--history", type=int, default=300,
                        help="seconds of samples before the query time (module default 7200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile one Meshlens run")
    args = parser.parse_args(argv)
    if args.tcp_edges is None:
        args.tcp_edges = args.edges // 10
    if args.workloads < 2 or args.repeat < 1 or args.history < 2 * DURATION_S:
        parser.error(f"need --workloads >= 2, --repeat >= 1, --history >= {2 * DURATION_S}")
    if max(args.edges, args.tcp_edges) > args.workloads * (args.workloads - 1):
        parser.error("more edges than ordered pairs of workloads")
    return args


def interrupted(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupted)  # stop Prometheus and clean up on kill too
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as base:
        try:
            measure(args, Path(base))
        except KeyboardInterrupt:
            log("interrupted")
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
