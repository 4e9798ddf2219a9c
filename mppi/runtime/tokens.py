"""Access tokens: issued by the tenants service, checked by the gateway locally (no RPC per request). A token says
who (an account id), what (roles, region) and until when, and carries an id (``jti``) a sign-out revokes; no personal
data (a JWT is only signed, anyone holding it reads it)."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

import jwt

ALGORITHM = "HS256"
ISSUER = "mppi"


@dataclass(frozen=True)
class Principal:
    account_id: str
    roles: tuple[str, ...]
    tenant: str | None
    jti: str = ""  # the token's own id: what signing out revokes
    expires_at: float = 0.0  # when the token expires (epoch seconds)

    def has_any(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_platform_admin(self) -> bool:
        return "platform_admin" in self.roles


def issue(secret: bytes, *, account_id: str, roles: list[str], tenant: str | None, ttl: int) -> str:
    now = int(time.time())
    claims = {"sub": account_id, "roles": roles, "tenant": tenant, "iat": now, "exp": now + ttl,
              "iss": ISSUER, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: bytes, token: str) -> Principal | None:
    """The principal of a valid, unexpired token; None for anything else. A token's signature and claims are checked
    once and remembered (a token never changes, and the gateway sees the same few thousand again and again); its
    expiry is checked on every call. Only valid tokens are remembered: garbage cannot push them out."""
    try:
        principal, expires = _checked(secret, token)
    except _Invalid:
        return None
    return principal if expires > time.time() else None


class _Invalid(Exception):
    """Raised, not returned, so that ``lru_cache`` keeps no answer for it."""


@lru_cache(maxsize=8192)
def _checked(secret: bytes, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["sub", "exp", "iat", "jti"]})
    except jwt.PyJWTError:
        raise _Invalid() from None
    roles = claims.get("roles")
    tenant = claims.get("tenant")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _Invalid()
    if tenant is not None and not isinstance(tenant, str):
        raise _Invalid()
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 64:
        raise _Invalid()
    return Principal(account_id=str(claims["sub"]), roles=tuple(roles), tenant=tenant, jti=claims["jti"],
                     expires_at=float(claims["exp"])), claims["exp"]
