"""Webhooks by the Standard Webhooks scheme: signing, the retry schedule, which URLs may be called, and calling
them (also the regions' SMS and WhatsApp providers).

A delivery is retried: the first retry within 30 s, then with growing back-off for at least 24 hours; a subscription
whose deliveries have all failed for 3 days is disabled. A URL's host is resolved once, checked, and the connection
goes to that checked address (the Host header, TLS SNI and certificate check still use the name): a DNS answer that
changes between the check and the connect (rebinding) cannot reach inside the cluster.
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


@dataclass(frozen=True)
class Target:
    """Where a checked URL is called: ``url`` has the checked address in place of the host name."""

    url: str
    host: str  # the Host header: the name (and the port when the URL gave one)
    hostname: str  # TLS: the name sent by SNI and checked against the certificate
    address: str


def check_url(url: str, *, allow_private: bool, resolve=None) -> Target:
    """https to public addresses only (no SSRF into the cluster), unless private targets are allowed (local runs);
    the address to connect to. ``resolve``: ``socket.getaddrinfo`` unless given."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, a broken [IPv6] host
        raise UrlRefused(f"not a usable URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("the URL must be https://host/...")
    if port == 0:
        raise UrlRefused("not a usable URL: the port must be 1 to 65535")
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
    if not allow_private and not all(a.is_global for a in addresses):
        raise UrlRefused(f"{parts.hostname} resolves to a non-public address")
    address = addresses[0]
    where = f"[{address}]" if address.version == 6 else str(address)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + f"{where}:{port or (443 if parts.scheme == 'https' else 80)}"
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


def post(url: str, *, allow_private: bool, headers: dict[str, str], data: bytes | None = None,
         json: Any = None, timeout: float = 10, verify: bool | str = True, resolve=None) -> requests.Response:
    """POST to ``url`` at the address its check found (no redirects followed); raises UrlRefused for a URL that may
    not be called. ``verify``: a CA bundle instead of the system's (tests)."""
    target = check_url(url, allow_private=allow_private, resolve=resolve)
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment: the checked address is the one called
        session.mount("https://", _PinnedTls(target.hostname))
        return session.post(target.url, data=data, json=json, headers={**headers, "Host": target.host},
                            timeout=timeout, verify=verify, allow_redirects=False)
