"""Slowloris against the gateway's own HTTP server: one client's connections beyond its cap are refused at once
(so other clients, and that client's next honest request, are still served), and a request head that trickles in
is cut off after its bound while a kept-alive connection may idle between requests."""
import http.client
import socket
import time

import pytest
import requests
from support import wait_for

from devtools.platform import free_port

ATTACKER = "127.0.0.2"  # Linux answers on all of 127.0.0.0/8: another client address on this machine
HALF_SENT = b"GET /healthz HTTP/1.1\r\nHost: mppi\r\nX-Slow: "  # a head whose end never comes


@pytest.fixture
def gateway(platform):
    started = []

    def start(**env: str) -> str:
        port = free_port()
        name = f"gateway-conn-{len(started)}"
        platform.start_gateway(name, port=port, **env)
        started.append(name)
        base_url = f"http://127.0.0.1:{port}"
        platform.wait_ready(base_url=base_url)
        return base_url

    yield start
    for name in started:
        platform.stop(name)


def _connect(port: int, source: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.sendall(HALF_SENT)
    return s


def _honest(port: int, source: str) -> int:
    """The status of one plain request from ``source`` (0 when the gateway does not answer within 5 s)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: mppi\r\nConnection: close\r\n\r\n")
            return int(s.recv(4096).split(b" ", 2)[1])
    except (OSError, IndexError, ValueError):
        return 0


def test_one_client_with_2100_half_sent_connections_does_not_stop_the_gateway(gateway):
    base_url = gateway(MPPI_REQUEST_HEAD_SECONDS="60")  # only the cap is tried here, not the head's bound
    port = int(base_url.rsplit(":", 1)[1])
    attack = []
    try:
        for _ in range(2100):  # more than the whole server's 2,000 connections
            attack.append(_connect(port, ATTACKER))
        assert _honest(port, "127.0.0.1") == 200  # another client is served while the attack holds
        # connections beyond the cap (200 by default) were answered 429 at once and closed
        late = attack[-1]
        late.settimeout(5)
        answer = late.recv(4096)
        assert answer.startswith(b"HTTP/1.1 429") and b"RATE_LIMITED" in answer
        assert _honest(port, ATTACKER) == 429  # the attacker itself gets no more
        assert requests.get(base_url + "/api/v1/tenants", timeout=5).status_code == 200
    finally:
        for s in attack:
            s.close()
    # the cap released, the same client's next honest request is served
    wait_for(lambda: _honest(port, ATTACKER) == 200, timeout=10, message="the attacker's address served again")


def test_a_half_sent_request_head_is_cut_off_after_its_bound(gateway):
    base_url = gateway(MPPI_REQUEST_HEAD_SECONDS="2")
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: mppi\r\n")
        started = time.monotonic()
        closed = None
        while time.monotonic() - started < 8:  # a header byte every 0.2 s: each read is well within 60 s
            try:
                s.sendall(b"X")
                s.settimeout(0.2)
                if s.recv(4096) == b"":
                    closed = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:  # reset by the gateway
                closed = time.monotonic() - started
                break
    assert closed is not None, "the trickling head was still being read after 8 s"
    assert 1.5 <= closed <= 5


def test_a_kept_alive_connection_may_idle_longer_than_the_head_bound_between_requests(gateway):
    base_url = gateway(MPPI_REQUEST_HEAD_SECONDS="1")
    conn = http.client.HTTPConnection("127.0.0.1", int(base_url.rsplit(":", 1)[1]), timeout=5)
    try:
        conn.request("GET", "/healthz")
        assert conn.getresponse().read() and conn.sock is not None
        kept = conn.sock
        time.sleep(2)  # idle on the kept-alive connection, longer than the head's bound (no message awaited)
        conn.request("GET", "/api/v1/tenants")
        assert conn.getresponse().status == 200 and conn.sock is kept  # the same connection, not a new one
    finally:
        conn.close()
