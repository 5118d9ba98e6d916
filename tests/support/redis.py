"""A throwaway redis-server on a free loopback port, one per test session."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.ports import LOOPBACK
from tests.support.process import LoopbackServer, ServerError

READY_TIMEOUT_SECONDS = 10.0


class RedisError(ServerError):
    """redis-server did not start; the message carries the tail of its log."""


class RedisServer(LoopbackServer):
    """`redis-server --port <free> --save '' --appendonly no --bind 127.0.0.1` in `workdir`.

    ::

        with RedisServer(tmp_path) as redis:
            redis.url  # redis://127.0.0.1:<port>/0
    """

    name = "redis-server"
    error = RedisError
    ready_timeout = READY_TIMEOUT_SECONDS

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "redis.log")

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def command(self) -> list[str]:
        # --dir: nothing is saved, but keep anything Redis writes out of the repo.
        return ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--bind", LOOPBACK, "--dir", str(self.workdir)]

    def ready(self) -> bool:
        return self.ping()

    def ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False
