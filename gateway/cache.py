"""Local copies the gateway reads instead of calling a service: tenants (public config), deactivated accounts and
signed-out tokens, and the names of accounts that apply (a name is not in the token).

Filled by one snapshot RPC at start, then kept fresh by broadcast events, so each gateway process answers tenant
reads without an RPC and sees a region's change within a second. A region's rendered answer goes to the gateway's
one store of rendered answers (``gateway.rendered``).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gateway.rendered import RenderedCache
from gateway.rendered import answers as rendered_answers


class TenantCache:
    def __init__(self, rendered: RenderedCache | None = None):
        self._tenants: dict[str, dict[str, Any]] = {}
        self._changed_since_subscribe: set[str] = set()
        self.deactivated: set[str] = set()
        self.revoked: dict[str, float] = {}  # signed-out tokens' jti → when the token expires anyway
        self._pruned_at = 0.0
        self.ready = threading.Event()
        self._rendered = rendered if rendered is not None else RenderedCache()

    def put(self, tenant: dict[str, Any]) -> None:
        """Apply a tenant as an event (or this gateway's own write) carries it: newest wins."""
        self._tenants[tenant["slug"]] = tenant
        self._changed_since_subscribe.add(tenant["slug"])
        # every answer of the region: its own, and catalogue lists that read its menu
        self._rendered.drop(tenant["slug"])

    def load_snapshot(self, tenants: list[dict[str, Any]], deactivated: list[str],
                      revoked: list[dict[str, Any]] = ()) -> None:
        # events that arrived while the snapshot was in flight are newer than it: keep them
        for tenant in tenants:
            if tenant["slug"] not in self._changed_since_subscribe:
                self._tenants[tenant["slug"]] = tenant
        self.deactivated.update(deactivated)
        for token in revoked:
            self.revoke(token["jti"], token["expires_at"])
        self.ready.set()

    # -- who may no longer act ------------------------------------------------------------------------------------
    def revoke(self, jti: str, expires_at: float) -> None:
        """A token signed out (here, or on another gateway: the event); forgotten once it would have expired."""
        now = time.time()
        if now - self._pruned_at > 60:
            self.revoked = {j: at for j, at in self.revoked.items() if at > now}
            self._pruned_at = now
        if expires_at > now:
            self.revoked[jti] = expires_at

    def refuses(self, principal) -> bool:
        """Whether a valid token's holder may no longer act: the account was deactivated or the token signed out."""
        return principal.account_id in self.deactivated or principal.jti in self.revoked

    def get(self, slug: str) -> dict[str, Any] | None:
        tenant = self._tenants.get(slug)
        return tenant if tenant and tenant.get("status", "active") == "active" else None

    def rendered(self, slug: str, lang: str) -> bytes | None:
        return self._rendered.get(slug, ("tenant", lang))

    def keep_rendered(self, slug: str, lang: str, body: bytes) -> None:
        self._rendered.put(slug, ("tenant", lang), body)

    def summaries(self) -> list[dict[str, Any]]:
        return [{k: t[k] for k in ("slug", "name", "region_code", "kind")}
                for _, t in sorted(self._tenants.items()) if t.get("status", "active") == "active"]


class AccountNames:
    """Full names by account id, asked of the tenants service once per process (an application keeps its
    applicant's name); bounded, least recently used first out. A name never changes once registered."""

    def __init__(self, size: int = 50_000):
        self.size = size
        self._names: OrderedDict[str, str] = OrderedDict()

    def get(self, account_id: str, fetch: Callable[[str], str]) -> str:
        name = self._names.pop(account_id, None)
        if name is None:
            name = fetch(account_id)
            if len(self._names) >= self.size:
                self._names.popitem(last=False)
        self._names[account_id] = name
        return name


tenants = TenantCache(rendered=rendered_answers)
names = AccountNames()
