"""Local copies the gateway reads instead of calling a service: tenants (public config) and deactivated accounts.

Filled by one snapshot RPC at start, then kept fresh by broadcast events, so each gateway process answers tenant
reads without an RPC and sees a region's change within a second.
"""
from __future__ import annotations

import threading
from typing import Any


class TenantCache:
    def __init__(self):
        self._tenants: dict[str, dict[str, Any]] = {}
        self._changed_since_subscribe: set[str] = set()
        self.deactivated: set[str] = set()
        self.ready = threading.Event()
        self._rendered: dict[tuple[str, str], bytes] = {}  # (slug, language) → the JSON a read answers

    def put(self, tenant: dict[str, Any]) -> None:
        """Apply a tenant as an event (or this gateway's own write) carries it: newest wins."""
        self._tenants[tenant["slug"]] = tenant
        self._changed_since_subscribe.add(tenant["slug"])
        self._rendered = {k: v for k, v in self._rendered.items() if k[0] != tenant["slug"]}

    def load_snapshot(self, tenants: list[dict[str, Any]], deactivated: list[str]) -> None:
        # events that arrived while the snapshot was in flight are newer than it: keep them
        for tenant in tenants:
            if tenant["slug"] not in self._changed_since_subscribe:
                self._tenants[tenant["slug"]] = tenant
        self.deactivated.update(deactivated)
        self.ready.set()

    def get(self, slug: str) -> dict[str, Any] | None:
        tenant = self._tenants.get(slug)
        return tenant if tenant and tenant.get("status", "active") == "active" else None

    def rendered(self, slug: str, lang: str) -> bytes | None:
        return self._rendered.get((slug, lang))

    def keep_rendered(self, slug: str, lang: str, body: bytes) -> None:
        self._rendered[(slug, lang)] = body

    def summaries(self) -> list[dict[str, Any]]:
        return [{k: t[k] for k in ("slug", "name", "region_code", "kind")}
                for _, t in sorted(self._tenants.items()) if t.get("status", "active") == "active"]


tenants = TenantCache()
