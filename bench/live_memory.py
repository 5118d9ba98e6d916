"""What the live stack's processes hold, read from /proc while the benchmark runs.

The target's measure is the worker's memory between builds: each build runs in a child
that a pool process forks for it (graph/forked.py), so a pool process with no child alive
is between builds, and its RSS then is what it keeps (its caches); the children's RSS is a
build's peak, gone with it.
"""

from __future__ import annotations

import statistics
import threading
from pathlib import Path


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS) or at its highest (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


class RssSampler(threading.Thread):
    """Every `interval` seconds until stopped: the RSS of daphne, of the worker's main
    process, of each pool process (between builds or during one) and of the build children."""

    def __init__(self, web: int, worker: int, interval: float = 1.0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.web, self.worker, self.interval = web, worker, interval
        self.done = threading.Event()
        self.samples: dict[str, list[float]] = {
            "web (daphne)": [], "worker (main)": [], "build children": []}
        self.pools: dict[int, int] = {}  # pool process id: its number, in order seen

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                self.sample()
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass  # a process gone between two reads (a build child, most often)

    def sample(self) -> None:
        self.samples["web (daphne)"].append(rss_mb(self.web))
        self.samples["worker (main)"].append(rss_mb(self.worker))
        for pool in children(self.worker):
            builds = children(pool)
            # Each pool process apart: one that never built holds far less than one that did.
            number = self.pools.setdefault(pool, len(self.pools) + 1)
            when = "during a build" if builds else "between builds"
            self.samples.setdefault(f"pool process {number}, {when}", []).append(rss_mb(pool))
            self.samples["build children"] += [rss_mb(b) for b in builds]

    def stop(self) -> dict[str, dict[str, float]]:
        """Stop sampling; per kind of process: samples taken, median and highest MB."""
        self.done.set()
        self.join()
        return {name: {"samples": len(v), "median": round(statistics.median(v)),
                       "max": round(max(v))}
                for name, v in self.samples.items() if v}
