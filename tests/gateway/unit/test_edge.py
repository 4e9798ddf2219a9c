"""The HTTP edge: whose address a request carries behind the ingress, and the labels a scanner can reach."""
import pytest
from werkzeug.wrappers import Response

from gateway.edge import Edge, method_label
from mppi.runtime.settings import load

INGRESS = load({"MPPI_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8"}).trusted_proxies


def environ(peer: str, forwarded: str | None = None) -> dict:
    env = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        env["HTTP_X_FORWARDED_FOR"] = forwarded
    return env


def test_without_trusted_proxies_a_client_cannot_pick_its_address_with_x_forwarded_for():
    edge = Edge()
    assert edge.client_address(environ("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    assert not edge.is_trusted("203.0.113.9")


def test_an_untrusted_peer_sending_x_forwarded_for_keeps_its_own_address():
    edge = Edge(INGRESS)
    assert edge.client_address(environ("203.0.113.9", "10.1.2.3, 198.51.100.1")) == "203.0.113.9"
    assert not edge.is_trusted("203.0.113.9")  # its connections are capped (gateway.server)


def test_behind_the_ingress_the_right_most_untrusted_address_is_the_client():
    edge = Edge(INGRESS)
    assert edge.client_address(environ("10.0.0.7", "198.51.100.1")) == "198.51.100.1"
    # what the client wrote itself stands left and is never read
    assert edge.client_address(environ("10.0.0.7", "1.1.1.1, 6.6.6.6 , 198.51.100.1")) == "198.51.100.1"
    # two trusted hops (a load balancer, then the ingress)
    assert edge.client_address(environ("10.0.0.7", "6.6.6.6, 198.51.100.1, 10.9.9.9")) == "198.51.100.1"
    assert edge.client_address(environ("10.0.0.7", "::ffff:198.51.100.2")) == "198.51.100.2"
    assert edge.is_trusted("10.0.0.7") and edge.is_trusted("fd00::1")  # the ingress: not capped


def test_a_forwarded_chain_of_only_trusted_hops_or_garbage_stops_at_the_last_trusted_hop():
    edge = Edge(INGRESS)
    assert edge.client_address(environ("10.0.0.7", "10.0.0.8")) == "10.0.0.8"
    assert edge.client_address(environ("10.0.0.7", "not-an-address")) == "10.0.0.7"
    assert edge.client_address(environ("10.0.0.7", "")) == "10.0.0.7"
    assert edge.client_address(environ("fd00::1", "2001:db8::5")) == "2001:db8::5"


def test_a_direct_request_without_forwarding_is_its_peers():
    edge = Edge(INGRESS)
    assert edge.client_address(environ("10.0.0.7")) == "10.0.0.7"


def test_an_api_answer_to_a_signed_in_caller_is_never_stored():
    edge = Edge()
    for signed_in in ({"HTTP_AUTHORIZATION": "Bearer x"}, {"HTTP_COOKIE": "mppi_lang=id; mppi_session=abc"}):
        r = edge.secure(Response("{}", headers={"Cache-Control": "public, max-age=60"}),
                        {"PATH_INFO": "/api/v1/me", **signed_in})
        assert r.headers["Cache-Control"] == "no-store"
    public = edge.secure(Response("{}", headers={"Cache-Control": "public, max-age=60"}),
                         {"PATH_INFO": "/api/v1/tenants"})
    assert public.headers["Cache-Control"] == "public, max-age=60"  # anonymous reads may be cached


def test_unknown_methods_share_one_metric_label():
    assert method_label("GET") == "GET" and method_label("DELETE") == "DELETE"
    assert {method_label(m) for m in ("FOOBAR", "get", "X" * 500, "PROPFIND")} == {"other"}


def test_https_public_url_adds_hsts_and_every_answer_gets_nosniff():
    plain, tls = Edge(public_url="http://127.0.0.1:8000"), Edge(public_url="https://layanan.example.go.id")
    assert "Strict-Transport-Security" not in plain.secure(Response("{}", content_type="application/json")).headers
    r = tls.secure(Response("{}", content_type="application/json"))
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" not in r.headers
    page = tls.secure(Response("<p>", content_type="text/html; charset=utf-8"))
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_trusted_proxies_default_to_nobody_and_a_wrong_entry_stops_the_start():
    assert load({}).trusted_proxies == ()
    assert [str(n) for n in load({"MPPI_TRUSTED_PROXIES": "10.1.2.3, 192.168.0.0/16"}).trusted_proxies] == [
        "10.1.2.3/32", "192.168.0.0/16"]
    with pytest.raises(ValueError):
        load({"MPPI_TRUSTED_PROXIES": "the-ingress"})
