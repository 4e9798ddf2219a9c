"""nameko dependency providers of the tenants service: password hashing off the hub, tokens, the sign-in policy."""
from __future__ import annotations

import logging
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from nameko.extensions import DependencyProvider

from mppi.runtime import settings, tokens
from mppi.runtime.ratelimits import parse_rules
from services.tenants.domain.sign_in import SignInPolicy

log = logging.getLogger(__name__)


class Argon2Hasher:
    """argon2id in a native thread (``tpool``): hashing is CPU work that would otherwise starve the hub."""

    def __init__(self):
        self._ph = PasswordHasher()

    def hash(self, password: str) -> str:
        return tpool.execute(self._ph.hash, password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return tpool.execute(self._ph.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class Passwords(DependencyProvider):
    def setup(self) -> None:
        self.hasher = Argon2Hasher()

    def get_dependency(self, worker_ctx):
        return self.hasher


class Tokens(DependencyProvider):
    def setup(self) -> None:
        cfg = settings.get()
        self.secret = cfg.token_secret()
        self.ttl = cfg.token_ttl_seconds

    def issue(self, *, account_id: str, roles: list[str], tenant: str | None) -> tuple[str, int]:
        token = tokens.issue(self.secret, account_id=account_id, roles=roles, tenant=tenant, ttl=self.ttl)
        return token, self.ttl

    def get_dependency(self, worker_ctx):
        return self.issue


DEFAULT_ACCOUNT_RULE = "account=10/300"  # told past this many failures even when limits are off (tests)


def sign_in_policy(spec: str) -> SignInPolicy:
    """The ``account`` rule of MPPI_RATE_LIMITS as the sign-in policy; with limits off nothing is refused, and the
    holder is still told of failures past the default rule."""
    rules = parse_rules(spec)
    rule = (rules or {}).get("account") or parse_rules(DEFAULT_ACCOUNT_RULE)["account"]
    return SignInPolicy(failures=max(1, int(rule.capacity)), window=timedelta(seconds=rule.per_seconds),
                        refuse=rules is not None and "account" in rules)


class SignIn(DependencyProvider):
    def setup(self) -> None:
        self.policy = sign_in_policy(settings.get().rate_limits)

    def get_dependency(self, worker_ctx):
        return self.policy
