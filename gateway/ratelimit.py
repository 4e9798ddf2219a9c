"""Per-client rate limits (token buckets in this process): ``MPPI_RATE_LIMITS="auth=60/60,api=600/60"`` or ``off``."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from mppi.contracts.errors import RateLimited

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
    return rules


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
        tokens, stamp = self._buckets.get((kind, key), (rule.capacity, now))
        tokens = min(rule.capacity, tokens + (now - stamp) * rule.capacity / rule.per_seconds)
        if tokens < 1:
            wait = (1 - tokens) * rule.per_seconds / rule.capacity
            raise RateLimited(f"too many requests; try again in {math.ceil(wait)} s", retry_after=math.ceil(wait))
        if len(self._buckets) >= MAX_KEYS:
            self._buckets.clear()  # bounded memory under a flood of distinct keys
        self._buckets[(kind, key)] = (tokens - 1, now)
