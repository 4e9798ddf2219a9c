"""Webhook and provider URLs: a bad port is refused as a validation error, and the host is resolved once: the
connection goes to the address that was checked (a DNS answer that changes in between, rebinding, cannot reach
inside), while the Host header, TLS SNI and the certificate check still use the host name."""
import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import sqlalchemy as sa
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devtools.platform import ROOT
from mppi.contracts.applications import ChannelsConfig
from mppi.contracts.errors import ValidationFailed
from services.notifications import channels, orm, sealed, subscriptions, webhooks

HOST = "hook.example.test"
PUBLIC = "93.184.215.14"  # a global address: it passes the check


class Dns:
    """socket.getaddrinfo for HOST answers ``answers`` in turn (the last one from then on); other names and
    addresses as usual. ``connects``: where connections were attempted; the public address refuses at once, so no
    network is needed."""

    def __init__(self, monkeypatch):
        self.answers, self.connects = [], []
        real_getaddrinfo, real_connect = socket.getaddrinfo, urllib3.util.connection.create_connection

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's own names
            if host != HOST:
                return real_getaddrinfo(host, port, family, type, proto, flags)
            address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

        def create_connection(address, *args, **kwargs):
            self.connects.append(address[0])
            if address[0] == PUBLIC:
                raise ConnectionRefusedError("the public address refuses (in this test)")
            return real_connect(address, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)


@pytest.fixture
def dns(monkeypatch):
    return Dns(monkeypatch)


@pytest.fixture
def inside():
    """A listener standing for a service inside the cluster: it keeps every connection made to it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1], accepted
    listener.close()
    for conn in accepted:
        conn.close()


@pytest.mark.parametrize("url", ["http://example.com:99999/hook", "https://example.com:0/hook",
                                 "https://example.com:port/hook", "https://[::1/hook"])
def test_a_url_with_a_bad_port_is_a_validation_error(url, uow):
    with pytest.raises(webhooks.UrlRefused):
        webhooks.check_url(url, allow_private=True)
    with pytest.raises(ValidationFailed) as refused:
        subscriptions.create("sinjai", {"kind": "webhook", "url": url}, request_key="k", uow=uow, broker=None,
                             allow_private=True)
    assert refused.value.errors[0]["loc"] == ["body", "url"]
    with pytest.raises(ValidationFailed) as refused:
        channels.save("sinjai", ChannelsConfig(sms={"url": url, "token": "tok-1"}), uow=uow, allow_private=True)
    assert refused.value.errors[0]["loc"] == ["body", "sms", "url"]


def test_a_webhook_whose_dns_rebinds_after_the_check_is_never_called_inside(uow, inside, dns):
    port, accepted = inside
    dns.answers = [PUBLIC]
    subscriptions.create("sinjai", {"kind": "webhook", "url": f"https://{HOST}:{port}/h"}, request_key="k", uow=uow,
                         broker=None, allow_private=False)
    subscriptions.enqueue("sinjai", {"id": "e1", "type": "id.mppi.application.submitted.v1", "data": {}}, uow=uow)
    dns.answers = [PUBLIC, "127.0.0.1"]  # public for the check at send time, then the cluster's loopback

    subscriptions.deliver_due(uow=uow, allow_private=False)

    assert dns.connects == [PUBLIC], "the connection goes to the checked address"
    assert accepted == [], "a connection reached the address the DNS answered after the check"
    with uow() as u:
        attempt = u.execute(sa.select(orm.webhook_attempts)).one()
    assert attempt.status_code is None and "refuses" in attempt.error


def test_a_provider_whose_dns_rebinds_after_the_check_is_never_called_inside(inside, dns):
    port, accepted = inside
    dns.answers = [PUBLIC, "127.0.0.1"]
    with pytest.raises(requests.ConnectionError):
        channels.send_by_provider({"url": f"https://{HOST}:{port}/send", "token_sealed": sealed.seal("tok-1")},
                                  to="+6281234567890", text="x", message_id="m1", allow_private=False)
    assert dns.connects == [PUBLIC] and accepted == []


# -- https to the checked address: SNI, the certificate and the Host header are the name's --------------------------

def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name``: (certificate file, which is also the CA to trust; key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_receiver(tmp_path):
    """An https endpoint on 127.0.0.1 with a certificate for HOST; records SNI names and requests."""
    cert, key = _certificate(tmp_path, HOST)
    seen = {"sni": [], "requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen["requests"].append((self.headers["Host"], self.headers["Authorization"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert, seen
    server.shutdown()


# the client runs in a process of its own, patched by eventlet before anything imports ssl as the service is (in
# this one, pytest's plugins import ssl first, and eventlet's green SSL context then recurses)
CLIENT = """
import eventlet
eventlet.monkey_patch()
import json, socket, sys
import urllib3.util.connection
from services.notifications import webhooks
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real, connects = socket.getaddrinfo, []
socket.getaddrinfo = lambda h, p, *a, **k: real("127.0.0.1" if h == host else h, p, *a, **k)
real_connect = urllib3.util.connection.create_connection
def create_connection(address, *a, **k):
    connects.append(address[0])
    return real_connect(address, *a, **k)
urllib3.util.connection.create_connection = create_connection
try:
    r = webhooks.post(f"https://{host}:{port}/send", allow_private=True, json={"to": "x"},
                      headers={"Authorization": "Bearer tok-1"}, verify=ca)
    print(json.dumps({"status": r.status_code, "connects": connects}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "connects": connects}))
"""


def _post_from_a_service_process(port: int, ca: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CLIENT, HOST, str(port), ca], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_https_goes_to_the_checked_address_with_the_names_sni_certificate_and_host(tls_receiver):
    port, ca, seen = tls_receiver
    assert _post_from_a_service_process(port, ca) == {"status": 204, "connects": ["127.0.0.1"]}
    assert seen["sni"] == [HOST]
    assert seen["requests"] == [(f"{HOST}:{port}", "Bearer tok-1", b'{"to": "x"}')]


def test_https_to_a_server_whose_certificate_is_for_another_name_is_refused(tls_receiver, tmp_path):
    port, _, seen = tls_receiver
    other_ca, _ = _certificate(tmp_path, "other.example.test")
    assert _post_from_a_service_process(port, other_ca)["error"] == "SSLError"
    assert seen["requests"] == []


# -- IPv6 forms that carry an IPv4 address, credentials in the URL, the loopback-only allowance (pen test, Low) -----

TRANSITION = [
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud's metadata service
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:a9fe:a9fe",  # IPv4-mapped metadata
    "::ffff:0:7f00:1",  # IPv4-translated loopback
    "::7f00:1",  # IPv4-compatible (deprecated) loopback
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1",  # Teredo
]


def _resolving_to(address: str):
    return lambda host, port, **kw: [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


@pytest.mark.parametrize("address", TRANSITION)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_refused(address, uow):
    with pytest.raises(webhooks.UrlRefused):  # written as a literal
        webhooks.check_url(f"https://[{address}]/hook", allow_private=False)
    with pytest.raises(webhooks.UrlRefused):  # or a name whose AAAA answer it is
        webhooks.check_url("https://pemda.example/hook", allow_private=False, resolve=_resolving_to(address))
    with pytest.raises(webhooks.UrlRefused):  # the local allowance admits loopback itself, not its IPv6 disguises
        webhooks.check_url(f"https://[{address}]/hook", allow_private=webhooks.LOOPBACK)
    with pytest.raises(ValidationFailed) as refused:
        subscriptions.create("sinjai", {"kind": "webhook", "url": f"https://[{address}]/hook"}, request_key="k",
                             uow=uow, broker=None, allow_private=False)
    assert refused.value.errors[0]["loc"] == ["body", "url"]
    with pytest.raises(ValidationFailed) as refused:
        channels.save("sinjai", ChannelsConfig(whatsapp={"url": f"https://[{address}]/send", "token": "tok-1"}),
                      uow=uow, allow_private=False)
    assert refused.value.errors[0]["loc"] == ["body", "whatsapp", "url"]


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "::ffff:8.8.8.8", "2002:808:808::1"])
def test_an_ipv6_address_carrying_a_public_ipv4_one_passes(address):
    checked = webhooks.check_url(f"https://[{address}]/hook", allow_private=False).address
    assert ipaddress.ip_address(checked) == ipaddress.ip_address(address)


@pytest.mark.parametrize("url", ["https://user:pass@pemda.example/hook", "https://token@pemda.example/hook",
                                 "https://:pw@pemda.example/hook", "http://u:p@127.0.0.1:8080/send"])
def test_a_url_with_credentials_is_refused(url, uow):
    public = _resolving_to("2606:4700::1111")
    with pytest.raises(webhooks.UrlRefused, match="credentials"):
        webhooks.check_url(url, allow_private=True, resolve=public)
    with pytest.raises(ValidationFailed) as refused:
        subscriptions.create("sinjai", {"kind": "webhook", "url": url}, request_key="k", uow=uow, broker=None,
                             allow_private=True)
    assert refused.value.errors[0]["loc"] == ["body", "url"]
    with pytest.raises(ValidationFailed) as refused:
        channels.save("sinjai", ChannelsConfig(sms={"url": url, "token": "tok-1"}), uow=uow, allow_private=True)
    assert refused.value.errors[0]["loc"] == ["body", "sms", "url"]
    with pytest.raises(webhooks.UrlRefused):  # one stored before the rule is refused when it is called
        webhooks.post(url, allow_private=True, headers={}, resolve=public)


@pytest.mark.parametrize("address", ["10.0.0.5", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fd00::1",
                                     "100.64.0.1"])
def test_the_local_allowance_admits_loopback_only(address):
    assert webhooks.check_url("http://127.0.0.1:8080/hook", allow_private=webhooks.LOOPBACK).address == "127.0.0.1"
    assert webhooks.check_url("http://[::1]:8080/hook", allow_private=webhooks.LOOPBACK).address == "::1"
    with pytest.raises(webhooks.UrlRefused):
        webhooks.check_url(f"http://{address}:8080/hook".replace("fd00::1", "[fd00::1]"),
                           allow_private=webhooks.LOOPBACK)
    assert webhooks.check_url(f"http://{address}:8080/hook".replace("fd00::1", "[fd00::1]"), allow_private=True)


def test_the_setting_reads_loopback_true_and_anything_else_as_public_only():
    assert webhooks.private_allowance("loopback") == webhooks.LOOPBACK
    assert webhooks.private_allowance("LOOPBACK ") == webhooks.LOOPBACK
    assert webhooks.private_allowance("true") is True
    assert webhooks.private_allowance(None) is False and webhooks.private_allowance("no") is False


def test_make_run_allows_loopback_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "export MPPI_WEBHOOK_ALLOW_PRIVATE ?= loopback" in makefile
