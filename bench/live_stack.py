"""The whole stack of live_scale.py: daphne, a Celery worker and beat started as
`make run` starts them, and what they cost (CPU, RSS, their own /metrics, Prometheus's
scrapes of the mesh). Split out of live_scale.py, which runs the benchmark with them.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import requests

from bench.graph_build import process_cpu_s
from bench.live_memory import children, rss_mb
from tests.support.meshlens import answers
from tests.support.ports import free_port, wait_until
from tests.support.process import spawn, stop, tail

ROOT = Path(__file__).resolve().parent.parent


def median_of(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")



class Stack:
    """daphne, a Celery worker and beat, as scripts/run.sh starts them (from the checkout
    `root`: another version to compare)."""

    def __init__(self, base: Path, env: dict[str, str], root: Path = ROOT) -> None:
        self.base, self.env, self.root = base, env, root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        env = os.environ | self.env
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                       cwd=self.root, env=env, check=True)
        celery = [sys.executable, "-m", "celery", "-A", "dashboard"]
        commands = {
            "web": [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                    "dashboard.asgi:application"],
            "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2",
                       "--pool=prefork"],
            "beat": [*celery, "beat", "--loglevel=INFO",
                     f"--schedule={self.base / 'beat-schedule'}"],
        }
        for name, args in commands.items():
            self.processes[name] = spawn(args, self.base / f"{name}.log", cwd=self.root,
                                         env=self.env)
        web = self.processes["web"]
        if not wait_until(lambda: answers(self.url), 60, abort=lambda: web.poll() is not None):
            raise RuntimeError(f"daphne did not start:\n{tail(self.base / 'web.log')}")

    def stop(self) -> None:
        for process in self.processes.values():
            stop(process)


def cpu_with_children_s(pid: int) -> float:
    """CPU seconds of a process and of its children it has reaped (the builds a worker
    forks for each answer: graph/forked.py)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def meshlens_cpu_s(stack: Stack) -> float:
    """CPU seconds so far of a stack's daphne and its Celery worker (main and pool
    processes, with the builds they forked): where an API answer is built."""
    pids = [p.pid for name, p in stack.processes.items() if name in ("web", "worker")]
    if "worker" in stack.processes:
        pids += children(stack.processes["worker"].pid)
    total = 0.0
    for pid in pids:
        try:
            total += cpu_with_children_s(pid)
        except FileNotFoundError:  # a pool process replaced meanwhile
            pass
    return total


def rss_report(stack: Stack, prometheus_pid: int, redis_pid: int,
               field: str = "VmRSS") -> dict[str, float]:
    worker = stack.processes["worker"].pid
    out = {"web (daphne)": rss_mb(stack.processes["web"].pid, field),
           "worker (main)": rss_mb(worker, field)}
    for i, child in enumerate(children(worker), 1):
        out[f"worker (pool process {i})"] = rss_mb(child, field)
    out.update({"beat": rss_mb(stack.processes["beat"].pid, field),
                "Prometheus": rss_mb(prometheus_pid, field), "Redis": rss_mb(redis_pid, field)})
    return out


def scrape_builds(url: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{url}/metrics", timeout=30).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in ("meshlens_build_seconds_sum", "meshlens_build_seconds_count"):
                out[f"{s.name.rsplit('_', 1)[1]} {s.labels['stage']}"] = s.value
            elif s.name in ("meshlens_refreshes_skipped_total", "meshlens_build_failures_total"):
                out[s.name] = s.value
            elif s.name in ("meshlens_sent_bytes_total", "meshlens_messages_sent_total"):
                out[f"{s.name} {s.labels['type']}"] = s.value
    return out


def scrape_cost(prometheus_url: str, pid: int, cpu_before: float, seconds: float,
                ) -> dict[str, float]:
    """What taking the mesh in costs Prometheus: its scrapes' median duration (its own
    scrape_duration_seconds, over the run) and its CPU share since the data were ready,
    queries included (the run's and Kiali's set)."""
    answer = requests.get(f"{prometheus_url}/api/v1/query", timeout=30, params={
        "query": f"quantile_over_time(0.5, scrape_duration_seconds[{round(seconds)}s])"}).json()
    durations = [float(r["value"][1]) for r in answer["data"]["result"]]
    return {"median_scrape_s": round(median_of(durations), 2),
            "prometheus_cpu_share": round((process_cpu_s(pid) - cpu_before) / seconds, 2)}
