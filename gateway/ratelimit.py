"""Per-client rate limits (token buckets in this process):
``MPPI_RATE_LIMITS="auth=60/60,account=10/300,api=600/60"`` or ``off``.

``auth`` limits sign-in and registration per client address, ``api`` the rest per account (or address);
``account`` limits password attempts per account e-mail, whatever address they come from (``auth``'s rate unless
given), so a guess spread over many addresses is slowed too."""
from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from mppi.contracts.errors import RateLimited
from mppi.contracts.tenants import normalize_email

MAX_KEYS = 100_000


@dataclass
class Rule:
    capacity: float
    per_seconds: float


def parse_rules(spec: str) -> dict[str, Rule] | None:
    if spec.strip().lower() in {"off", "false", "0", ""}:
        return None
    rules = {}
    for part in spec.split(","):
        name, _, rate = part.strip().partition("=")
        count, _, seconds = rate.partition("/")
        rules[name.strip()] = Rule(float(count), float(seconds or 60))
    if "auth" in rules:
        rules.setdefault("account", rules["auth"])
    return rules


def client_key(address: str) -> str:
    """The bucket of a client address: an IPv6 client owns its whole /64 (one host can use any of its 2^64)."""
    if ":" in address:
        try:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            return address
    return address


def account_key(email: str) -> str:
    return "account:" + normalize_email(email)


class RateLimiter:
    def __init__(self, spec: str, clock=time.monotonic):
        self.rules = parse_rules(spec)
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def check(self, kind: str, key: str) -> None:
        """Take one token for ``key`` under rule ``kind``; raise RateLimited when none is left."""
        if self.rules is None or kind not in self.rules:
            return
        rule = self.rules[kind]
        now = self.clock()
        tokens, stamp = self._buckets.pop((kind, key), (rule.capacity, now))
        tokens = min(rule.capacity, tokens + (now - stamp) * rule.capacity / rule.per_seconds)
        if tokens < 1:
            self._buckets[(kind, key)] = (tokens, now)
            wait = (1 - tokens) * rule.per_seconds / rule.capacity
            raise RateLimited(f"too many requests; try again in {math.ceil(wait)} s", retry_after=math.ceil(wait))
        if len(self._buckets) >= MAX_KEYS:
            # bounded memory under a flood of distinct keys: forget the least recently used tenth (a bucket is
            # re-inserted on each use), never every bucket at once, which would let a flood refill a guessed account
            for old in list(self._buckets)[: MAX_KEYS // 10]:
                del self._buckets[old]
        self._buckets[(kind, key)] = (tokens - 1, now)
