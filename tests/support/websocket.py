"""A minimal WebSocket client over a plain socket, for tests against a real daphne (the
project has no WebSocket client library, and a browser is more than these tests need).

    with WebSocket(port, "/ws/graph?namespaces=bookinfo") as ws:
        message = ws.receive()  # the next text message

    with Listener(WebSocket(port, "/ws/graph?namespaces=bookinfo")) as viewer:
        message = viewer.receive(within_s=1.0)  # read meanwhile, pings answered; or None

And, without a server, a socket to the ASGI application (channels' communicator), opened
as the page opens it:

    communicator = await opened("/ws/graph?namespaces=bookinfo")
"""

from __future__ import annotations

import base64
import os
import queue
import socket
import struct
import threading

from channels.testing import WebsocketCommunicator

from tests.support.ports import LOOPBACK

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
# What a browser sends with the page's own socket: the origin is the host's.
SAME_ORIGIN = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


async def opened(path: str, *headers: tuple[bytes, bytes],
                 within_s: float = 5) -> WebsocketCommunicator:
    """A socket to the ASGI application at `path`, from the page's origin with any more
    `headers` (a session cookie, a token), accepted within `within_s` seconds."""
    from dashboard.asgi import application  # once the test's settings are in place

    communicator = WebsocketCommunicator(application, path, headers=[*SAME_ORIGIN, *headers])
    connected, _ = await communicator.connect(timeout=within_s)
    assert connected, f"{path}: not accepted"
    return communicator


class WebSocketClosed(Exception):
    """The server closed the connection."""


class WebSocket:
    def __init__(self, port: int, path: str, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.sending = threading.Lock()  # a Listener's thread answers pings
        key = base64.b64encode(os.urandom(16)).decode()
        origin = f"http://{LOOPBACK}:{port}"
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise WebSocketClosed("closed during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise WebSocketClosed(f"handshake refused: {status.decode()}")

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise WebSocketClosed("connection closed")
            data += chunk
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        # Client frames are masked (RFC 6455); payloads here are small control frames.
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.sending:
            self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def receive(self) -> str:
        """The next text message (fragments joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(size)
            opcode = first & 0x0F
            if opcode == PING:
                self._send_frame(PONG, payload)
                continue
            if opcode == CLOSE:
                raise WebSocketClosed(f"closed by the server: {payload[:2].hex()}")
            parts.append(payload)
            if first & 0x80:
                return b"".join(parts).decode()

    def close(self) -> None:
        try:
            self._send_frame(CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        # Shut down first: close() alone does not wake a thread blocked in recv() (a
        # Listener's) on Linux.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Listener:
    """A WebSocket read in a thread of its own, as a browser reads one: its messages wait in
    a queue, and daphne's pings are answered however long the test is busy elsewhere
    (daphne drops a client that has not answered a ping within 30 s, which a test that
    reads only now and then does on a busy machine)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        # Blocking reads: a timeout in the middle of a frame would lose its start.
        ws.sock.settimeout(None)
        self.inbox: queue.Queue[str | Exception] = queue.Queue()
        threading.Thread(target=self._read, name="websocket-listener", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.inbox.put(self.ws.receive())
            except (WebSocketClosed, OSError) as exc:
                self.inbox.put(exc)
                return

    def receive(self, within_s: float) -> str | None:
        """The next text message, or None if none has come within `within_s`; raises
        WebSocketClosed (or the socket's error) once the connection has ended."""
        try:
            item = self.inbox.get(timeout=within_s)
        except queue.Empty:
            return None
        if isinstance(item, Exception):
            self.inbox.put(item)  # and for every later call
            raise item
        return item

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
