"""The synthetic Istio mesh the benchmarks measure, and its TSDB blocks for a real Prometheus.

Workloads round-robin over NAMESPACES namespaces, request edges (both reporters, 20 % gRPC)
and TCP edges between random pairs, with a health mix like a real mesh's: most edges clean,
about 5 % failing and 2 % degraded, gathered in a few namespaces. graph_build.py,
query_plan.py, build_memory.py, page_render.py and live_mesh.py (the live benchmarks) build it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests import mesh
from tests.support import prometheus as backfill

QUERY_TIME = 1_700_000_000
DURATION_S = 60
NAMESPACES = 10
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
