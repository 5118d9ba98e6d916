"""Hostile input to the WebSocket /ws/graph: in every parameter the API's description lists
for it (x-websockets), and as messages from the client. A bad parameter is turned away
with a graph.error naming it and close code 4400; a message of any kind (JSON garbage,
unknown types, binary, huge) is ignored, and the socket and its scope stay alive for every
viewer; a frame over daphne's limit closes that viewer's socket only.

    ingress -> productpage -> reviews-v2 -> ratings      (mesh_id=SCOPE)
"""

from __future__ import annotations

import logging
import os
import struct
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import orjson
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from dashboard import live, publish
from dashboard.asgi import application
from graph.options import graph_options_from_query
from tests import openapi_spec
from tests.logged_prometheus import (
    HOSTILE,
    LITERAL,
    SCOPE,
    LoggedPrometheus,
    api_params,
    literals,
)
from tests.support.meshlens import meshlens
from tests.support.websocket import Listener, WebSocket, WebSocketClosed

pytestmark = pytest.mark.django_db(transaction=True)


# The description's parameters of the WebSocket, each at a legal value.
WS_PARAMS = {p.name: api_params(0).get(p.name) or str(p.example)
             for p in openapi_spec.websocket_params()}
HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


async def ws_first(query: bytes) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """Connect to /ws/graph with this raw query string; the first message that is not
    progress (a cold scope's viewer hears progress until its graph is built)."""
    communicator = WebsocketCommunicator(application, "/ws/graph", headers=HEADERS)
    communicator.scope["query_string"] = query  # raw bytes, as a client may send them
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    while True:
        message = await communicator.receive_json_from(timeout=30)
        if message["type"] != "graph.progress":
            return communicator, message


async def ws_problems(query: bytes, param: str) -> list[str]:
    communicator, message = await ws_first(query)
    if message["type"] != "graph.error":
        await communicator.disconnect()
        return []  # a legal value: the viewer gets the graph
    closed = await communicator.receive_output(timeout=5)
    # Closed by the server, nothing to leave: stopped at once (a disconnect waits for the
    # channel layer's receive loop to notice, up to a second each time).
    communicator.stop()
    if (message["stale"] is False and message["message"].startswith(param[:80])
            and closed == {"type": "websocket.close", "code": 4400}):
        return []
    return [f"{query[:80]!r}: {message} {closed}"]


def test_it_describes_the_websockets_parameters_as_the_consumer_reads_them() -> None:
    """Every parameter of the description is one the live scope is made of, and back."""
    assert set(WS_PARAMS) == {p.name for p in openapi_spec.websocket_params()}
    key = graph_options_from_query(WS_PARAMS).scope_key()
    assert {part.split("=")[0] for part in key.split("&")} <= set(WS_PARAMS)


async def test_it_turns_hostile_websocket_parameters_away_with_a_message(
        hostile_prom: LoggedPrometheus) -> None:
    problems: list[str] = []
    for slot in [*WS_PARAMS, "query_time", "<name>"]:
        for value in HOSTILE:
            params = dict(WS_PARAMS)
            name = value or "-"
            if slot == "<name>":
                params[name] = "1"
            else:
                params[slot] = value
            problems += await ws_problems(urlencode(params).encode(),
                                          name if slot == "<name>" else slot)
    problems += await ws_problems(b"namespaces=book\xffinfo", "namespaces")
    problems += await ws_problems(b"namespaces=bookinfo&graph_type=\xc3", "graph_type")
    assert not problems, "\n".join(p[:300] for p in problems[:20])


async def test_it_scopes_the_live_graphs_queries(hostile_prom: LoggedPrometheus,
                                                 settings: Any) -> None:
    settings.MESHLENS_QUERY_SCOPE = [("mesh_id", SCOPE)]
    live.client().flushdb()
    hostile_prom.mark()
    communicator, message = await ws_first(b"namespaces=bookinfo&duration=60s")
    await communicator.disconnect()
    assert message["type"] == "graph.snapshot"
    queries = hostile_prom.queries()
    assert queries
    for query in queries:
        masked = LITERAL.sub("S", query)
        assert masked.count("{") == masked.count("{mesh_id=S,") == literals(query).count(SCOPE)


# --- messages from the client ----------------------------------------------------------------

TEXT_MESSAGES = [*HOSTILE, "ping", "{", "[]", "null", "0", '{"type": null}', '{"type": 1}',
                 '{"type": "graph.snapshot", "graph": {}}', '{"type": "websocket.disconnect"}',
                 '{"type": "graph.message", "text": "x"}', '{"type": "unknown"}',
                 orjson.dumps({"type": "x" * 10_000}).decode(), "x" * (2 << 20)]
BYTES_MESSAGES = [b"", b"\x00", b"\xff\xfe\xfd", orjson.dumps({"type": "graph.delta"}),
                  bytes(2 << 20)]


def group_message(text: str) -> dict[str, Any]:
    """What a refresh sends the scope's group (dashboard/publish.py's send)."""
    return {"type": "graph.message", "kind": publish.ERROR, "text": text}


async def test_it_ignores_hostile_messages_and_keeps_the_scope_for_every_viewer(
        hostile_prom: LoggedPrometheus, caplog: pytest.LogCaptureFixture) -> None:
    """Viewer A sends every hostile message; A and B, on the same scope, both still get the
    scope's next message; A's consumer ends cleanly when it leaves, having answered none of
    them; B gets the one after that."""
    scope = graph_options_from_query(WS_PARAMS).scope_key()
    live.save(scope, orjson.dumps({"timestamp": 1, "duration": 60, "graphType": "workload",
                                   "elements": {"nodes": [], "edges": []}}), {})
    query = urlencode(WS_PARAMS).encode()
    caplog.set_level(logging.WARNING)
    a, first_a = await ws_first(query)
    b, first_b = await ws_first(query)
    assert first_a["type"] == first_b["type"] == "graph.snapshot"
    # As daphne hands them over (send_to refuses an empty message).
    for text in TEXT_MESSAGES:
        await a.send_input({"type": "websocket.receive", "text": text})
    for data in BYTES_MESSAGES:
        await a.send_input({"type": "websocket.receive", "bytes": data})
    channel_layer = get_channel_layer()
    assert channel_layer is not None
    await channel_layer.group_send(live.group_name(scope), group_message('{"type":"one"}'))
    assert await b.receive_from(timeout=10) == '{"type":"one"}'
    assert await a.receive_from(timeout=10) == '{"type":"one"}'
    await a.send_input({"type": "websocket.disconnect", "code": 1000})
    await a.wait(timeout=30)  # raises what the consumer raised, had it failed
    # (wait() gives up silently: a consumer that had not ended is cancelled.)
    assert a.future.done() and not a.future.cancelled(), "the consumer did not end"
    left = []
    while not a.output_queue.empty():
        left.append(a.output_queue.get_nowait())
    assert left == [], "answered a client's message"
    await channel_layer.group_send(live.group_name(scope), group_message('{"type":"two"}'))
    assert await b.receive_from(timeout=10) == '{"type":"two"}'
    assert scope in live.live_scopes()
    await b.disconnect()
    assert [r.getMessage()[:200] for r in caplog.records if r.levelno >= logging.ERROR] == []


def send_frame(ws: WebSocket, payload: bytes, opcode: int) -> None:
    """One masked frame of any size (RFC 6455), as a client sends it."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", size)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", size)
    keys = np.resize(np.frombuffer(mask, dtype=np.uint8), size)
    masked = (np.frombuffer(payload, dtype=np.uint8) ^ keys).tobytes()
    ws.sock.sendall(head + mask + masked)


def first_graph(ws: WebSocket) -> dict[str, Any]:
    while True:
        message = orjson.loads(ws.receive())
        if message["type"] != "graph.progress":
            return dict(message)


def next_text(inbox: Listener, expected: str, within_s: float = 120) -> str | None:
    """`expected` once it comes, skipping the scope's own updates and progress meanwhile
    (the stack's worker refreshes the scope); None if it has not come within `within_s`."""
    deadline = time.monotonic() + within_s
    while (left := deadline - time.monotonic()) > 0:
        text = inbox.receive(left)
        if text is None or text == expected:
            return text
    return None


def test_it_closes_only_the_socket_that_sends_a_frame_too_big(
        hostile_prom: LoggedPrometheus, meshlens_redis: str, tmp_path: Path, settings: Any) -> None:
    """On a real daphne: A's garbage is ignored; A's 2 MiB frame closes A's socket (daphne
    refuses messages over 1 MiB), not B's, and nothing is logged as an error."""
    env = {"PROMETHEUS_URL": hostile_prom.server.url, "REDIS_URL": meshlens_redis}
    path = "/ws/graph?" + urlencode(WS_PARAMS)
    scope = graph_options_from_query(WS_PARAMS).scope_key()
    layer = get_channel_layer()
    with meshlens(tmp_path / "meshlens", env) as url:
        port = int(url.rsplit(":", 1)[1])
        with WebSocket(port, path) as a, WebSocket(port, path) as b:
            assert first_graph(a)["type"] == first_graph(b)["type"] == "graph.snapshot"
            # B is read in a thread of its own, as a browser reads: its pings are answered
            # while the test is busy with A (daphne drops a client that leaves a ping
            # unanswered for 30 s).
            b_inbox = Listener(b)
            send_frame(a, b"\xff\x00garbage", 0x2)
            send_frame(a, b'{"type": "graph.snapshot"', 0x1)
            async_to_sync(layer.group_send)(live.group_name(scope),
                                            group_message('{"type":"one"}'))
            assert a.receive() == '{"type":"one"}'
            assert next_text(b_inbox, '{"type":"one"}') == '{"type":"one"}'
            try:
                send_frame(a, bytes(2 << 20), 0x2)
            except OSError:
                pass  # closed while it was sent
            with pytest.raises((WebSocketClosed, OSError)):
                a.receive()
            # Sent again until it comes: a group message not read within the layer's
            # expiry (60 s, a starved daphne) is dropped, which says nothing of B's socket.
            for _ in range(5):
                async_to_sync(layer.group_send)(live.group_name(scope),
                                                group_message('{"type":"two"}'))
                if next_text(b_inbox, '{"type":"two"}', within_s=30) is not None:
                    break
            else:
                pytest.fail("B heard no group message after A's socket was closed")
        log = (tmp_path / "meshlens" / "daphne.log").read_text()
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
