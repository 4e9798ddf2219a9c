"""When a sign-in is refused before its password is checked, and when an account's holder is told of failures.

Only failures count, per account and client network (an IPv4 address, an IPv6 /64): a wrong password from one
network never locks the account for another, and a network without failures for the account in the window (a
clean one) is never refused, so nobody can lock anyone out (the platform admin included) by guessing. A guess
spread over many networks is slowed: once the account as a whole had ``failures`` in the window, each network may
fail only a third as often. Past ``failures`` for the account in the window its holder is told, at most once per
``TELL_EVERY``."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

TELL_EVERY = timedelta(hours=1)  # a sustained attack sends one warning an hour, not one per window


@dataclass(frozen=True)
class SignInPolicy:
    failures: int  # wrong passwords per account and network in ``window`` before that network is refused
    window: timedelta
    refuse: bool = True  # False when MPPI_RATE_LIMITS is off: failures are still counted and told

    @property
    def under_attack(self) -> int:
        """What each network may fail once the account as a whole has ``failures`` in the window."""
        return max(1, self.failures // 3)

    @property
    def tell_every(self) -> timedelta:
        return max(self.window, TELL_EVERY)


@dataclass(frozen=True)
class RecentFailures:
    from_network: list[datetime]  # this network's failures for the account in the window, oldest first
    for_account: int  # the account's failures in the window from every network (counted up to ``failures``)


def refusal(policy: SignInPolicy, seen: RecentFailures, now: datetime) -> int | None:
    """Seconds until this network may try the account again, or None when it may now."""
    if not policy.refuse or not seen.from_network:
        return None  # a clean network is never refused
    allowed = policy.failures if seen.for_account < policy.failures else policy.under_attack
    if len(seen.from_network) < allowed:
        return None
    # it may try again once enough of its failures left the window to bring it under ``allowed``
    ages_out = seen.from_network[len(seen.from_network) - allowed] + policy.window
    return max(1, math.ceil((ages_out - now).total_seconds()))


def tell_holder(policy: SignInPolicy, account_failures: int, told_at: datetime | None, now: datetime) -> bool:
    """Whether this failure (the account's ``account_failures``-th in the window) is the one its holder hears of."""
    if account_failures < policy.failures:
        return False
    return told_at is None or now - told_at >= policy.tell_every


def email_key(email: str) -> str:
    """What failures are kept under: a hash of the normalized e-mail tried (an unknown one counts the same)."""
    return hashlib.sha256(email.encode()).hexdigest()
