"""Python CPU per build, by stage, on recorded Prometheus answers; this checkout's code or
another's, side by side.

    .venv/bin/python bench/build_cpu.py [--workloads 1000] [--edges 5000] [--builds 8]
        [--against DIR] [--rounds 3] [--profile] [--answers FILE]

Replays the answers bench/build_memory.py records (recorded first if missing) through the
stages of one build of every namespace of bench/graph_build.py's mesh, as the worker and the
API run them (the collector held off): the parse, rows to the merged map, the finalizers,
health, to_networkx, the appenders, the JSON written as pieces, the layout of a big graph
(positions kept from the build before, as a live scope keeps them), the API body joined,
or the live path's body and fingerprints, and freeing it all. Every build after the first
has the caches of the ones before (the live steady state); the first build's CPU is printed
apart. Per stage: the median CPU ms (`time.process_time`) of the builds after the first.

With `--against DIR` (another checkout, e.g. a worktree of main), each round runs DIR's code
and then this checkout's, each in a process of its own, `--rounds` times alternately, and
prints both side by side with the load average: on a shared machine compare the two
columns of one run, not runs of different hours. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pickle
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The stages, in order. A stage named "or ..." is the live path's alternative to the one
# before it: not added into the sum.
STAGES = (
    "parse", "rows to the merged map", "finalizers", "health", "to_networkx", "appenders",
    "write_graph", "with_positions", "body", "or encode_written", "freeing",
)


class Answered:
    """What graph.prometheus reads of a response."""

    status_code = 200

    def __init__(self, content: bytes) -> None:
        self.content = content


def run_builds(code: Path, answers: Path, builds: int, profile: bool) -> dict[str, Any]:
    """`builds` builds by the code in `code` (imported from there): CPU ms by stage."""
    sys.path.insert(0, str(code))
    from graph import build, ids
    from graph.appender_context import AppenderContext
    from graph.build import gc_paused, plan
    from graph.cytoscape_json import with_positions, write_graph
    from graph.delta import encode_written
    from graph.health import HealthConfig
    from graph.options import GraphOptions, MeshConfig
    from graph.prometheus import parse_vector
    from graph.sources.istio.namespace_maps import NamespaceTraffic

    bodies: dict[str, bytes] = pickle.loads(answers.read_bytes())
    # Answers recorded before the traffic queries stopped sending `> 0` (idle rows are now
    # dropped on reading) answer them: the same rows above 0, all the reading keeps.
    for query, body in list(bodies.items()):
        if query.endswith(" > 0"):
            bodies.setdefault(query[:-len(" > 0")], body)
    namespaces = tuple(f"ns{i}" for i in range(10))
    options = GraphOptions(namespaces=namespaces, query_time=1_700_000_000, duration=60)
    mesh = MeshConfig()
    queries = plan(options, mesh)
    batch, count = queries.batch(), len(queries.traffic)
    first = {q.answer(): q for q in reversed(batch)}
    cpu: dict[str, list[float]] = {name: [] for name in STAGES}
    totals: list[float] = []
    facts: dict[str, Any] = {}
    previous = None

    def one_build(n: int) -> None:
        nonlocal previous
        at = time.process_time()
        start = at

        def lap(name: str) -> None:
            nonlocal at
            now = time.process_time()
            cpu[name].append((now - at) * 1000)
            at = now

        with gc_paused():
            parsed = {answer: parse_vector(Answered(bodies[q.promql]), q.wire_labels(),  # type: ignore[arg-type]
                                           "recorded", q.joined)
                      for answer, q in first.items()}
            results = [q.read(parsed[q.answer()]) for q in batch]
            lap("parse")
            built = NamespaceTraffic(options)
            for query, rows in zip(queries.traffic, results[:count], strict=True):
                built.apply(query, rows)
            tm = build.merged(built)
            lap("rows to the merged map")
            if hasattr(build, "finalize"):
                build.finalize(tm, options.namespaces, mesh)
            else:  # a checkout from before build.finalize
                build.mark_outsiders(tm, options.namespaces, mesh)
                build.mark_roots(tm)
            if options.graph_type == ids.SERVICE:
                tm = build.reduce_to_service_graph(tm)
            lap("finalizers")
            build.judge_map(tm, HealthConfig.default())
            lap("health")
            graph = tm.to_networkx()
            lap("to_networkx")
            offset = count
            for appender, qs in queries.appenders:
                appender.apply(graph, results[offset:offset + len(qs)],
                               AppenderContext(options, mesh))
                offset += len(qs)
            build.stamp(graph, options)
            lap("appenders")
            written = write_graph(graph)
            lap("write_graph")
            written, previous = with_positions(written, previous)
            lap("with_positions")
            body = written.body()
            lap("body")
            encode_written(written)
            lap("or encode_written")
            if n == 0:
                facts.update(nodes=len(written.nodes), edges=len(written.edges),
                             body_bytes=len(body))
            graph.clear()
            del parsed, results, built, tm, graph, written, body
            lap("freeing")
        gc.collect()
        totals.append((time.process_time() - start) * 1000)

    for n in range(builds):
        if profile and n == builds - 1:
            profiler = cProfile.Profile()
            profiler.runcall(one_build, n)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(r"graph[/\\]", 40)
        else:
            one_build(n)
    steady = {name: statistics.median(times[1:]) for name, times in cpu.items()}
    return {"first": totals[0], "steady": steady, "all": statistics.median(
        [sum(cpu[name][n] for name in STAGES if not name.startswith("or "))
         for n in range(1, builds)]), **facts}


def answers_path(args: argparse.Namespace) -> Path:
    import tempfile

    path = args.answers or Path(tempfile.gettempdir()) / (
        f"meshlens-answers-{args.workloads}-{args.edges}-1.pickle")
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "build_memory.py"),
                        "--workloads", str(args.workloads), "--edges", str(args.edges),
                        "--builds", "1", "--answers", str(path)], check=True)
    return path


def child_run(code: Path, args: argparse.Namespace, answers: Path) -> dict[str, Any]:
    """run_builds in a process of its own (nothing of another code's imports shared)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(code), "--answers", str(answers),
         "--builds", str(args.builds)],
        check=True, capture_output=True, text=True, cwd=code)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def print_side_by_side(columns: dict[str, list[dict[str, Any]]]) -> None:
    names = list(columns)
    print(f"{'CPU ms per build (median of runs: range)':42}" + "".join(f"{n:>22}" for n in names))

    def cell(values: list[float]) -> str:
        lo, hi = min(values), max(values)
        return f"{statistics.median(values):.1f} ({lo:.0f}-{hi:.0f})"

    for stage in STAGES:
        print(f"  {stage:40}" + "".join(
            f"{cell([r['steady'][stage] for r in columns[n]]):>22}" for n in names))
    for key, label in (("all", "all stages, steady state"), ("first", "the first build")):
        print(f"  {label:40}" + "".join(
            f"{cell([r[key] for r in columns[n]]):>22}" for n in names))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=5000)
    parser.add_argument("--builds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answers", type=Path)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately")
    parser.add_argument("--profile", action="store_true", help="cProfile the last build")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.builds < 2:
        parser.error("need --builds >= 2 (the first build is not the steady state)")
    if args.child:
        print(json.dumps(run_builds(args.child, args.answers, args.builds, False)))
        return 0
    answers = answers_path(args)
    if args.profile:
        run_builds(ROOT, answers, args.builds, True)
        return 0
    codes = {"this": ROOT} if args.against is None else {"against": args.against.resolve(),
                                                         "this": ROOT}
    columns: dict[str, list[dict[str, Any]]] = {name: [] for name in codes}
    for round_no in range(args.rounds):
        for name, code in codes.items():
            columns[name].append(child_run(code, args, answers))
        print(f"round {round_no + 1}: load average {os.getloadavg()[0]:.1f}, " + ", ".join(
            f"{n} {columns[n][-1]['all']:.0f} ms" for n in codes), flush=True)
    facts = columns["this"][0]
    print(f"{args.workloads:,} workloads: {facts['nodes']:,} nodes, {facts['edges']:,} edges, "
          f"body {facts['body_bytes'] / 1e6:.1f} MB; {args.builds} builds a run, "
          f"load average now {os.getloadavg()[0]:.1f}")
    print_side_by_side(columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
