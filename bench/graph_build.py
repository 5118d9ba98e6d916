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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, cast

import orjson
import requests
from requests.adapters import HTTPAdapter

# Run as a script from the repository root: make `graph` and `tests` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph import build, ids  # noqa: E402
from graph.appender_context import AppenderContext  # noqa: E402
from graph.build import build_graph, gc_paused, plan  # noqa: E402
from graph.cytoscape_json import write_graph  # noqa: E402
from graph.delta import encode_written  # noqa: E402
from graph.health import HealthConfig  # noqa: E402
from graph.options import GraphOptions, MeshConfig  # noqa: E402
from graph.prometheus import (  # noqa: E402
    MAX_PARALLEL,
    Prometheus,
    PrometheusSettings,
    Query,
    Row,
    parse_vector,
)
from graph.sources.istio import queries as istio  # noqa: E402
from graph.sources.istio.namespace_maps import NamespaceTraffic  # noqa: E402
from tests import mesh  # noqa: E402
from tests.support import prometheus as backfill  # noqa: E402

QUERY_TIME = 1_700_000_000
DURATION_S = 60
NAMESPACES = 10
PROMETHEUS_TIMEOUT_S = 300
TARGET_OVERHEAD_PCT = 25.0
GRPC_SHARE = 0.2
HTTP_ERRORS = ("404", "503")
GRPC_ERRORS = ("grpc:5", "grpc:14")  # NOT_FOUND, UNAVAILABLE
# The health mix (bench/README.md, issue 7's seventh round): most edges without errors.
FAILING_SHARE = 0.05  # of request edges, at Kiali's failure mark or above
FLAKY_SHARE = 0.02  # degraded: a few 5xx
NOISY_SHARE = 0.1  # of the other HTTP edges: a few 404s, healthy
TROUBLED_NAMESPACES = 3  # where the failing and flaky workloads are


def log(message: str) -> None:
    print(message, flush=True)


# --- the synthetic mesh --------------------------------------------------------------------


def make_workloads(count: int, rng: random.Random) -> list[mesh.Workload]:
    """`count` workloads: apps of 1-3 versions behind one service each, round-robin over
    the namespaces ns0..ns9."""
    workloads: list[mesh.Workload] = []
    app_index = 0
    while len(workloads) < count:
        namespace, app = f"ns{app_index % NAMESPACES}", f"app-{app_index:04d}"
        for v in range(1, rng.choice((1, 1, 2, 3)) + 1):
            if len(workloads) < count:
                workloads.append(mesh.Workload(namespace, f"{app}-v{v}", app, f"v{v}", app))
        app_index += 1
    return workloads


def random_pairs(count: int, population: int, rng: random.Random) -> list[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < count:
        src, dst = rng.randrange(population), rng.randrange(population)
        if src != dst:
            pairs.add((src, dst))
    return sorted(pairs)


def response_codes(grpc: bool, rng: random.Random, trouble: str | None = None) -> dict[str, float]:
    """200, and errors as a real mesh has them: a failing edge's at 15-50 % of its requests
    (Kiali's failure mark is 10 %), a flaky one's 5xx or gRPC errors at 0.5-5 % (degraded),
    and on a tenth of the rest a few 404s (under 10 %: healthy); most edges none."""
    ok = round(rng.uniform(1.0, 50.0), 3)
    codes = GRPC_ERRORS if grpc else HTTP_ERRORS
    if trouble == "failing":
        return {"200": ok, codes[1]: round(ok * rng.uniform(0.15, 0.5), 3)}
    if trouble == "flaky":
        return {"200": ok, codes[1]: round(ok * rng.uniform(0.005, 0.05), 3)}
    if not grpc and rng.random() < NOISY_SHARE:
        return {"200": ok, codes[0]: round(ok * rng.uniform(0.005, 0.08), 3)}
    return {"200": ok}


def troubled(workloads: Sequence[mesh.Workload], pairs: Sequence[tuple[int, int]],
             rng: random.Random) -> dict[int, str]:
    """Workloads whose callers see errors, {index: "failing" | "flaky"}: drawn from a few
    namespaces (TROUBLED_NAMESPACES) until their callers' edges make FAILING_SHARE and
    FLAKY_SHARE of the request edges. On a real mesh errors gather around a few services,
    and a failing service fails all its callers: a few namespace pairs are the problem."""
    namespaces = rng.sample(sorted({w.namespace for w in workloads}),
                            min(TROUBLED_NAMESPACES, NAMESPACES))
    callers = [0] * len(workloads)
    for _, dst in pairs:
        callers[dst] += 1
    candidates = [i for i, w in enumerate(workloads) if w.namespace in namespaces and callers[i]]
    rng.shuffle(candidates)
    out: dict[int, str] = {}
    for kind, share in (("failing", FAILING_SHARE), ("flaky", FLAKY_SHARE)):
        covered = 0
        while candidates and covered < share * len(pairs):
            i = candidates.pop()
            out[i] = kind
            covered += callers[i]
    return out


def make_series(workloads: Sequence[mesh.Workload], edges: int, tcp_edges: int,
                rng: random.Random) -> list[dict[str, Any]]:
    """Both reporters' series of `edges` request edges and `tcp_edges` TCP edges; the edges
    into the `troubled` workloads fail or are flaky."""
    series: list[dict[str, Any]] = []
    pairs = random_pairs(edges, len(workloads), rng)
    trouble = troubled(workloads, pairs, rng)
    for src, dst in pairs:
        grpc = rng.random() < GRPC_SHARE
        series += mesh.request_edge(workloads[src], workloads[dst],
                                    response_codes(grpc, rng, trouble.get(dst)),
                                    protocol="grpc" if grpc else "http")
    for src, dst in random_pairs(tcp_edges, len(workloads), rng):
        sent = round(rng.uniform(100.0, 50_000.0), 3)
        series += mesh.tcp_edge(workloads[src], workloads[dst], sent, round(sent * 0.3, 3))
    return series


# --- the Prometheus ------------------------------------------------------------------------


def backfill_blocks(series: Sequence[dict[str, Any]], base: Path, history_s: int) -> Path:
    """TSDB blocks of `series`, printing progress and timings."""
    # sample_times() reads these at call time: a shorter span keeps the OpenMetrics file
    # small. A 60 s rate at QUERY_TIME reads the same few samples either way.
    step = backfill.STEP_SECONDS
    backfill.HISTORY_SECONDS, backfill.FUTURE_SECONDS = history_s, step * 4
    samples = len(backfill.sample_times(QUERY_TIME))
    if samples != history_s // step + 5:
        raise RuntimeError("tests/support/prometheus.py no longer takes its span from "
                           "HISTORY_SECONDS and FUTURE_SECONDS: update this benchmark")
    log(f"backfill: {len(series):,} series x {samples} samples "
        f"({history_s} s of history, every {step} s)")
    start = time.perf_counter()
    text = backfill.write_openmetrics(series, QUERY_TIME, base / "series.om.txt")
    log(f"  OpenMetrics written: {text.stat().st_size / 1e6:,.0f} MB "
        f"in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    blocks = backfill.create_blocks(text, base / "tsdb")
    text.unlink()
    log(f"  promtool tsdb create-blocks-from openmetrics: {time.perf_counter() - start:.1f} s")
    return blocks


# --- what is timed -------------------------------------------------------------------------


class Replay:
    """Stands in for graph.prometheus.Prometheus: the first batch goes to `prom` and is
    recorded (the exact queries build_graph sends, appenders included); later batches get
    the same rows back without HTTP."""

    def __init__(self, prom: Prometheus) -> None:
        self.prom = prom
        self.queries: list[Query] = []
        self.results: list[list[Row]] | None = None

    def query_each(self, queries: Sequence[Query], at: int) -> Iterator[tuple[int, list[Row]]]:
        if self.results is None:
            self.queries, self.results = list(queries), self.prom.query_all(queries, at)
        return iter(enumerate(self.results))


def raw_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=MAX_PARALLEL))
    session.headers["Accept-Encoding"] = "identity"  # as Meshlens asks a loopback Prometheus
    return session


def fetch_raw(session: requests.Session, url: str, promqls: Sequence[str]) -> list[bytes]:
    """Send the queries in parallel as Meshlens does; return the bodies, fully read."""

    def send(promql: str) -> bytes:
        response = session.post(f"{url}/api/v1/query",
                                data={"query": promql, "time": str(QUERY_TIME)})
        response.raise_for_status()
        return response.content

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(promqls))) as pool:
        return list(pool.map(send, promqls))


def meshlens_get(client: Any, path: str) -> bytes:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status_code}: {response.content[:500]!r}")
    return cast(bytes, response.content)


def python_only(replay: Replay, options: GraphOptions) -> bytes:
    """What dashboard/graphs.py does around a build: the collector held off."""
    with gc_paused():
        graph = build_graph(cast(Prometheus, replay), options, MeshConfig())
        return write_graph(graph).body()


class Laps:
    """Timings of named steps, each with the cyclic GC's pauses inside it (from gc.callbacks):
    `with Laps() as laps: laps.start(); step(); laps.lap("step")`."""

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.cpu: dict[str, list[float]] = {}  # process CPU ms of each step (all threads)
        self._gc_s = self._gc_start = 0.0
        self._at = (0.0, 0.0, 0.0)

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self._gc_s += time.perf_counter() - self._gc_start

    def __enter__(self) -> Laps:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)

    def start(self) -> None:
        self._at = (time.perf_counter(), self._gc_s, time.process_time())

    def lap(self, name: str) -> float:
        (start, gc_start, cpu_start) = self._at
        self._at = (time.perf_counter(), self._gc_s, time.process_time())
        ms = (self._at[0] - start) * 1000
        self.samples.setdefault(name, []).append((ms, (self._at[1] - gc_start) * 1000))
        self.cpu.setdefault(name, []).append((self._at[2] - cpu_start) * 1000)
        return ms

    def medians(self) -> dict[str, tuple[float, float]]:
        """Per step: median wall ms and median CPU ms (CPU: steady when the machine is
        shared)."""
        return {name: (statistics.median(ms for ms, _ in runs),
                       statistics.median(self.cpu[name]))
                for name, runs in self.samples.items()}


def stage_times(url: str, options: GraphOptions, session: requests.Session,
                repeat: int) -> dict[str, tuple[float, float]]:
    """Each stage of build_graph and of the view's answer, one after the other (in
    Meshlens the parse runs in the query threads and the traffic is applied as answers
    come), with the collector held off as the app holds it; the last stage drops what the
    build made, as the view does before the collector is back on. The stages call what
    build.combine and build.Assembly call, in the same order."""
    queries = plan(options, MeshConfig())
    batch, count = queries.batch(), len(queries.traffic)
    # Queries with equal answers are sent (and parsed) once, as Prometheus.query_each does.
    first = {q.answer(): q for q in reversed(batch)}
    responses = {answer: session.post(f"{url}/api/v1/query",
                                      data={"query": q.promql, "time": str(QUERY_TIME)})
                 for answer, q in first.items()}
    mesh = MeshConfig()
    with Laps() as laps:
        for _ in range(repeat):
            gc.collect()
            with gc_paused():
                laps.start()
                answers = {answer: parse_vector(responses[answer], q.wire_labels(), url,
                                                q.joined) for answer, q in first.items()}
                results = [q.read(answers[q.answer()]) for q in batch]
                laps.lap("parse_vector: JSON to rows (graph/prometheus.py)")
                built = NamespaceTraffic(options)
                for query, rows in zip(queries.traffic, results[:count], strict=True):
                    built.apply(query, rows)
                tm = build.merged(built)
                laps.lap("rows to the merged map (istio/traffic.py, graph/cells.py)")
                build.mark_outsiders(tm, options.namespaces, mesh)
                build.mark_roots(tm)
                if options.graph_type == ids.SERVICE:
                    tm = build.reduce_to_service_graph(tm)
                laps.lap("finalizers (graph/build.py)")
                build.judge_map(tm, HealthConfig.default())
                laps.lap("health (graph/health.py, graph/health_arrays.py)")
                graph = tm.to_networkx()
                laps.lap("to_networkx (graph/traffic.py)")
                offset = count
                for appender, qs in queries.appenders:
                    appender.apply(graph, results[offset:offset + len(qs)],
                                   AppenderContext(options, MeshConfig()))
                    offset += len(qs)
                build.stamp(graph, options)
                laps.lap("appenders (graph/sources/istio/response_time.py, security.py, ...)")
                written = write_graph(graph)
                laps.lap("write_graph: elements as JSON pieces (graph/cytoscape_json.py)")
                written.body()
                laps.lap("body: the pieces joined (as dashboard/views.py sends it)")
                encode_written(written)
                laps.lap("or encode_written, JSON and fingerprints (live path: graph/delta.py)")
                del results, built, tm, graph, written
                laps.lap("freeing it all")
    return laps.medians()


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


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuUse:
    """CPU milliseconds of each run: this process (all its threads) and Prometheus."""

    def __init__(self, prometheus_pid: int) -> None:
        self.pid = prometheus_pid
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self._at = (0.0, 0.0)

    def start(self) -> None:
        self._at = (time.process_time(), process_cpu_s(self.pid))

    def stop(self, key: str) -> None:
        own, prometheus = time.process_time(), process_cpu_s(self.pid)
        self.samples.setdefault(key, []).append(
            ((own - self._at[0]) * 1000, (prometheus - self._at[1]) * 1000))

    def medians(self, key: str) -> tuple[float, float]:
        runs = self.samples[key]
        return (statistics.median(own for own, _ in runs),
                statistics.median(prom for _, prom in runs))


def run_rounds(runs: dict[str, Callable[[], object]], repeat: int,
               cpu: CpuUse) -> dict[str, list[tuple[float, float]]]:
    """Warm up once, then `repeat` rounds of every run: (ms, ms of GC inside) per run, and
    the CPU each run took in `cpu`."""
    for run in runs.values():
        run()
    with Laps() as laps:
        for round_no in range(1, repeat + 1):
            took = []
            for key, run in runs.items():
                gc.collect()  # start each run without the garbage of the one before
                cpu.start()
                laps.start()
                run()
                took.append(f"{key} {laps.lap(key):.0f} ms")
                cpu.stop(key)
            log(f"  round {round_no}: " + ", ".join(took))
    return laps.samples


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
