"""What bench/graph_build.py times, and how: the queries sent raw, Meshlens's answer, the
Python part on rows fetched beforehand, each stage of one build, and the CPU each run
takes in this process and in Prometheus.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import requests
from requests.adapters import HTTPAdapter

from bench.synthetic_mesh import QUERY_TIME, log
from graph import build, ids
from graph.appender_context import AppenderContext
from graph.build import build_graph, gc_paused, plan
from graph.cytoscape_json import write_graph
from graph.delta import encode_written
from graph.health import HealthConfig
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import MAX_PARALLEL, Prometheus, Query, Row, parse_vector
from graph.sources.istio.namespace_maps import NamespaceTraffic


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
