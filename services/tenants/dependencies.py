"""nameko dependency providers of the tenants service: password hashing off the hub, tokens, the admin at start."""
from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from nameko.extensions import DependencyProvider

from mppi.runtime import settings, tokens

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

    def issue(self, *, account_id: str, roles: list[str], tenant: str | None, name: str = "") -> tuple[str, int]:
        token = tokens.issue(self.secret, account_id=account_id, roles=roles, tenant=tenant, ttl=self.ttl, name=name)
        return token, self.ttl

    def get_dependency(self, worker_ctx):
        return self.issue
