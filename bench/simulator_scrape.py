"""How fast the demo simulator answers a scrape (Prometheus scrapes it every 5 s under
`make run`, every second in the live tests): the store rendered alone, and a scrape over
HTTP, each just after a tick so that it renders afresh. These were timed assertions in
tests/test_demo_*.py (median under 0.1 s), which a busy machine broke.

    .venv/bin/python bench/simulator_scrape.py [--topology bookinfo,boutique] [--rounds 21]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from demo.faults import FaultTable  # noqa: E402
from demo.server import MeshServer  # noqa: E402
from demo.simulator import Simulator  # noqa: E402
from demo.topologies import select  # noqa: E402

TICK_S = 0.05


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    took = []
    for _ in range(rounds):
        time.sleep(TICK_S * 1.2)  # a tick in between
        started = time.perf_counter()
        action()
        took.append(time.perf_counter() - started)
    return took


def report(what: str, took: list[float]) -> None:
    ms = sorted(t * 1000 for t in took)
    print(f"{what}: median {statistics.median(ms):.1f} ms, min {ms[0]:.1f}, "
          f"max {ms[-1]:.1f} ({len(ms)} rounds)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--topology", default="bookinfo,boutique")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    mesh = select(args.topology)
    server = MeshServer(Simulator(mesh, FaultTable(mesh), seed=3), "127.0.0.1", 0)
    server.start(TICK_S)
    try:
        store = server.simulator.store
        size = len(store.render())
        print(f"{args.topology}: {size / 1000:,.0f} kB of metrics text")
        report("render", timed(store.render, args.rounds))
        url = f"{server.url}/metrics"
        report("scrape over HTTP",
               timed(lambda: requests.get(url, timeout=30).raise_for_status(), args.rounds))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
