"""The rules of ``MPPI_RATE_LIMITS`` (``auth=60/60,account=10/300,api=600/60`` or ``off``), read once here by the
gateway (``auth``, ``api``: its token buckets) and by the tenants service (``account``: failed sign-ins)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    capacity: float
    per_seconds: float


def parse_rules(spec: str) -> dict[str, Rule] | None:
    """The rules by name; None when limits are off. ``account`` takes ``auth``'s rate unless given its own."""
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
