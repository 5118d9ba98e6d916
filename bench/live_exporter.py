"""The live benchmark's synthetic mesh as a scrape target: Prometheus ingests it live.

    .venv/bin/python -m bench.live_exporter --workloads 10000 --seed 1 --port 9100 [--shards 10]

Serves bench/live_mesh.py's series in Prometheus's text format, split into `--shards`
targets (`/metrics?shard=0` ...), as the many sidecars of a real mesh would be scraped
rather than one 156 MB body at 10,000 workloads: one counter per series, grown at each
scrape by its rate times the seconds since the last scrape, with up to RATE_JITTER of
wander, so that every refresh brings changed rates. Prometheus stamps the samples itself,
at the scrape interval the benchmark configures: the data a run reads are exactly the
samples Prometheus takes during it (no backfill of a window the run never reads, nothing
written in the future).

Why not a backfill: at 10,000 workloads the mesh is 270,000 series of 17 labels. The
backfill wrote about 124 samples a series (5 minutes of history plus the run and the
backfill's own duration in the future, every 30 s), 33 million OpenMetrics lines, about
20 GB of text for promtool: over half an hour on the shared machine (bench/README.md).
Scraped, a sample costs Prometheus the same parse as promtool's, but only the ones the run
reads are made, spread over the run as in production.
"""

from __future__ import annotations

import argparse
import random
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live_mesh import RATE_JITTER, make_mesh  # noqa: E402
from tests.support.ports import free_port, wait_until  # noqa: E402
from tests.support.process import spawn, stop, tail  # noqa: E402
from tests.support.prometheus import escape_label_value  # noqa: E402

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MeshCounters:
    """The counters of `series`, grown at each `exposition()` by the time since the last."""

    def __init__(self, series: Sequence[dict[str, Any]], seed: int) -> None:
        # One family after another: the text format wants a metric's lines together.
        ordered = sorted(series, key=lambda s: s["metric"])
        self.prefixes = [prefix(s["metric"], s["labels"]) for s in ordered]
        self.rates = np.array([float(s["rate"]) for s in ordered])
        self.values = np.zeros(len(ordered))
        self.rng = np.random.default_rng(seed)
        self.last: float | None = None
        self.scrapes = 0

    def exposition(self) -> bytes:
        now = time.time()
        if self.last is not None:
            wander = 1 + RATE_JITTER * (2 * self.rng.random(len(self.rates)) - 1)
            self.values += self.rates * (now - self.last) * wander
        self.last = now
        self.scrapes += 1
        # Three decimals, as the backfill wrote them: the text stays a third shorter.
        values = np.round(self.values, 3).tolist()
        return "".join([f"{p}{v!r}\n" for p, v in zip(self.prefixes, values, strict=True)]
                       ).encode()


def prefix(metric: str, labels: dict[str, Any]) -> str:
    text = ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in sorted(labels.items())
                    if v)  # an empty value is no label at all for Prometheus
    return f"{metric}{{{text}}} "


def serve(shards: Sequence[MeshCounters], port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path, _, query = self.path.partition("?")
            shard = query.removeprefix("shard=")
            if path != "/metrics" or not shard.isdigit() or int(shard) >= len(shards):
                self.send_error(404, f"/metrics?shard=N with N under {len(shards)}")
                return
            began = time.perf_counter()
            counters = shards[int(shard)]
            body = counters.exposition()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(f"shard {shard} scrape {counters.scrapes}: {len(body) / 1e6:.0f} MB in "
                  f"{time.perf_counter() - began:.2f} s", flush=True)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line a scrape is printed above

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


class MeshTarget:
    """This module run as a process on a free port, and the Prometheus configuration that
    scrapes its shards every `step` seconds."""

    def __init__(self, workloads: int, seed: int, step: int, log: Path, shards: int = 10,
                 ) -> None:
        self.workloads, self.seed, self.step, self.log, self.shards = (
            workloads, seed, step, log, shards)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        root = Path(__file__).resolve().parent.parent
        self.process = spawn([sys.executable, "-m", "bench.live_exporter",
                              f"--workloads={self.workloads}", f"--seed={self.seed}",
                              f"--port={self.port}", f"--shards={self.shards}"],
                             self.log, cwd=root)
        process = self.process

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        if not wait_until(listening, 120, interval=0.2, abort=lambda: process.poll() is not None):
            raise RuntimeError(f"the mesh exporter did not start:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def prometheus_config(self) -> str:
        # Prometheus adds job and instance to each series; the backfilled data had neither
        # and the answers stay the same shape without them.
        jobs = "".join(
            f"  - job_name: mesh-{i}\n"
            f"    params: {{shard: ['{i}']}}\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{self.port}']}}]\n"
            "    metric_relabel_configs: [{action: labeldrop, regex: 'job|instance'}]\n"
            for i in range(self.shards))
        return (f"global: {{scrape_interval: {self.step}s, scrape_timeout: {self.step}s}}\n"
                f"scrape_configs:\n{jobs}")


def wait_for_window(prometheus_url: str, shards: int, window_s: int, step: int,
                    timeout: float) -> bool:
    """Wait until every shard has been scraped over a whole rate window: `window_s / step + 1`
    good scrapes in the last `window_s + step` seconds, so the first graph's rates read
    as many samples as every later one's."""
    wanted = window_s // step + 1

    def full() -> bool:
        answer = requests.get(f"{prometheus_url}/api/v1/query", timeout=30, params={
            "query": f"sum_over_time(up[{window_s + step}s])"}).json()
        scraped = [float(r["value"][1]) for r in answer["data"]["result"]]
        return len(scraped) == shards and min(scraped) >= wanted

    return wait_until(full, timeout, interval=2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shards", type=int, default=10)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    series = make_mesh(args.workloads, args.seed)
    rng = random.Random(args.seed)
    shards = [MeshCounters(series[i::args.shards], rng.randrange(2**32))
              for i in range(args.shards)]
    print(f"{len(series):,} series in {args.shards} shards ready in "
          f"{time.perf_counter() - began:.1f} s", flush=True)
    del series
    serve(shards, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
