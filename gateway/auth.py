"""Who is calling, checked locally from the token, and what they may do in a tenant (404 outside it, 403 inside)."""
from __future__ import annotations

from collections.abc import Callable

from mppi.contracts.errors import Forbidden, NotFound, Unauthenticated
from mppi.runtime import tokens
from mppi.runtime.tokens import Principal


def authenticate(header: str | None, secret: bytes, refuses: Callable[[Principal], bool]) -> Principal | None:
    """None when no credentials were sent; Unauthenticated for anything sent that is not a valid token, or one whose
    holder may no longer act (``refuses``: a deactivated account, a signed-out token)."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use Authorization: Bearer <token>")
    principal = tokens.verify(secret, token.strip())
    if principal is None or refuses(principal):
        raise Unauthenticated("the token is invalid or expired")
    return principal


def require(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in first")
    return principal


def require_staff(principal: Principal | None, tenant: str, roles: tuple[str, ...] = ("tenant_admin",)) -> Principal:
    """Staff of ``tenant`` with one of ``roles``, or a platform admin."""
    p = require(principal)
    if p.is_platform_admin:
        return p
    if p.tenant is None:
        raise Forbidden("this needs a staff role in the region")
    if p.tenant != tenant:
        raise NotFound("not found")  # never reveal another region's resources
    if not p.has_any(*roles):
        raise Forbidden(f"this needs one of the roles {', '.join(roles)}")
    return p


def require_platform_admin(principal: Principal | None) -> Principal:
    p = require(principal)
    if not p.is_platform_admin:
        raise Forbidden("this needs the platform_admin role")
    return p
