"""A throwaway redis-server on a free loopback port, one per test session."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.support.ports import LOOPBACK, free_port, wait_until
from tests.support.process import spawn, stop, tail

READY_TIMEOUT_SECONDS = 10.0


class RedisError(RuntimeError):
    """redis-server did not start; the message carries the tail of its log."""


class RedisServer:
    """`redis-server --port <free> --save '' --appendonly no --bind 127.0.0.1` in `workdir`.

    ::

        with RedisServer(tmp_path) as redis:
            redis.url  # redis://127.0.0.1:<port>/0
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.log = self.workdir / "redis.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            self.port = free_port()
            # --dir: nothing is saved, but keep anything Redis writes out of the repo.
            self._process = spawn(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--bind",
                    LOOPBACK,
                    "--dir",
                    str(self.workdir),
                ],
                self.log,
            )
            if wait_until(self.ping, timeout, abort=self._exited):
                return self
            self.stop()
            if "Address already in use" not in tail(self.log, 10):
                break
        raise RedisError(
            f"redis-server did not answer PING within {timeout:.0f} s "
            f"(log {self.log}):\n{tail(self.log)}"
        )

    def ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
