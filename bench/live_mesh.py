"""The live benchmark's synthetic mesh, backfilled into TSDB blocks that reach past "now".

The mesh is bench/graph_build.py's (workloads, request and TCP edges, both reporters, its
health mix: most edges clean, about 5 % failing, a few degraded). Unlike graph_build.py,
which queries at a fixed time, the live path always queries now: the samples run from a
little before the bench starts to well after it ends (promtool backfills future samples,
and Prometheus serves them), and each series' rate wanders by up to RATE_JITTER from one
sample to the next, so that refreshes bring changed rates, as on a real mesh.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.graph_build import make_series, make_workloads
from tests.support import prometheus as backfill

RATE_JITTER = 0.2
SERIES_PER_FILE = 40_000  # bounds the OpenMetrics files on disk (~2 GB each at most)


def log(message: str) -> None:
    print(message, flush=True)


def write_results(name: str, figures: object) -> None:
    """A bench's figures as JSON under bench/results/ (kept out of git), named by the time."""
    root = Path(__file__).resolve().parent.parent
    out = root / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(figures, indent=2))
    log(f"\nfigures written to {path.relative_to(root)}")


def make_mesh(workloads: int, seed: int) -> list[dict[str, Any]]:
    """Both reporters' series of `workloads` workloads, 5 request edges per workload (80 %
    HTTP, 20 % gRPC), a TCP edge per 2 workloads, with graph_build.py's health mix: about
    5 % of request edges failing and 2 % degraded (the edges into a few workloads of three
    namespaces), a few healthy 404s, the rest clean."""
    rng = random.Random(seed)
    return make_series(make_workloads(workloads, rng), 5 * workloads, workloads // 2, rng)


def write_file(series: Sequence[dict[str, Any]], times: Sequence[int], path: Path,
               rng: random.Random) -> None:
    """OpenMetrics text of `series` sampled at `times` (a family's series together)."""
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for item in series:
        by_metric.setdefault(item["metric"], []).append(item)
    step = times[1] - times[0]
    with path.open("w") as out:
        for metric, members in by_metric.items():
            for item in members:
                labels = ",".join(f'{k}="{backfill.escape_label_value(str(v))}"'
                                  for k, v in sorted(item["labels"].items()) if v)
                prefix = f"{metric}{{{labels}}} "
                rate, total, lines = float(item["rate"]), 0.0, []
                for t in times:
                    lines.append(f"{prefix}{round(total, 3)!r} {t}\n")
                    total += rate * step * (1 + RATE_JITTER * (2 * rng.random() - 1))
                out.writelines(lines)
        out.write("# EOF\n")


def backfill_blocks(series: Sequence[dict[str, Any]], base: Path, start: int, end: int,
                    step: int, seed: int) -> Path:
    """TSDB blocks of `series` from `start` to `end` (Unix s), in files of SERIES_PER_FILE
    series, each backfilled by promtool and removed (Prometheus merges the blocks)."""
    times = list(range(start - start % step, end + 1, step))
    tsdb = base / "tsdb"
    rng = random.Random(seed)
    log(f"backfill: {len(series):,} series x {len(times)} samples, every {step} s, "
        f"{(end - start) / 60:.0f} min ending {time.strftime('%H:%M:%S', time.localtime(end))}")
    began = time.perf_counter()
    for first in range(0, len(series), SERIES_PER_FILE):
        path = base / f"series-{first}.om.txt"
        write_file(series[first:first + SERIES_PER_FILE], times, path, rng)
        size = path.stat().st_size
        result = subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(path), str(tsdb)],
            capture_output=True, text=True, check=False)
        path.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"promtool failed on {path.name}:\n{result.stderr[-3000:]}")
        log(f"  series {first:,}-{min(first + SERIES_PER_FILE, len(series)):,}: "
            f"{size / 1e6:,.0f} MB, {time.perf_counter() - began:.0f} s so far")
    log(f"  backfill took {time.perf_counter() - began:.0f} s")
    return tsdb
