"""Where the wall time of one `GET /api/v1/graph` goes, against Kiali's query set.

    .venv/bin/python bench/api_timeline.py [--workloads 1000] [--rounds 5] [--keep DIR]

Backfills live_scale.py's mesh (bench/live_mesh.py) into a real Prometheus, then, at a
fixed query time, alternates rounds of Kiali's query set (live_scale.kiali_time) and a
`GET /api/v1/graph` through Django's test client in this process, and prints, for the
median round of the API, a timeline from the start of the request: each query's send,
headers (Prometheus writes its answer whole, so the headers come with its first byte),
last byte and parse; each answer's traffic stage on the build thread; the merge, the
appenders, the JSON (pieces written, positions, bytes joined) and every pass of the cyclic garbage
collector; and Prometheus's CPU in each. `--keep DIR` keeps the backfilled blocks in DIR
and reuses them on the next run (same mesh, same query time). `--remote-read on,off` runs
the API once per setting of MESHLENS_REMOTE_READ in each round (their order rotating),
side by side with Kiali's set, and prints each one's ratio.

Timing points are added by wrapping the functions they time (no fault is simulated); the
wrappers cost a few microseconds per call.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# --code DIR: graph/ and dashboard/ from another checkout, on the same data (read before
# anything imports them).
if "--code" in sys.argv[:-1]:
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--code") + 1]).resolve()))

from bench.graph_build import PROMETHEUS_TIMEOUT_S, process_cpu_s  # noqa: E402
from bench.live_mesh import backfill_blocks, log, make_mesh  # noqa: E402
from bench.live_scale import NAMESPACES, kiali_time  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

HISTORY_S = 600


class Timeline:
    """Events (start, end, thread, what) relative to `origin`, recorded from any thread."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float, str, str]] = []
        self.origin = time.perf_counter()
        self.lock = threading.Lock()

    def add(self, start: float, end: float, what: str) -> None:
        with self.lock:
            self.events.append((start - self.origin, end - self.origin,
                                threading.current_thread().name, what))

    @contextmanager
    def span(self, what: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(start, time.perf_counter(), what)


TIMELINE = Timeline()


def wrap(owner: Any, name: str, label: Callable[..., str]) -> None:
    """Record every call of owner.name as a span labelled label(*args)."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        with TIMELINE.span(label(*args, **kwargs)):
            return original(*args, **kwargs)

    setattr(owner, name, timed)


def instrument() -> None:
    import graph.build
    import graph.cytoscape
    import graph.layout
    import graph.prometheus as prom
    from dashboard import graphs

    def post(self: prom.Prometheus, path: str, data: dict[str, str]) -> Any:
        start = time.perf_counter()
        response = self.session.post(f"{self.settings.url}{path}", data=data,
                                     headers=self.headers, timeout=self.settings.timeout,
                                     stream=True)
        headers = time.perf_counter()
        body = response.content
        end = time.perf_counter()
        what = data.get("query", "")[:70]
        TIMELINE.add(start, headers, f"wait   {what}")
        TIMELINE.add(headers, end, f"read   {len(body) / 1e6:.2f} MB")
        return response

    prom.Prometheus.post = post  # type: ignore[method-assign]
    wrap(prom, "parse_vector", lambda *a, **k: "parse")
    wrap(prom.Query, "read", lambda self, rows: f"read rows ({len(rows)})")
    wrap(graph.build.Assembly, "add", lambda self, i, rows: f"add #{i} "
         f"{self.queries.kind(i)} ({len(rows)} rows)")
    wrap(graph.build.Assembly, "graph", lambda self: "graph() (stamp)")
    wrap(graph.build, "combine", lambda *a: "merge+finalize+health (combine)")
    wrap(graph.build, "merged", lambda *a: "merged maps")
    graphs.write_graph = _timed(graphs.write_graph, "write_graph (JSON pieces)")
    graphs.with_positions = _timed(graphs.with_positions, "with_positions")
    import graph.cytoscape_json as cytoscape_json
    wrap(cytoscape_json.Written, "body", lambda self: "Written.body (bytes joined)")
    import graph.memory as memory
    wrap(memory, "give_back", lambda: "malloc_trim")
    from dashboard import metrics
    wrap(metrics, "record_build", lambda *a: "metrics.record_build (Redis)")
    wrap(graph.build.Assembly, "prepare_ready", lambda self: "appenders' prepare")
    gc.callbacks.append(_gc_callback)


def _timed(func: Callable[..., Any], what: str) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        with TIMELINE.span(what):
            return func(*args, **kwargs)
    return timed


_gc_start: dict[int, float] = {}


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    now = time.perf_counter()
    if phase == "start":
        _gc_start[threading.get_ident()] = now
    else:
        start = _gc_start.pop(threading.get_ident(), now)
        if now - start > 0.0005 or info["generation"] == 2:
            TIMELINE.add(start, now, f"gc gen{info['generation']} "
                         f"collected {info['collected']}")


def print_timeline(events: list[tuple[float, float, str, str]]) -> None:
    threads: dict[str, str] = {}
    for start, end, thread, what in sorted(events):
        tag = threads.setdefault(thread, "main" if thread == "MainThread"
                                 else f"q{len(threads)}")
        print(f"  {start * 1000:7.1f} {end * 1000:7.1f} {(end - start) * 1000:6.1f} ms "
              f"{tag:>4} {what}")


def setup_django(prometheus_url: str, redis_url: str, base: Path) -> Any:
    """Django on the bench Prometheus, a real Redis (as live_scale.py's stack has: with an
    unreachable one, the failed metrics write keeps the whole payload in a reference cycle
    through its traceback, and the next collection walks it) and a fresh database."""
    os.environ.update(DJANGO_SETTINGS_MODULE="dashboard.settings", PROMETHEUS_URL=prometheus_url,
                      REDIS_URL=redis_url, MESHLENS_DB=str(base / "bench.sqlite3"),
                      MESHLENS_PROMETHEUS_TIMEOUT=str(PROMETHEUS_TIMEOUT_S))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    return Client(HTTP_HOST="localhost")


def tsdb_for(args: argparse.Namespace, base: Path) -> tuple[Path, int]:
    keep = Path(args.keep) if args.keep else None
    if keep and (keep / "at.json").exists():
        at = json.loads((keep / "at.json").read_text())["at"]
        return keep / "tsdb", int(at)
    now = int(time.time())
    series = make_mesh(args.workloads, args.seed)
    step = 15 if args.workloads <= 3000 else 30
    target = keep or base
    target.mkdir(parents=True, exist_ok=True)
    tsdb = backfill_blocks(series, target, now - HISTORY_S, now, step, args.seed)
    at = now - 60
    (target / "at.json").write_text(json.dumps({"at": at, "step": step}))
    return tsdb, at


def mesh_prometheus(args: argparse.Namespace, exits: ExitStack,
                    ) -> tuple[PrometheusServer, Path, int, int]:
    """The mesh's Prometheus (backfilled, or the kept data set), stopped by `exits`: it, a
    temporary folder, the query time and the rate window (four scrape steps)."""
    base = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="timeline-")))
    tsdb, at = tsdb_for(args, base)
    duration = 4 * json.loads((tsdb.parent / "at.json").read_text())["step"]
    prometheus = PrometheusServer(tsdb, base / "prometheus")
    prometheus.start(timeout=300)
    exits.callback(prometheus.stop)
    return prometheus, base, at, duration


def started(args: argparse.Namespace, exits: ExitStack,
            ) -> tuple[PrometheusServer, Any, int, int]:
    """mesh_prometheus(), a Redis and Django in this process, stopped by `exits`: the
    Prometheus, Django's test client, the query time and the rate window."""
    prometheus, base, at, duration = mesh_prometheus(args, exits)
    redis_server = RedisServer(base / "redis").start()
    exits.callback(redis_server.stop)
    return prometheus, setup_django(prometheus.url, redis_server.url, base), at, duration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep (and reuse) the backfilled blocks here")
    parser.add_argument("--no-timeline", action="store_true",
                        help="times only, no timing points")
    parser.add_argument("--parallel", type=int, help="queries in flight at once (default: "
                        "Meshlens's)")
    parser.add_argument("--code", help="import graph/ and dashboard/ from this checkout "
                        "(to compare another version on the same data)")
    parser.add_argument("--remote-read", default="",
                        help="MESHLENS_REMOTE_READ settings to run side by side, e.g. on,off")
    args = parser.parse_args()
    modes = [m for m in args.remote_read.split(",") if m]
    if len(modes) > 1:
        return compare_modes(args, modes)
    with ExitStack() as exits:
        prometheus, client, at, duration = started(args, exits)
        if not args.no_timeline:
            instrument()
        if args.parallel:  # every client made from now on (dashboard/sources.py's too)
            from graph.prometheus import Prometheus

            Prometheus.__init__.__defaults__ = (args.parallel,)
        import graph
        log(f"graph/ from {Path(graph.__file__).parent.parent}")
        path = (f"/api/v1/graph?namespaces={','.join(NAMESPACES)}&duration={duration}s"
                f"&query_time={at}")
        pid = prometheus.pid or 0

        own: list[float] = []

        def ours() -> tuple[float, float, list[Any]]:
            TIMELINE.events.clear()
            TIMELINE.origin = time.perf_counter()
            cpu, mine = process_cpu_s(pid), time.process_time()
            response = client.get(path)
            wall = time.perf_counter() - TIMELINE.origin
            own.append(time.process_time() - mine)
            assert response.status_code == 200, response.content[:300]
            return wall, process_cpu_s(pid) - cpu, list(TIMELINE.events)

        def kiali() -> tuple[float, float]:
            cpu = process_cpu_s(pid)
            wall = kiali_time(prometheus.url, at, duration)
            return wall, process_cpu_s(pid) - cpu

        ours(), kiali()  # warm-up: the process's caches, Prometheus's page cache
        mine: list[tuple[float, float, list[Any]]] = []
        theirs: list[tuple[float, float]] = []
        for round_no in range(args.rounds):
            if round_no % 2:
                theirs.append(kiali())
                mine.append(ours())
            else:
                mine.append(ours())
                theirs.append(kiali())
            log(f"round {round_no + 1}: API {mine[-1][0]:.3f} s (Prometheus CPU "
                f"{mine[-1][1]:.2f} s, Meshlens CPU {own[-1]:.2f} s), Kiali's set "
                f"{theirs[-1][0]:.3f} s ({theirs[-1][1]:.2f} s)")
        walls = [m[0] for m in mine]
        median = statistics.median(walls)
        kiali_median = statistics.median(t[0] for t in theirs)
        log(f"API median {median:.3f} s, Kiali's {kiali_median:.3f} s, ratio "
            f"{median / kiali_median:.2f}; Prometheus CPU API "
            f"{statistics.median(m[1] for m in mine):.2f} s, Kiali "
            f"{statistics.median(t[1] for t in theirs):.2f} s; Meshlens CPU "
            f"{statistics.median(own[1:]):.2f} s")
        if not args.no_timeline:
            chosen = min(mine, key=lambda m: abs(m[0] - median))
            log(f"timeline of the median round ({chosen[0]:.3f} s), ms from the request:")
            print_timeline(chosen[2])
    return 0


def compare_modes(args: argparse.Namespace, modes: list[str]) -> int:
    """Rounds of Kiali's set and one GET per MESHLENS_REMOTE_READ setting, the order
    rotating round by round; the medians and ratios of each setting."""
    from django.conf import settings

    with ExitStack() as exits:
        prometheus, client, at, duration = started(args, exits)
        path = (f"/api/v1/graph?namespaces={','.join(NAMESPACES)}&duration={duration}s"
                f"&query_time={at}")
        pid = prometheus.pid or 0
        bodies: dict[str, bytes] = {}

        def ours(mode: str) -> tuple[float, float, float]:
            settings.MESHLENS_REMOTE_READ = mode
            cpu, mine, start = process_cpu_s(pid), time.process_time(), time.perf_counter()
            response = client.get(path)
            wall = time.perf_counter() - start
            assert response.status_code == 200, response.content[:300]
            bodies[mode] = response.content
            return wall, process_cpu_s(pid) - cpu, time.process_time() - mine

        def kiali() -> tuple[float, float, float]:
            cpu = process_cpu_s(pid)
            wall = kiali_time(prometheus.url, at, duration)
            return wall, process_cpu_s(pid) - cpu, 0.0

        runs: dict[str, list[tuple[float, float, float]]] = {m: [] for m in [*modes, "kiali"]}
        for mode in modes:
            ours(mode)
        kiali()
        same = len({bodies[m] for m in modes}) == 1
        log(f"the same body with every setting: {same}")
        order = [*modes, "kiali"]
        for round_no in range(args.rounds):
            turn = order[round_no % len(order):] + order[:round_no % len(order)]
            for mode in turn:
                runs[mode].append(kiali() if mode == "kiali" else ours(mode))
            log(f"round {round_no + 1}: " + ", ".join(
                f"{m} {runs[m][-1][0]:.3f} s (Prometheus CPU {runs[m][-1][1]:.2f} s, "
                f"Meshlens CPU {runs[m][-1][2]:.2f} s)" for m in order))
        kiali_wall = statistics.median(r[0] for r in runs["kiali"])
        kiali_cpu = statistics.median(r[1] for r in runs["kiali"])
        for mode in modes:
            wall = statistics.median(r[0] for r in runs[mode])
            prom_cpu = statistics.median(r[1] for r in runs[mode])
            own_cpu = statistics.median(r[2] for r in runs[mode])
            log(f"MESHLENS_REMOTE_READ={mode}: API median {wall:.3f} s, Kiali's "
                f"{kiali_wall:.3f} s, ratio {wall / kiali_wall:.2f}; Prometheus CPU "
                f"{prom_cpu:.2f} s, Meshlens CPU {own_cpu:.2f} s, Kiali's CPU {kiali_cpu:.2f} s;"
                f" (Prometheus + Meshlens CPU) / Kiali's CPU "
                f"{(prom_cpu + own_cpu) / kiali_cpu:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
