"""How the gateway serves HTTP with eventlet.wsgi, so that one client cannot hold the server: at most
MPPI_MAX_CONNECTIONS_PER_CLIENT connections per client address at once (those beyond are answered 503 and closed
by the accepting loop, never by a worker), and a request's head (request line and headers) read within
MPPI_REQUEST_HEAD_SECONDS, however slowly it trickles in (slowloris); a body keeps the socket's own timeout."""
from __future__ import annotations

import logging
import socket
from collections import Counter

import eventlet
import eventlet.wsgi

from gateway.edge import Edge
from gateway.errors import to_response
from gateway.ratelimit import client_key
from mppi.contracts.errors import RateLimited

log = logging.getLogger("gateway")

SOCKET_TIMEOUT = 60  # any one read or write of a connection, a body's included
MAX_CONNECTIONS = 2000  # of the whole process
LINGER_SECONDS = 1.0  # what a refused connection may take: its answer, and reading what its client had sent



class HeadTooSlow(socket.timeout):
    """A request's head did not arrive within its bound: eventlet.wsgi closes the connection, as for any timeout."""


class BoundedProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet.wsgi's protocol with a bound on reading each request's head. A fresh connection's head must be
    complete within ``head_seconds`` of its accept; a kept-alive one may idle between requests (the socket
    timeout), and the bound starts with the first byte of its next request."""

    head_seconds: float = 10.0
    _timer: eventlet.Timeout | None = None
    _served = False

    def _read_request_line(self):
        self._disarm()
        if self._served and not self.rfile.closed:
            try:
                self.rfile.peek(1)  # idle until the next request begins (or the socket times out)
            except OSError:
                self.close_connection = 1
                return ""
        self._served = True
        self._timer = eventlet.Timeout(self.head_seconds, HeadTooSlow("request head not received in time"))
        return super()._read_request_line()

    def get_environ(self):
        self._disarm()  # the head is in: what follows (the body, the answer) is the application's
        return super().get_environ()

    def finish(self):
        self._disarm()
        super().finish()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class PerClientPool:
    """The server's pool of connection workers, admitting at most ``per_client`` connections of one client address
    at once (an IPv6 client: its /64). A connection beyond that gets a 429 and is closed at once, by a greenlet
    outside the pool. The ingress (a trusted proxy) carries many clients' connections and limits each itself, so its
    own connections are not counted."""

    def __init__(self, size: int, per_client: int, edge: Edge):
        self.pool = eventlet.GreenPool(size)
        self.per_client = per_client
        self.edge = edge
        self.open: Counter[str] = Counter()
        self.refusal = _answer(RateLimited("too many connections from this address at once", retry_after=1))

    def spawn(self, process_request, connection):
        address = connection[0][0] if isinstance(connection[0], tuple) else str(connection[0])
        if self.edge.is_trusted(address):
            return self.pool.spawn(process_request, connection)
        key = client_key(address)
        if self.open[key] >= self.per_client:
            log.warning("refused a connection: %d open from one client already", self.open[key])
            return eventlet.spawn(_refuse, connection[1], self.refusal)  # eventlet.wsgi closes it when this ends
        self.open[key] += 1
        return self.pool.spawn(self._counted, key, process_request, connection)

    def _counted(self, key: str, process_request, connection) -> None:
        try:
            process_request(connection)
        finally:
            self.open[key] -= 1
            if self.open[key] <= 0:
                del self.open[key]

    def waitall(self) -> None:
        self.pool.waitall()


def _answer(error: RateLimited) -> bytes:
    """The whole HTTP answer to a refused connection, made once by the one error mapper."""
    response = to_response(error)
    head = [f"HTTP/1.1 {response.status}", "Connection: close", f"Content-Length: {len(response.get_data())}",
            *(f"{name}: {value}" for name, value in response.headers.items() if name != "Content-Length")]
    return "\r\n".join([*head, "", ""]).encode("latin-1") + response.get_data()


def _refuse(sock, answer: bytes) -> None:
    """Answer and close; what the client had sent is read for a moment first, or closing on unread bytes would
    reset the connection and lose the answer."""
    with eventlet.Timeout(LINGER_SECONDS, False):
        try:
            sock.sendall(answer)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except OSError:
            pass


def serve(sock, app, *, edge: Edge, per_client: int, head_seconds: float, max_size: int = MAX_CONNECTIONS):
    """Serve ``app`` on the listening ``sock`` until killed (SystemExit drains the requests in flight)."""
    protocol = type("Protocol", (BoundedProtocol,), {"head_seconds": head_seconds})
    return eventlet.wsgi.server(sock, app, log_output=False, custom_pool=PerClientPool(max_size, per_client, edge),
                                protocol=protocol, socket_timeout=SOCKET_TIMEOUT, keepalive=True)
