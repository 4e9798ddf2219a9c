"""The gateway's HTTP edge: the real client address behind the ingress (only trusted proxies' X-Forwarded-For is
believed), and the security headers every answer carries (no-store on what a signed-in caller is answered)."""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from werkzeug.wrappers import Response

SESSION_COOKIE = "mppi_session"  # the web pages' session (gateway.web.core takes its name from here)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

HSTS = "max-age=31536000"
# methods a label may name; anything else a client sends is counted as "other" (bounded metric series)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def page_policy(nonce: str | None = None) -> str:
    """The Content-Security-Policy of an HTML page: nothing inline but the page's own nonce'd <style> (the region's
    colour); no script at all; images also from https (a region's logo lives on its own site); never in a frame."""
    styles = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return (f"default-src 'self'; script-src 'self'; style-src {styles}; img-src 'self' https:; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Edge:
    def __init__(self, trusted_proxies: tuple[Network, ...] = (), public_url: str = ""):
        self.trusted = tuple(trusted_proxies)
        self.https = public_url.lower().startswith("https://")  # TLS ends at the ingress: the request itself is http

    def client_address(self, environ: dict) -> str:
        """Who is calling: the socket's peer, unless that peer is a trusted proxy; then the right-most address of
        X-Forwarded-For that is not a trusted proxy (what a client writes itself stands left of that, unread)."""
        peer = environ.get("REMOTE_ADDR") or "-"
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if not forwarded or not self.trusted or not self.is_trusted(peer):
            return peer
        hop = peer
        for part in reversed(forwarded.split(",")):
            address = _address(part)
            if address is None:  # no proxy of ours writes that: stop at the last hop we believe
                return hop
            if not self.is_trusted(address):
                return address
            hop = address
        return hop

    def secure(self, response: Response, environ: dict | None = None) -> Response:
        """The headers every answer carries; an HTML page brings its own policy (with its nonce), see web.core. An
        API answer to a caller with a token or a session is no-store: no shared cache, no browser history keeps it."""
        headers = response.headers
        if environ is not None and _signed_in_api(environ) and "no-store" not in headers.get("Cache-Control", ""):
            headers["Cache-Control"] = "no-store"
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if self.https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", page_policy())
            headers.setdefault("X-Frame-Options", "DENY")
        return response

    def is_trusted(self, address: str | None) -> bool:
        """Whether ``address`` is one of the trusted proxies (the ingress)."""
        return _in_networks(address or "", self.trusted)


def _signed_in_api(environ: dict) -> bool:
    return environ.get("PATH_INFO", "").startswith("/api/v1") and (
        "HTTP_AUTHORIZATION" in environ or SESSION_COOKIE in environ.get("HTTP_COOKIE", ""))


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def _address(text: str) -> str | None:
    """One X-Forwarded-For entry as a normal address string (``::ffff:1.2.3.4`` → ``1.2.3.4``), None if not one."""
    parsed = _parse(text.strip())
    return None if parsed is None else str(parsed)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=4096)
def _in_networks(text: str, networks: tuple[Network, ...]) -> bool:
    address = _parse(text)
    return address is not None and any(address in n for n in networks)
