"""A TCP relay that counts round trips between a client and a server.

A round trip is one *turn*: the client sends (one or several segments, one
or several pipelined commands) and then the server answers. The relay sits
on a loopback port, forwards bytes both ways untouched, and counts how many
times the direction changes from server-to-client back to client-to-server.
So it measures what a driver really does on the wire, whatever the driver
(redis-py, psycopg, asyncpg) and whatever it does behind one call
(``BEGIN``/``ROLLBACK``, pipelining, a script load).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class TurnCounter:
    """Relays 127.0.0.1:<port> to ``target`` and counts client turns."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.turns = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # The last direction seen on this connection: "c" or "s".
            state = {"last": "s"}
            threading.Thread(
                target=self._pump, args=(client, server, "c", state), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(server, client, "s", state), daemon=True
            ).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, side: str, state: dict[str, str]
    ) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                with self._lock:
                    if side == "c" and state["last"] == "s":
                        self.turns += 1
                    state["last"] = side
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def reset(self) -> int:
        with self._lock:
            turns, self.turns = self.turns, 0
        return turns

    def close(self) -> None:
        self._closed = True
        self._listener.close()


@contextlib.contextmanager
def relay(host: str, port: int) -> Iterator[TurnCounter]:
    counter = TurnCounter((host, port))
    try:
        yield counter
    finally:
        counter.close()
