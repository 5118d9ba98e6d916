"""Starting and stopping the server processes that tests depend on."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from tests.support.ports import free_port, wait_until

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # If pytest itself is killed, its servers must not outlive it (CI runs many
    # sessions on one machine; a stray Prometheus would hold its port and files).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    args: Sequence[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `args` with stdout and stderr appended to `log`, stopped if this process dies.

    `env` adds to (or overrides) this process's environment."""
    with log.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **env} if env else None,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate `process`, then kill it if it has not exited after `grace` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_all(processes: Sequence[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """stop() them all at once: each takes seconds to shut down, and none waits on another."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        stop(process, grace)


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class ServerError(RuntimeError):
    """A server did not start; the message carries the tail of its log."""


class LoopbackServer(ABC):
    """A server process on a free loopback port, retried on another port if the one picked
    was taken meanwhile. Subclasses say how to start it and how to tell it is ready."""

    name = "server"
    in_use = "address already in use"  # what the server logs when its port is taken
    error: type[ServerError] = ServerError
    ready_timeout = 30.0

    def __init__(self, workdir: Path, log_name: str) -> None:
        self.workdir = Path(workdir)
        self.log = self.workdir / log_name
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def command(self) -> list[str]:
        """The command line for `self.port`."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether the server answers."""

    def prepare(self) -> None:  # noqa: B027 - optional hook, most servers need nothing
        """Anything to write before the first start (config files)."""

    def start(self, timeout: float | None = None, same_port: bool = False) -> Self:
        """Start on a free port, or with `same_port` on the one of the last start (a
        restart that clients configured with the old URL must find)."""
        timeout = self.ready_timeout if timeout is None else timeout
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        for _attempt in range(1 if same_port else 3):
            if not (same_port and self.port):
                self.port = free_port()
            self._process = spawn(self.command(), self.log)
            if wait_until(self.ready, timeout, abort=self._exited):
                return self
            self.stop()
            if self.in_use.lower() not in tail(self.log, 10).lower():
                break
        raise self.error(f"{self.name} was not ready within {timeout:.0f} s "
                          f"(log {self.log}):\n{tail(self.log)}")

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
