"""A TCP proxy in a thread, to cut a real database connection in the middle of a test.

``cut()`` closes every open connection and refuses new ones (as a crashed or stopped
server would); ``blackhole()`` closes them too but then takes new connections and never
answers on them (as a host that vanished from the network would); ``restore()`` accepts
again. ``lose_answer_to(b"COMMIT")`` lets the next client message holding those bytes
reach the server, then drops the server's answer with the connection (the database did it;
the client never hears so). The database itself never stops, so other tests sharing it
are not disturbed.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._open = True
        self._silent = False
        self._held: list[socket.socket] = []  # connections taken while a black hole
        self._stopping = False
        self._trap: bytes | None = None  # lose the answer to the next message holding this
        self._swallowed: set[socket.socket] = set()  # servers whose next answer is lost
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        with self._lock:
            self._open = False
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def blackhole(self) -> None:
        """Drop every connection; take new ones and never answer on them."""
        self.cut()
        with self._lock:
            self._silent = True

    def lose_answer_to(self, marker: bytes) -> None:
        """The next client message holding ``marker`` reaches the server; its answer does
        not reach the client, whose connection is then closed."""
        with self._lock:
            self._trap = marker

    def restore(self) -> None:
        with self._lock:
            self._open, self._silent = True, False
            held, self._held = self._held, []
        for sock in held:
            sock.close()

    def close(self) -> None:
        self._stopping = True
        self.restore()  # lets go of the connections a black hole holds
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        self._listener.setblocking(False)
        selector.register(self._listener, selectors.EVENT_READ)
        while not self._stopping:
            for key, _ in selector.select(timeout=0.05):
                if key.fileobj is self._listener:
                    self._accept(selector)
                else:
                    self._forward(selector, key)
            self._forget_closed(selector)
        selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        with self._lock:
            if self._silent:
                self._held.append(client)  # taken, and never a byte in answer
                return
            if not self._open:
                client.close()  # refused: the "server" is away
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                return
            self._pairs.append((client, upstream))
        for sock, other in ((client, upstream), (upstream, client)):
            sock.settimeout(5)  # reads happen only when ready; a send may wait a little
            selector.register(sock, selectors.EVENT_READ, other)

    def _forward(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        source: socket.socket = key.fileobj  # type: ignore[assignment]
        try:
            data = source.recv(65536)
            if data and source in self._swallowed:
                self._swallowed.discard(source)  # the answer, read and lost
            elif data:
                key.data.sendall(data)
                with self._lock:
                    trapped = self._trap is not None and self._trap in data
                    if trapped and any(source is client for client, _ in self._pairs):
                        self._trap = None
                        self._swallowed.add(key.data)
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._drop(selector, source, key.data)

    def _drop(self, selector: selectors.BaseSelector, *socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(KeyError, ValueError, OSError):
                selector.unregister(sock)
            sock.close()
        with self._lock:
            self._pairs = [p for p in self._pairs if p[0] not in socks and p[1] not in socks]

    def _forget_closed(self, selector: selectors.BaseSelector) -> None:
        for key in list(selector.get_map().values()):
            sock = key.fileobj
            if sock is not self._listener and getattr(sock, "fileno", lambda: -1)() < 0:
                with contextlib.suppress(KeyError, ValueError):
                    selector.unregister(sock)
