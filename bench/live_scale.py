"""The live page at scale: a synthetic Istio mesh, the real stack, headless Chromium.

    .venv/bin/python bench/live_scale.py [--workloads 1000,10000] [--quick]

For each size: serves a synthetic mesh (bench/live_mesh.py) as scrape targets
(bench/live_exporter.py) to a real Prometheus that scrapes it live, starts Redis, daphne, a
Celery worker (prefork, 2 processes, as `make run`) and beat on free loopback ports, waits
until Prometheus holds a whole rate window, then prints:
- the build alone: GET /api/v1/graph of every namespace, now (no cache: a fresh build);
- the API ratio: GET /api/v1/graph at a fixed query_time (never cached) against the
  Prometheus time of Kiali's own query set (per namespace, 3 request and 3 TCP queries,
  in order; namespaces in parallel), a few rounds each, side by side: medians and ratio,
  and the CPU each took (`--compare DIR`: another checkout's API too, its own daphne and
  worker on the same data; `--api-only` stops after this);
- time to first graph on screen, cold (a fresh scope) and warm (a second page);
- frame times while panning, and main-thread blocking per update (long tasks);
- RSS of the web, worker, beat, Prometheus and Redis processes with the scope live;
- what /metrics says about the builds.
Everything started is stopped at the end, on an error, Ctrl-C or SIGTERM. Not a test: it
asserts nothing, it prints figures (and writes them to bench/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import live_page, live_screens  # noqa: E402
from bench.graph_build import process_cpu_s  # noqa: E402
from bench.kiali_queries import NAMESPACES, kiali_queries, kiali_time  # noqa: E402, F401
from bench.live_exporter import MeshTarget, wait_for_window  # noqa: E402
from bench.live_memory import RssSampler, children, rss_mb  # noqa: E402, F401 (bench/load.py)
from bench.live_mesh import log, write_results  # noqa: E402
from bench.live_stack import (  # noqa: E402
    Stack,
    median_of,
    meshlens_cpu_s,
    rss_report,
    scrape_builds,
    scrape_cost,
)
from tests.support.process import tail  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

CHROMIUM = os.environ.get("MESHLENS_CHROMIUM", "/usr/bin/chromium")
# As tests/browser/conftest.py launches it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]

# GETs of each API before the rounds: enough for each of a worker's pool processes to have
# built the scope twice (its first build apart, the next in place when the scope is small).
WARM_GETS = 4


def timed_get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = requests.get(url, timeout=300)
    body = response.content
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: HTTP {response.status_code}: {body[:300]!r}")
    return elapsed, body


# --- one size ------------------------------------------------------------------------------


def run_size(workloads: int, args: argparse.Namespace, base: Path, exits: ExitStack,
             ) -> dict[str, Any]:
    result: dict[str, Any] = {"workloads": workloads}
    step = 15 if workloads <= 3000 else 30
    duration = 4 * step
    refresh = args.refresh or (5 if workloads <= 3000 else 15)
    log(f"\n=== {workloads:,} workloads")
    began = time.perf_counter()
    # The mesh is scraped live (bench/live_exporter.py): Prometheus starts empty and holds
    # what it took, every `step` seconds, from the start of the run to its end.
    target = MeshTarget(workloads, args.seed, step, base / "exporter.log")
    exits.callback(target.stop)
    target.start()
    prometheus = PrometheusServer(base / "tsdb", base / "prometheus",
                                  config=target.prometheus_config())
    prometheus.start(timeout=300)
    exits.callback(prometheus.stop)
    redis_server = RedisServer(base / "redis").start()
    exits.callback(redis_server.stop)
    stack = Stack(base, {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
                         "MESHLENS_REFRESH_SECONDS": str(refresh),
                         "MESHLENS_PROMETHEUS_TIMEOUT": "120",
                         "MESHLENS_DB": str(base / "db.sqlite3"),
                         "DJANGO_SETTINGS_MODULE": "dashboard.settings",
                         # As scripts/run.sh starts every process.
                         "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")})
    exits.callback(stack.stop)
    stack.start()
    other = None
    if args.compare:  # another checkout's stack on the same Prometheus and data
        (base / "compared").mkdir()
        # Its own Redis database: on the same one, its daphne would hand its builds to this
        # checkout's worker (dashboard/answers.py), and the two would time the same code.
        other = Stack(base / "compared", stack.env | {
            "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/1",
            "MESHLENS_DB": str(base / "compared" / "db.sqlite3"),
            "PYTHONDONTWRITEBYTECODE": "1"},  # leave the other checkout as it is
            root=Path(args.compare).resolve())
        exits.callback(other.stop)
        other.start()
    log(f"stack up in {time.perf_counter() - began:.0f} s; waiting for a whole rate window "
        f"of scrapes ({duration} s, every {step} s)")
    if not wait_for_window(prometheus.url, target.shards, duration, step, 10 * duration):
        raise RuntimeError(f"Prometheus did not scrape the mesh:\n{tail(target.log)}")
    result["ready_s"] = round(time.perf_counter() - began)
    began, began_cpu = time.perf_counter(), process_cpu_s(prometheus.pid or 0)
    result["load_average"] = [os.getloadavg()]
    log(f"ready in {result['ready_s']} s: web {stack.url}, Prometheus {prometheus.url}, "
        f"refresh {refresh} s, rate window {duration} s")
    query = f"namespaces={','.join(NAMESPACES)}&duration={duration}s"

    # The build alone: no cache, evaluated now (the first build fills the process's caches).
    builds = []
    for _ in range(args.rounds):
        seconds, body = timed_get(f"{stack.url}/api/v1/graph?{query}")
        builds.append(seconds)
    graph = json.loads(body)
    edges = graph["elements"]["edges"]
    result["graph"] = {"nodes": len(graph["elements"]["nodes"]), "edges": len(edges),
                       "failing_edges": sum(e["data"]["healthStatus"] == "Failure"
                                            for e in edges),
                       "degraded_edges": sum(e["data"]["healthStatus"] == "Degraded"
                                             for e in edges),
                       "answer_mb": round(len(body) / 1e6, 1)}
    result["build_s"] = [round(b, 3) for b in builds]
    log(f"graph: {result['graph']}")
    log("build alone (GET /api/v1/graph, now, no cache): "
        + ", ".join(f"{b:.2f}" for b in builds) + " s (the first fills the caches)")
    del graph, body, edges

    # The API against Kiali's query set, side by side, rotating which goes first.
    at = int(time.time()) - 5
    result["api"] = api_ratio(stack, other, prometheus, query, at, duration, args.rounds)
    if args.api_only:
        return result

    sampler = RssSampler(stack.processes["web"].pid, stack.processes["worker"].pid)
    sampler.start()
    try:
        result.update(browse(stack, query, refresh, args, workloads))
    finally:
        result["rss_sampled_mb"] = sampler.stop()
    result["rss_mb"] = {k: round(v) for k, v in
                        rss_report(stack, prometheus.pid or 0, redis_server.pid or 0).items()}
    # The highest each process reached in the whole run (a build's peak).
    result["peak_rss_mb"] = {k: round(v) for k, v in rss_report(
        stack, prometheus.pid or 0, redis_server.pid or 0, "VmHWM").items()}
    result["load_average"].append(os.getloadavg())
    result["metrics"] = scrape_builds(stack.url)
    try:
        result["scrapes"] = scrape_cost(prometheus.url, prometheus.pid or 0, began_cpu,
                                        time.perf_counter() - began)
    except (requests.RequestException, KeyError, ValueError) as exc:
        result["scrapes"] = {"error": str(exc)}
    return result


def api_ratio(stack: Stack, other: Stack | None, prometheus: PrometheusServer, query: str,
              at: int, duration: int, rounds: int) -> dict[str, Any]:
    """GET /api/v1/graph at `at` (never cached) against Kiali's query set, and against the
    same GET of `other` (another version) when given, in rotating order: medians, ratios,
    and the CPU each took of Prometheus and of Meshlens (daphne and the worker, whose forked
    builds answer the GETs): on a busy machine the steadier figures, as wall times there
    follow the CPU each side takes of the shared cores."""
    prometheus_pid = prometheus.pid or 0
    sides: dict[str, Callable[[], float]] = {
        "meshlens": lambda: timed_get(f"{stack.url}/api/v1/graph?{query}&query_time={at}")[0],
        "kiali": lambda: kiali_time(prometheus.url, at, duration)}
    stacks = {"meshlens": stack}
    if other is not None:
        sides["compared"] = lambda: timed_get(
            f"{other.url}/api/v1/graph?{query}&query_time={at}")[0]
        stacks["compared"] = other
    # Warm-up: each pool process of a worker (2, as `make run` starts it) keeps its own caches
    # and its own scope sizes (graph/build_sizes.py), so each API is asked until both have
    # built the scope twice; the build-alone GETs above warmed this checkout's only.
    for name, run in sides.items():
        for _ in range(WARM_GETS if name in stacks else 1):
            run()
    figures: dict[str, dict[str, list[float]]] = {
        name: {"s": [], "prometheus_cpu_s": [], "meshlens_cpu_s": []} for name in sides}
    names = list(sides)
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            cpu = process_cpu_s(prometheus_pid)
            own = meshlens_cpu_s(stacks[name]) if name in stacks else 0.0
            figures[name]["s"].append(round(sides[name](), 3))
            figures[name]["prometheus_cpu_s"].append(round(process_cpu_s(prometheus_pid) - cpu, 2))
            if name in stacks:
                figures[name]["meshlens_cpu_s"].append(round(meshlens_cpu_s(stacks[name]) - own, 2))
        log(f"  round {round_no + 1}: " + ", ".join(
            f"{name} {figures[name]['s'][-1]:.2f} s" for name in names))
    out: dict[str, Any] = {"meshlens_s": figures["meshlens"]["s"],
                           "kiali_s": figures["kiali"]["s"],
                           "ratio": round(median_of(figures["meshlens"]["s"])
                                          / median_of(figures["kiali"]["s"]), 2),
                           "cpu_s": {name: {k: round(median_of(v), 3) for k, v in f.items() if v}
                                     for name, f in figures.items()}}
    if other is not None:
        out["compared_s"] = figures["compared"]["s"]
        out["compared_ratio"] = round(median_of(figures["compared"]["s"])
                                      / median_of(figures["kiali"]["s"]), 2)
    log(f"API ratio {out['ratio']}" + (f", compared version {out['compared_ratio']}"
                                        if other is not None else "")
        + f"; CPU medians {json.dumps(out['cpu_s'])}")
    return out


def browse(stack: Stack, query: str, refresh: int, args: argparse.Namespace, workloads: int,
           ) -> dict[str, Any]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    page_url = f"{stack.url}/?{query}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            cold = live_page.open_page(browser)
            first = live_page.first_graph(cold, page_url, args.timeout)
            out["cold"] = vars(first)
            log(f"page, cold scope: {describe(first)}")
            warm = live_page.open_page(browser)
            second = live_page.first_graph(warm, page_url, args.timeout)
            out["warm"] = vars(second)
            log(f"page, warm scope: {describe(second)}")
            cold.context.close()
            if second.seconds is None:
                return out
            frames = live_page.pan_frames(warm, args.pan_seconds)
            out["pan_frame_ms"] = {"median": round(median_of(frames), 1),
                                   "p95": round(live_page.percentile(frames, 0.95), 1),
                                   "frames": len(frames)}
            log(f"panning: {live_page.frame_summary(frames)}")
            got = live_page.updates(warm, args.updates, args.updates * refresh * 3 + 60)
            out["updates"] = vars(got)
            for kind, worst, total, size in zip(got.types, got.max_ms, got.total_ms, got.bytes,
                                                strict=True):
                log(f"update {kind}: long tasks max {worst:.0f} ms, total {total:.0f} ms, "
                    f"{size:,} bytes")
            if got.note:
                log(f"updates: {got.note}")
            if args.screenshots:
                prefix = f"live-{workloads}"
                try:
                    out["screenshots"] = live_screens.take(warm, Path(args.screenshots),
                                                           prefix)
                except PlaywrightError as exc:  # the figures above are still good
                    out["screenshots"] = [f"failed: {exc}"]
                log("screenshots: " + "; ".join(out["screenshots"]))
        finally:
            browser.close()
    return out


def describe(first: live_page.FirstGraph) -> str:
    if first.seconds is None:
        return f"NEVER: {first.note}"
    return f"{first.seconds:.2f} s ({first.nodes:,} nodes, {first.edges:,} edges drawn)"


def summary(result: dict[str, Any]) -> None:
    log(f"\n--- {result['workloads']:,} workloads: summary")
    for key in ("ready_s", "load_average", "scrapes", "graph", "build_s", "api", "cold", "warm",
                "pan_frame_ms", "rss_mb", "peak_rss_mb", "rss_sampled_mb"):
        if key in result:
            log(f"{key}: {json.dumps(result[key])}")
    if "updates" in result:
        u = result["updates"]
        log(f"updates: {u['count']} ({', '.join(u['types'])}); long tasks per update: max "
            f"{[round(x) for x in u['max_ms']]} ms, total {[round(x) for x in u['total_ms']]} ms"
            f"; bytes {u.get('bytes')}")
    m = result.get("metrics", {})
    count = m.get("count total")
    if count:
        log(f"/metrics: {count:.0f} builds, mean {m['sum total'] / count:.2f} s"
            f" (query {m.get('sum query', 0) / count:.2f} s), "
            f"skipped ticks {m.get('meshlens_refreshes_skipped_total', 0):.0f}, "
            f"failures {m.get('meshlens_build_failures_total', 0):.0f}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", default=None,
                        help="comma list of sizes (default 1000; --quick: 100)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 100 workloads, 2 rounds, 1 update, 1 s of panning")
    parser.add_argument("--refresh", type=int, default=0,
                        help="MESHLENS_REFRESH_SECONDS (default 5, 15 above 3,000 workloads)")
    parser.add_argument("--rounds", type=int, default=None, help="API rounds (default 5)")
    parser.add_argument("--updates", type=int, default=None, help="updates to watch (3)")
    parser.add_argument("--pan-seconds", type=float, default=None, help="(default 3)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds to wait for the first graph on the page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--screenshots", metavar="DIR",
                        help="at the end, screenshots of the page (folded, the failing-edges "
                        "panel, ns1 unfolded, a node selected) in DIR")
    parser.add_argument("--api-only", action="store_true",
                        help="stop after the API ratio (no page, no RSS, no /metrics)")
    parser.add_argument("--compare", metavar="DIR",
                        help="also time the API of the checkout in DIR (its own daphne, same "
                        "data), rounds interleaved")
    args = parser.parse_args(argv)
    quick = args.quick
    args.workloads = [int(w) for w in (args.workloads or ("100" if quick else "1000")).split(",")]
    args.rounds = args.rounds or (2 if quick else 5)
    args.updates = args.updates or (1 if quick else 3)
    args.pan_seconds = args.pan_seconds or (1.0 if quick else 3.0)
    if min(args.workloads) < 20:
        parser.error("--workloads: at least 20")
    return args


def interrupted(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_signals() -> None:
    """Ctrl-C and kill stop everything started, even when launched where SIGINT is ignored
    (a background job of a script)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupted)


def main() -> int:
    args = parse_args()
    stop_on_signals()
    results = []
    try:
        for workloads in args.workloads:
            with tempfile.TemporaryDirectory(prefix="meshlens-live-") as tmp, \
                    ExitStack() as exits:
                results.append(run_size(workloads, args, Path(tmp), exits))
            summary(results[-1])
    except KeyboardInterrupt:
        log("interrupted; everything started is stopped")
        return 130
    write_results("live_scale", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
