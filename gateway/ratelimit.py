"""Per-client rate limits (token buckets in this process):
``MPPI_RATE_LIMITS="auth=60/60,account=10/300,api=600/60"`` or ``off`` (parsed in ``mppi.runtime.ratelimits``).

``auth`` limits sign-in and registration per client address, ``api`` the rest per account (or address).
``account`` is not a bucket here: it counts failed sign-ins, per account and client network, in the tenants
service (``services.tenants.domain.sign_in``), so a correct password from a clean address is never refused."""
from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import replace

from mppi.contracts.errors import RateLimited
from mppi.runtime.ratelimits import parse_rules

MAX_KEYS = 100_000
# ``address``: what every account behind one client address may ask together, by default ten accounts' worth of
# ``api`` (carrier-grade NAT puts many honest citizens behind one address); without it, ten accounts made by one
# client would get ten times the ``api`` limit
ADDRESS_TIMES_API = 10


def client_key(address: str) -> str:
    """The bucket of a client address: an IPv6 client owns its whole /64 (one host can use any of its 2^64)."""
    if ":" in address:
        try:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            return address
    return address


class RateLimiter:
    def __init__(self, spec: str, clock=time.monotonic):
        self.rules = parse_rules(spec)
        if self.rules is not None and "api" in self.rules:
            api = self.rules["api"]
            self.rules.setdefault("address", replace(api, capacity=api.capacity * ADDRESS_TIMES_API))
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
