"""The test support itself: the session's redis-server answers on its URL."""

from __future__ import annotations

import redis


def test_it_serves_redis_on_loopback(redis_server: str) -> None:
    assert redis_server.startswith("redis://127.0.0.1:")
    client = redis.Redis.from_url(redis_server)
    client.set("meshlens:support", "ok")
    assert client.get("meshlens:support") == b"ok"
    client.delete("meshlens:support")
