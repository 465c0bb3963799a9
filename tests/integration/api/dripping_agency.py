"""A REST agency on loopback that drips its first answer to each message, then resets.

Raw sockets, because no HTTP server framework misbehaves this way: for the first request
with a given `webhook-id` it sends the status line and headers at once, then the body one
byte at a time, paced to last `drip_seconds` (never silent for long, so no read timeout
fires), and resets the connection (RST) before the last byte. Every later request with
that id is answered at once with a new case number (`CASE-1`, `CASE-2`, … across all
messages), so an answer recorded twice shows as an overwritten case number. It serves
keep-alive connections, one thread each.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


@dataclass
class DrippingAgency:
    """The server and what it saw: per message id, the case numbers it answered with."""

    drip_seconds: float
    sock: socket.socket = field(init=False)
    answered: dict[str, list[str]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT/orders"""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/orders"

    def start(self) -> DrippingAgency:
        """Accept connections in a background thread."""
        threading.Thread(target=self._accept, daemon=True, name="dripping-agency").start()
        return self

    def stop(self) -> None:
        """Stop accepting; connections under way end on their own."""
        self._stopped.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while (message_id := _read_request(reader)) is not None:
                if not self._first(message_id):
                    conn.sendall(_response(self._new_case(message_id)))
                    continue
                self._drip(conn, _response(f"DRIP-{message_id}"))
                return
        except OSError:
            pass
        finally:
            reader.close()
            conn.close()

    def _first(self, message_id: str) -> bool:
        with self._lock:
            self.requests[message_id] = self.requests.get(message_id, 0) + 1
            return self.requests[message_id] == 1

    def _new_case(self, message_id: str) -> str:
        with self._lock:
            case = f"CASE-{sum(map(len, self.answered.values())) + 1}"
            self.answered.setdefault(message_id, []).append(case)
            return case

    def _drip(self, conn: socket.socket, response: bytes) -> None:
        """Headers at once, then all but the body's last byte, one at a time over
        `drip_seconds`, then a reset."""
        head, body = response.split(b"\r\n\r\n", 1)
        conn.sendall(head + b"\r\n\r\n")
        pace = self.drip_seconds / (len(body) - 1)
        for byte in body[:-1]:
            conn.sendall(bytes([byte]))
            time.sleep(pace)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _read_request(reader: object) -> str | None:
    """Read one request; its `webhook-id`, or None when the client closed."""
    readline = reader.readline  # type: ignore[attr-defined]
    line = readline()
    if not line:
        return None
    headers: dict[str, str] = {}
    while (line := readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    reader.read(int(headers.get("content-length", "0")))  # type: ignore[attr-defined]
    return headers.get("webhook-id", "")


def _response(case: str) -> bytes:
    body = json.dumps({"id": case, "padding": "." * 200}).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body
