"""Load on the demo: 200 WebSocket viewers of one scope and 50 API requests a second, 60 s.

    .venv/bin/python bench/load.py [--clients 200] [--rate 50] [--seconds 60] [--refresh 3]
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 [--prometheus URL]

Starts the demo as `make run` does (the simulator, a Prometheus scraping it every 2 s,
Redis, daphne, a Celery worker and beat) on free loopback ports, or, with --url, measures a
Meshlens already running (then without the processes' CPU and memory). Then:
1. one viewer until 3 refreshes have come: the Prometheus queries one refresh costs;
2. --clients viewers connect at once (bench/load_clients.py follows the page's protocol):
   how long each waits for its first graph;
3. for --seconds, --rate API requests a second on the same scope (/api/v1/graph,
   /api/v1/edges and Kiali's /api/namespaces/graph in turn), while the viewers watch;
4. figures: updates lost, update lag (worker's publish to viewer), API latency and errors,
   Prometheus queries per refresh and per tick against one set, CPU and memory of daphne
   and the worker, the load average. Printed and written to bench/results/.
Loopback only, bounded in time; everything started is stopped at the end, on an error,
Ctrl-C or SIGTERM. Not a test: it asserts nothing. `--code DIR` runs the Meshlens processes
from another checkout (a version without `sent` in its messages shows no update lag, only
the graph's age at arrival).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load_clients as clients  # noqa: E402
from bench.live_mesh import log, write_results  # noqa: E402
from bench.live_scale import (  # noqa: E402
    Stack,
    children,
    rss_mb,
    scrape_builds,
    stop_on_signals,
)
from tests.support.meshlens import answers  # noqa: E402
from tests.support.ports import free_port, wait_until  # noqa: E402
from tests.support.process import spawn, stop  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

NAMESPACES = "bookinfo,boutique,emojivoto,social"  # the demo page's default view
TOPOLOGIES = "bookinfo,boutique,emojivoto,social"


# --- the demo stack ----------------------------------------------------------------------


def start_demo(base: Path, exits: ExitStack, refresh: int,
               code: Path = ROOT) -> tuple[Stack, dict[str, int]]:
    """scripts/run.sh's processes and settings, on free ports; the stack and the pids of
    the other processes."""
    redis_server = RedisServer(base / "redis").start()
    exits.callback(redis_server.stop)
    sim_port = free_port()
    simulator = spawn([sys.executable, "-m", "demo", "--topology", TOPOLOGIES,
                       "--port", str(sim_port)], base / "simulator.log", cwd=ROOT)
    exits.callback(stop, simulator)
    config = ("global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n"
              "scrape_configs:\n  - job_name: meshlens-demo\n    honor_labels: true\n"
              f"    static_configs:\n      - targets: ['127.0.0.1:{sim_port}']\n")
    prometheus = PrometheusServer(base / "tsdb", base / "prometheus", retention="1d",
                                  config=config, features=("exemplar-storage",))
    prometheus.start(timeout=120)
    exits.callback(prometheus.stop)
    stack = Stack(base, {
        "PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
        "MESHLENS_REFRESH_SECONDS": str(refresh), "MESHLENS_DEFAULT_DURATION": "20s",
        "MESHLENS_DEFAULT_NAMESPACES": NAMESPACES, "MESHLENS_DIALECTS": "istio,linkerd,traces",
        "MESHLENS_DB": str(base / "db.sqlite3"), "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
        "PYTHONDONTWRITEBYTECODE": "1"}, root=code)
    exits.callback(stack.stop)
    stack.start()
    return stack, {"Prometheus": prometheus.pid or 0, "Redis": redis_server.pid or 0,
                   "simulator": simulator.pid}


def wait_for_traffic(url: str, scope: str, timeout: float = 120) -> dict[str, Any]:
    """The scope's graph once the demo's traffic is in it (two scrapes inside the window)."""
    graph: dict[str, Any] = {}

    def ready() -> bool:
        nonlocal graph
        response = requests.get(f"{url}/api/v1/graph?{scope}", timeout=60)
        graph = response.json() if response.ok else {}
        return len(graph.get("elements", {}).get("edges", ())) >= 20

    if not wait_until(ready, timeout, interval=2):
        raise RuntimeError(f"no traffic in the demo's graph after {timeout:.0f} s: {graph}")
    return graph


# --- what the processes and Prometheus say ----------------------------------------------


def cpu_s(pid: int, reaped: bool = True) -> float:
    """CPU seconds of a process, and with `reaped` of its children that exited (a worker's
    builds run in children forked for them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_groups(stack: Stack, others: dict[str, int]) -> dict[str, list[int]]:
    worker = stack.processes["worker"].pid
    return {"daphne": [stack.processes["web"].pid], "worker": [worker, *children(worker)],
            "beat": [stack.processes["beat"].pid],
            **{name: [pid] for name, pid in others.items()}}


class Sampler:
    """CPU seconds of each process group between start() and stop(), and its RSS every
    second meanwhile (mean and peak)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.rss: dict[str, list[float]] = {name: [] for name in groups}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def cpu(self) -> dict[str, float]:
        return {name: sum(cpu_s(pid) for pid in pids) for name, pids in self.groups.items()}

    def start(self) -> None:
        self.began, self.cpu_before = time.perf_counter(), self.cpu()
        self.thread.start()

    def run(self) -> None:
        while not self.done.wait(1.0):
            for name, pids in self.groups.items():
                self.rss[name].append(sum(rss_mb(pid) for pid in pids))

    def stop(self) -> dict[str, Any]:
        self.done.set()
        self.thread.join()
        wall = time.perf_counter() - self.began
        after = self.cpu()
        return {name: {"cpu_s": round(after[name] - self.cpu_before[name], 2),
                       "cpu_share_of_one_core": round((after[name] - self.cpu_before[name])
                                                      / wall, 3),
                       "rss_mb_mean": round(sum(r) / len(r)) if r else None,
                       "rss_mb_peak": round(max(r)) if r else None}
                for name, r in self.rss.items()}


def children_cpu_s() -> float:
    """CPU seconds of this process's children that have exited (the API client's process)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def prometheus_counts(url: str) -> dict[str, float]:
    """Prometheus's own counts of the queries it answered: HTTP requests by handler, and
    query evaluations (engine)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{url}/metrics", timeout=30).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "prometheus_http_requests_total" and s.labels["handler"].startswith(
                    "/api/v1/"):
                out[s.labels["handler"]] = out.get(s.labels["handler"], 0) + s.value
            elif (s.name == "prometheus_engine_query_duration_seconds_count"
                  and s.labels.get("slice") == "inner_eval"):
                out["engine evaluations"] = s.value
    return out


def minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before.get(k, 0), 3) for k, v in after.items() if v - before.get(k, 0)}


def queries(counts: dict[str, float]) -> float:
    # Remote reads too: the request shares go as such with MESHLENS_REMOTE_READ=auto.
    return (counts.get("/api/v1/query", 0) + counts.get("/api/v1/query_range", 0)
            + counts.get("/api/v1/read", 0))


# --- the run -----------------------------------------------------------------------------


async def measure(args: argparse.Namespace, url: str, prometheus_url: str | None,
                  groups: Callable[[], dict[str, list[int]]] | None) -> dict[str, Any]:
    scope = f"namespaces={args.namespaces}&graph_type=workload&duration={args.duration}"
    ws_url = url.replace("http", "ws", 1) + f"/ws/graph?{scope}"
    result: dict[str, Any] = {"scope": scope, "clients": args.clients, "rate": args.rate,
                              "seconds": args.seconds, "refresh_s": args.refresh,
                              "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    graph = await asyncio.to_thread(wait_for_traffic, url, scope)
    result["graph"] = {"nodes": len(graph["elements"]["nodes"]),
                       "edges": len(graph["elements"]["edges"])}
    log(f"graph: {result['graph']}; scope {scope}")

    # 1. One viewer, three refreshes: what one refresh costs Prometheus.
    first = clients.Viewer(-1)
    tasks = [asyncio.create_task(clients.watch(first, ws_url, url))]
    await wait_for(lambda: len(first.versions) >= 1, 120, "the first viewer's snapshot")
    before = prometheus_counts(prometheus_url) if prometheus_url else {}
    start_version = first.versions[-1]
    await wait_for(lambda: len(first.versions) >= 4, 20 * args.refresh, "three refreshes")
    if prometheus_url:
        spent = minus(prometheus_counts(prometheus_url), before)
        refreshes = first.versions[-1] - start_version
        result["one_viewer"] = {"refreshes": refreshes, "prometheus": spent,
                                "queries_per_refresh": round(queries(spent) / refreshes, 2)}
        log(f"one viewer: {refreshes} refreshes cost {spent}")

    # 2. All viewers at once.
    viewers = [clients.Viewer(i) for i in range(args.clients)]
    began = time.perf_counter()
    tasks += [asyncio.create_task(clients.watch(v, ws_url, url)) for v in viewers]
    await wait_for(lambda: all(v.versions for v in viewers), 300, "every viewer's snapshot")
    result["connect"] = {"all_shown_s": round(time.perf_counter() - began, 2),
                         "first_graph_ms": clients.spread([v.first_graph_s or 0
                                                           for v in viewers])}
    log(f"{args.clients} viewers connected: {result['connect']}")

    # 3. The API load while they watch.
    urls = {kind: f"{url}{path}?{query}" for kind, path, query in (
        ("graph", "/api/v1/graph", scope), ("edges", "/api/v1/edges", scope),
        ("kiali", "/api/namespaces/graph",
         f"namespaces={args.namespaces}&graphType=workload&duration={args.duration}"))}
    since_version = max(v.versions[-1] for v in viewers)
    start_at = time.time() + 1
    counts_before = prometheus_counts(prometheus_url) if prometheus_url else {}
    builds_before = await asyncio.to_thread(scrape_builds, url)
    # The processes now, not at start: the worker's pool processes come after daphne is up.
    sampler = Sampler(groups()) if groups else None
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        api = loop.run_in_executor(pool, clients.api_load, urls, args.rate, args.seconds,
                                   start_at)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        if sampler:
            sampler.start()
        window_began = time.perf_counter()
        client_cpu, reaped_cpu = time.process_time(), children_cpu_s()
        results = await api
        # The viewers watch the whole window, with or without API requests (--rate 0).
        await asyncio.sleep(max(0.0, args.seconds - (time.perf_counter() - window_began)))
    window = time.perf_counter() - window_began
    processes = sampler.stop() if sampler else {}
    # This process's viewers share the cores too: what they took, and the API client's.
    processes["bench viewers"] = {"cpu_s": round(time.process_time() - client_cpu, 2)}
    processes["bench API client"] = {"cpu_s": round(children_cpu_s() - reaped_cpu, 2)}
    counts = minus(prometheus_counts(prometheus_url), counts_before) if prometheus_url else {}
    builds = minus(await asyncio.to_thread(scrape_builds, url), builds_before)
    last_version = max(v.versions[-1] for v in viewers)
    # Let every viewer get the last version published before the end (bounded).
    await wait_for(lambda: all(v.versions[-1] >= last_version for v in viewers),
                   3 * args.refresh, "the last update everywhere", fail=False)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    refreshes = last_version - since_version
    result.update({
        "window_s": round(window, 1), "load_during": os.getloadavg(),
        "updates": clients.viewer_figures(viewers, since_version, last_version),
        "api": clients.api_figures(results),
        "meshlens_metrics": builds, "processes": processes,
    })
    if prometheus_url:
        expected = result["one_viewer"]["queries_per_refresh"]
        ticks = window / args.refresh
        result["prometheus"] = {
            "counts": counts, "ticks": round(ticks, 1), "refreshes": refreshes,
            "queries": queries(counts), "queries_per_tick": round(queries(counts) / ticks, 2),
            "one_set": expected,
            "queries_beyond_the_refreshes": round(queries(counts) - refreshes * expected, 1)}
    return result


async def wait_for(check: Any, seconds: float, what: str, fail: bool = True) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            if fail:
                raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")
            log(f"warning: {what} did not come within {seconds:.0f} s")
            return
        await asyncio.sleep(0.1)


def summary(r: dict[str, Any]) -> None:
    u, p = r["updates"], r.get("prometheus", {})
    log(f"\n=== {r['clients']} viewers, {r['rate']} API requests/s for {r['window_s']} s "
        f"(load average {r['load_before'][0]:.1f} before, {r['load_during'][0]:.1f} during, "
        f"{r['cpus']} CPUs)")
    log(f"updates: {u['updates_published']} published, {u['updates_lost']} lost of "
        f"{u['updates_expected']}; deltas from another version {u['deltas_from_another_version']}"
        f", reconnects {u['reconnects']}")
    log(f"update lag (publish -> viewer) ms: {u['update_lag_ms']}")
    log(f"graph age at arrival ms: {u['graph_age_at_arrival_ms']}")
    log(f"publish -> first viewer of an update ms: {u['first_viewer_lag_ms']}")
    log(f"fan-out spread (first to last viewer of an update) ms: {u['fan_out_spread_ms']}")
    for kind, a in r["api"].items():
        if kind != "p99_ms_by_10_s":
            log(f"API {kind}: {a['latency_ms']} errors {a['errors']} {a['statuses']}")
    log(f"API p99 ms by 10 s: {r['api'].get('p99_ms_by_10_s')}")
    if p:
        log(f"Prometheus: {p['queries']} queries in {p['ticks']} ticks ({p['refreshes']} "
            f"refreshes): {p['queries_per_tick']} a tick, one set = {p['one_set']}; "
            f"{p['queries_beyond_the_refreshes']} beyond the refreshes; {p['counts']}")
    log(f"Meshlens /metrics: {r['meshlens_metrics']}")
    for name, figures in (r["processes"] or {}).items():
        log(f"{name}: {figures}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50, help="API requests a second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--refresh", type=int, default=3,
                        help="MESHLENS_REFRESH_SECONDS (make run's 3); with --url, the server's")
    parser.add_argument("--namespaces", default=NAMESPACES)
    parser.add_argument("--duration", default="20s", help="the scope's rate window")
    parser.add_argument("--url", help="a running Meshlens to measure instead of the demo")
    parser.add_argument("--prometheus", help="with --url: its Prometheus, to count queries")
    parser.add_argument("--code", metavar="DIR", help="run daphne, the worker and beat from "
                        "the checkout in DIR (another version: before and after)")
    parser.add_argument("--workdir", help="keep the processes' logs and data here (an empty "
                        "directory; default: a temporary one, removed at the end)")
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    stop_on_signals()
    try:
        with ExitStack() as exits:
            tmp = args.workdir or exits.enter_context(
                tempfile.TemporaryDirectory(prefix="meshlens-load-"))
            if args.url:
                url, prometheus_url, groups = args.url.rstrip("/"), args.prometheus, None
                if not answers(url):
                    raise SystemExit(f"--url {url}: no answer from /healthz")
            else:
                code = Path(args.code).resolve() if args.code else ROOT
                stack, others = start_demo(Path(tmp), exits, args.refresh, code)
                url, prometheus_url = stack.url, stack.env["PROMETHEUS_URL"]
                groups = partial(process_groups, stack, others)
                log(f"demo up: {url}, Prometheus {prometheus_url}, refresh {args.refresh} s")
            result = asyncio.run(measure(args, url, prometheus_url, groups))
    except KeyboardInterrupt:
        log("interrupted; everything started is stopped")
        return 130
    summary(result)
    write_results("load", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
