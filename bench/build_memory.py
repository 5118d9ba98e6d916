"""What a process refreshing one big scope holds, between builds and at a build's peak.

    .venv/bin/python bench/build_memory.py [--workloads 10000] [--edges 50000]
        [--builds 4] [--answers FILE] [--trace] [--apart]

Refreshes the scope of every namespace of bench/graph_build.py's synthetic mesh as the
worker does (build, JSON pieces, positions, encode_written, gzip; the collector held off,
then the freed memory given back), `--builds` times in this process, and prints for each
build its CPU time, the RSS after it and the peak during it (VmRSS, VmHWM; the peak reset
before each build through /proc/self/clear_refs); then what is alive, by type (gc) and,
with --trace, by file and line (tracemalloc: slower, and its own bookkeeping adds to the
RSS). With --apart, each refresh runs in a child forked for it, as a worker's does
(graph/forked.py): the RSS is this process's, the peak the child's.

Prometheus's answers are recorded once (a real Prometheus backfilled as graph_build.py
does, `prometheus` and `promtool` on PATH) into `--answers` and read from there by later
runs: every build parses them again, as a live build parses what Prometheus sends (the
recorded bodies stay in the process: their size is printed). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import os
import pickle
import random
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import graph_build as bench  # noqa: E402
from graph import forked  # noqa: E402
from graph.build import build_graph, gc_paused  # noqa: E402
from graph.cytoscape_json import with_positions, write_graph  # noqa: E402
from graph.delta import encode_written  # noqa: E402
from graph.layout import Positions  # noqa: E402
from graph.options import GraphOptions, MeshConfig  # noqa: E402
from graph.prometheus import Prometheus, PrometheusSettings  # noqa: E402
from tests.support import prometheus as backfill  # noqa: E402

Answers = dict[str, bytes]  # PromQL -> the body Prometheus answered


class Answered:
    """What graph.prometheus reads of a response."""

    status_code = 200

    def __init__(self, content: bytes) -> None:
        self.content = content


class Recording(Prometheus):
    """Sends the queries to a real Prometheus and keeps each answer's body."""

    def __init__(self, settings: PrometheusSettings) -> None:
        super().__init__(settings)
        self.bodies: Answers = {}

    def post(self, path: str, data: dict[str, str]) -> Any:
        response = super().post(path, data)
        self.bodies[data["query"]] = response.content
        return response


class Replaying(Prometheus):
    """Answers every query with the recorded body, without HTTP (parsed as usual)."""

    def __init__(self, bodies: Answers) -> None:
        super().__init__(PrometheusSettings(url="http://recorded.invalid"))
        self.bodies = bodies

    def post(self, path: str, data: dict[str, str]) -> Any:
        return Answered(self.bodies[data["query"]])


def options() -> GraphOptions:
    namespaces = tuple(f"ns{i}" for i in range(bench.NAMESPACES))
    return GraphOptions(namespaces=namespaces, query_time=bench.QUERY_TIME,
                        duration=bench.DURATION_S)


def record(args: argparse.Namespace, path: Path) -> None:
    rng = random.Random(args.seed)
    workloads = bench.make_workloads(args.workloads, rng)
    series = bench.make_series(workloads, args.edges, args.edges // 10, rng)
    bench.log(f"generated {len(series):,} series; recording the answers into {path}")
    with tempfile.TemporaryDirectory(prefix="meshlens-memory-") as tmp:
        server = backfill.PrometheusServer(bench.backfill_blocks(series, Path(tmp), 300),
                                           Path(tmp) / "server")
        del series
        try:
            server.start()
            recording = Recording(PrometheusSettings(url=server.url, timeout=300))
            build_graph(recording, options(), MeshConfig())
        finally:
            server.stop()
    path.write_bytes(pickle.dumps(recording.bodies))


def status() -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def refresh_apart(prom: Prometheus, previous: Positions | None,
                  ) -> tuple[Positions, int, float]:
    """refresh() in a child forked for it: also the child's peak RSS."""

    def work() -> tuple[Positions, int, float]:
        gc.disable()  # as dashboard/tasks.py runs it
        positions, size = refresh(prom, previous)
        return positions, size, status()["VmHWM"]

    return forked.run_forked(work)


def refresh(prom: Prometheus, previous: Positions | None) -> tuple[Positions, int]:
    """One refresh as dashboard/publish.py makes it (no Redis): the graph written as JSON
    pieces and laid out (dashboard/graphs.py laid_out), its body and fingerprints; its
    positions and the size of its gzip-compressed JSON."""
    with gc_paused():
        g = build_graph(prom, options(), MeshConfig())
        written, positions = with_positions(write_graph(g), previous)
        g.clear()
        del g
        encoded = encode_written(written)
        compressed = gzip.compress(encoded.body, compresslevel=1, mtime=0)
        return positions, len(compressed)


def alive_by_type(top: int) -> None:
    gc.collect()
    objects = gc.get_objects()
    counts = Counter(type(o).__name__ for o in objects)
    bench.log(f"objects the collector tracks: {len(objects):,}; the most common: "
              + ", ".join(f"{name} {n:,}" for name, n in counts.most_common(top)))


def traced_top(snapshot: tracemalloc.Snapshot, top: int) -> None:
    stats = snapshot.statistics("lineno")
    total = sum(s.size for s in stats)
    bench.log(f"alive, traced: {total / 1e6:.0f} MB; the largest by line:")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        name = str(Path(frame.filename).resolve()).replace(str(ROOT) + "/", "")
        bench.log(f"  {stat.size / 1e6:7.1f} MB {stat.count:9,}  {name}:{frame.lineno}")


def measure(args: argparse.Namespace, bodies: Answers) -> None:
    prom = Replaying(bodies)
    bench.log(f"recorded answers: {len(bodies)} bodies, "
              f"{sum(map(len, bodies.values())) / 1e6:.0f} MB")
    if args.trace:
        tracemalloc.start()
    at_start = status()
    bench.log(f"RSS before the first build: {at_start['VmRSS']:.0f} MB")
    bench.log(f"{'build':>5} {'CPU s':>7} {'RSS after MB':>13} {'peak MB':>8} {'gzip MB':>8}")
    previous = None
    reset_peak()
    parent_peak = 0.0
    for n in range(1, args.builds + 1):
        parent_peak = max(parent_peak, status()["VmHWM"])
        reset_peak()
        cpu = time.process_time()
        if args.apart:
            cpu_children = os.times().children_user + os.times().children_system
            previous, size, peak = refresh_apart(prom, previous)
            cpu = (time.process_time() - cpu + os.times().children_user
                   + os.times().children_system - cpu_children)
        else:
            previous, size = refresh(prom, previous)
            cpu = time.process_time() - cpu
        now = status()
        parent_peak = max(parent_peak, now["VmHWM"])
        if args.apart:
            now["VmHWM"] = peak
        bench.log(f"{n:5} {cpu:7.2f} {now['VmRSS']:13.0f} {now['VmHWM']:8.0f} "
                  f"{size / 1e6:8.1f}")
    del previous
    if args.apart:
        bench.log(f"this process's peak over the builds (caches coming back included): "
                  f"{parent_peak:.0f} MB")
    alive_by_type(args.top)
    if args.trace:
        traced_top(tracemalloc.take_snapshot(), args.top)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=10000)
    parser.add_argument("--edges", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--builds", type=int, default=4)
    parser.add_argument("--answers", type=Path, default=None,
                        help="the recorded answers: read if there, else recorded into it "
                             "(default: a file in the temporary directory, per size)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: what is alive")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--apart", action="store_true",
                        help="each refresh in a forked child, as a worker's")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    path = args.answers or Path(tempfile.gettempdir()) / (
        f"meshlens-answers-{args.workloads}-{args.edges}-{args.seed}.pickle")
    if not path.exists():
        record(args, path)
        # Measured in a fresh process: the recording's build has filled this one's caches.
        os.execv(sys.executable, [sys.executable, *sys.argv, "--answers", str(path)])
    measure(args, cast(Answers, pickle.loads(path.read_bytes())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
