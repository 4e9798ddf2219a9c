"""Webhooks by the Standard Webhooks scheme: signing, the retry schedule, which URLs may be called, and calling
them (also the regions' SMS and WhatsApp providers).

A delivery is retried: the first retry within 30 s, then with growing back-off for at least 24 hours; a subscription
whose deliveries have all failed for 3 days is disabled. A URL's host is resolved once, checked, and the connection
goes to that checked address (the Host header, TLS SNI and certificate check still use the name): a DNS answer that
changes between the check and the connect (rebinding) cannot reach inside the cluster. An IPv6 address that carries an
IPv4 one (IPv4-mapped and -translated, NAT64, 6to4) is judged by the IPv4 address it reaches; Teredo and the
deprecated IPv4-compatible form are refused outright (their embedded address is obfuscated or ambiguous, and nothing a
region runs needs them). A URL with credentials in it (``user:pass@``) is refused: a provider's token goes in its own
sealed field, never in a URL that is shown, logged and stored in clear.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

# seconds after the first attempt's failure, then after each later one (API.md: ~5 s, 30 s, 2 min, 10 min, 1 h,
# 3 h, 6 h, 12 h, 24 h); after the last, once a day until the subscription is disabled
SCHEDULE = (5, 30, 120, 600, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
DISABLE_AFTER = timedelta(days=3)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secret: str, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    ts = int(now.timestamp())
    return {"content-type": "application/cloudevents+json", "webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret, msg_id, ts, body)}


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failed attempts."""
    return now + timedelta(seconds=SCHEDULE[min(attempts - 1, len(SCHEDULE) - 1)])


class UrlRefused(ValueError):
    pass


LOOPBACK = "loopback"
Allowance = bool | str  # False: public addresses only; LOOPBACK: and this machine's loopback; True: any address


def private_allowance(value: str | None) -> Allowance:
    """``MPPI_WEBHOOK_ALLOW_PRIVATE``: ``loopback`` (``make run``: receivers on this machine only), ``true`` (tests
    whose receivers are on private addresses), anything else public addresses only."""
    v = (value or "").strip().lower()
    if v == LOOPBACK:
        return LOOPBACK
    return v in ("1", "true", "yes")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 IPv4-translated
_REFUSED = (ipaddress.ip_network("2001::/32"),  # Teredo: the client address is obfuscated, the server's a relay
            ipaddress.ip_network("64:ff9b:1::/48"),  # RFC 8215 local-use NAT64: where the IPv4 sits is the site's
            ipaddress.ip_network("::/96"))  # deprecated IPv4-compatible (and ::, ::1: never public anyway)


def _embedded_ipv4(a: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if a.ipv4_mapped is not None:
        return a.ipv4_mapped
    if a.sixtofour is not None:
        return a.sixtofour
    if a in _NAT64 or a in _TRANSLATED:
        return ipaddress.IPv4Address(int(a) & 0xFFFFFFFF)
    return None


def is_public(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global address, and for an IPv6 one carrying an IPv4 address, a global IPv4 address too."""
    if a.version == 6:
        if any(a in net for net in _REFUSED):
            return False
        inner = _embedded_ipv4(a)
        if inner is not None and not inner.is_global:
            return False
    return a.is_global


def _allowed(a: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: Allowance) -> bool:
    if allow_private is True:
        return True
    # loopback means 127.0.0.0/8 and ::1 themselves, not an IPv6 form that carries 127.x (that goes to a NAT64
    # gateway or a relay, not to this machine)
    return is_public(a) or (allow_private == LOOPBACK and a.is_loopback)


@dataclass(frozen=True)
class Target:
    """Where a checked URL is called: ``url`` has the checked address in place of the host name."""

    url: str
    host: str  # the Host header: the name (and the port when the URL gave one)
    hostname: str  # TLS: the name sent by SNI and checked against the certificate
    address: str


def check_url(url: str, *, allow_private: Allowance, resolve=None) -> Target:
    """https to public addresses only (no SSRF into the cluster), unless private targets are allowed (local runs:
    ``LOOPBACK``; tests: ``True``); the address to connect to. ``resolve``: ``socket.getaddrinfo`` unless given."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, a broken [IPv6] host
        raise UrlRefused(f"not a usable URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("the URL must be https://host/...")
    if port == 0:
        raise UrlRefused("not a usable URL: the port must be 1 to 65535")
    if "@" in parts.netloc:
        raise UrlRefused("the URL must not carry credentials (user:password@)")
    if not allow_private and parts.scheme != "https":
        raise UrlRefused("webhooks must use https")
    try:
        hostname = parts.hostname.encode("idna").decode("ascii")
        infos = (resolve or socket.getaddrinfo)(hostname, port or (443 if parts.scheme == "https" else 80),
                                                proto=socket.IPPROTO_TCP)
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    except (OSError, UnicodeError, ValueError):
        raise UrlRefused(f"{parts.hostname} does not resolve") from None
    if not addresses:
        raise UrlRefused(f"{parts.hostname} does not resolve")
    if not all(_allowed(a, allow_private) for a in addresses):
        raise UrlRefused(f"{parts.hostname} resolves to a non-public address")
    address = addresses[0]
    where = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{where}:{port or (443 if parts.scheme == 'https' else 80)}"
    named = f"[{hostname}]" if ":" in hostname else hostname  # an IPv6 literal keeps its brackets in Host
    return Target(url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
                  host=named + (f":{port}" if port else ""), hostname=hostname, address=str(address))


class _PinnedTls(HTTPAdapter):
    """https to an address, with SNI and the certificate check for the host name the address was resolved from."""

    def __init__(self, hostname: str):
        self.hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        return host_params, pool_kwargs


def post(url: str, *, allow_private: Allowance, headers: dict[str, str], data: bytes | None = None,
         json: Any = None, timeout: float = 10, verify: bool | str = True, resolve=None) -> requests.Response:
    """POST to ``url`` at the address its check found (no redirects followed); raises UrlRefused for a URL that may
    not be called. ``verify``: a CA bundle instead of the system's (tests)."""
    target = check_url(url, allow_private=allow_private, resolve=resolve)
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment: the checked address is the one called
        session.mount("https://", _PinnedTls(target.hostname))
        return session.post(target.url, data=data, json=json, headers={**headers, "Host": target.host},
                            timeout=timeout, verify=verify, allow_redirects=False)
