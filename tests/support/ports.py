"""Free loopback ports and waiting for a server to answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Another process may still take it before the caller binds it; servers started on it
    should be ready to retry on "address already in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    *,
    interval: float = 0.05,
    abort: Callable[[], bool] = lambda: False,
) -> bool:
    """Poll `ready()` until it is true (True), `abort()` is true or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if abort():
            return False
        time.sleep(interval)
    return ready()
