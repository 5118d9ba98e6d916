"""Metrics never keep what they measured alive: when Redis is down, the failed write's
traceback must not hold the build's frames (with its graph and JSON) in a reference cycle
that only a full collection frees. Redis is really down here: a closed port."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from dashboard import metrics
from tests.support.ports import free_port


class Payload:
    """Stands for a build's graph and JSON, held by the frame that records the build."""


def record_a_build() -> weakref.ref[Payload]:
    payload = Payload()
    metrics.record_build(None, 0.1, 0.2)
    return weakref.ref(payload)


def test_it_frees_the_build_at_once_when_redis_is_down(settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    gc.disable()
    try:
        payload = record_a_build()
        assert payload() is None
    finally:
        gc.enable()
