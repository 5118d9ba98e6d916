"""A whole Meshlens as users run it: daphne, and for the live path a Celery worker and beat,
each a real process on the test session's Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port, wait_until
from tests.support.process import spawn, stop_all, tail

ROOT = Path(__file__).resolve().parents[2]


CELERY = [sys.executable, "-m", "celery", "-A", "dashboard"]
WORKER = [*CELERY, "worker", "--pool=solo", "--loglevel=INFO"]


def prepared(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment of Meshlens's processes in `workdir` (its SQLite database there,
    migrated), with `env` added."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"MESHLENS_DB": str(workdir / "db.sqlite3"),
           "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env}
    # Graph builds read the health rules from the database: give it its tables.
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env=os.environ | env, check=True)
    return env


def start_worker(workdir: Path, env: dict[str, str],
                 name: str = "worker") -> subprocess.Popen[bytes]:
    """A Celery worker as `meshlens(live=True)` starts one, alone, over the database in
    `workdir` (see prepared), logging to `workdir/<name>.log`; the caller stops it."""
    return spawn(WORKER, workdir / f"{name}.log", cwd=ROOT, env=prepared(workdir, env))


def answers(url: str) -> bool:
    """Whether the web server answers /healthz (503, a check down, still means it is up)."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 503
    except OSError:
        return False


@contextmanager
def meshlens(workdir: Path, env: dict[str, str], live: bool = False,
             port: int | None = None, worker_processes: int = 0) -> Iterator[str]:
    """Start Meshlens on `port` (a free one by default) with `env` (PROMETHEUS_URL,
    REDIS_URL, ...); with `live`, also a Celery worker and beat (the worker's pool: solo,
    or prefork with `worker_processes`). Yields the base URL; stops everything after."""
    env = prepared(workdir, env)
    port = port or free_port()
    commands = {"daphne": [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                           "dashboard.asgi:application"]}
    if live:
        commands["worker"] = WORKER if not worker_processes else [
            *CELERY, "worker", "--pool=prefork", f"--concurrency={worker_processes}",
            "--loglevel=INFO"]
        commands["beat"] = [*CELERY, "beat", "--loglevel=INFO",
                            f"--schedule={workdir / 'beat-schedule'}"]
    processes = {name: spawn(args, workdir / f"{name}.log", cwd=ROOT, env=env)
                 for name, args in commands.items()}
    url = f"http://127.0.0.1:{port}"
    try:
        web = processes["daphne"]
        if not wait_until(lambda: answers(url), 30, abort=lambda: web.poll() is not None):
            raise RuntimeError(f"daphne did not start:\n{tail(workdir / 'daphne.log')}")
        yield url
    finally:
        stop_all(list(processes.values()))
