"""Webhooks by the Standard Webhooks scheme: signing, the retry schedule, and which URLs may be called.

A delivery is retried: the first retry within 30 s, then with growing back-off for at least 24 hours; a subscription
whose deliveries have all failed for 3 days is disabled.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

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


def check_url(url: str, *, allow_private: bool, resolve=socket.getaddrinfo) -> None:
    """https to public addresses only (no SSRF into the cluster), unless private targets are allowed (local runs)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("the URL must be https://host/...")
    if allow_private:
        return
    if parts.scheme != "https":
        raise UrlRefused("webhooks must use https")
    try:
        infos = resolve(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        raise UrlRefused(f"{parts.hostname} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UrlRefused(f"{parts.hostname} resolves to a non-public address")
