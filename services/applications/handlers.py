"""Use cases of the applications service."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mppi.contracts.events import ServiceArchived, ServicePublished
from mppi.runtime.database import UnitOfWork, utcnow
from services.applications import orm

UowFactory = Callable[[], UnitOfWork]
V, OPEN = orm.service_versions, orm.open_services


def keep_published_version(event: ServicePublished, *, handler: str, uow: UowFactory) -> bool:
    """Store the published version (never overwriting one already kept) and open it for new applications."""
    s = event.service
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        key = (V.c.tenant == event.tenant) & (V.c.service_id == s["id"]) & (V.c.version == s["version"])
        if u.execute(sa.select(V.c.version).where(key)).first() is None:
            u.execute(V.insert().values(tenant=event.tenant, service_id=s["id"], version=s["version"], code=s["code"],
                                        definition=s, received_at=utcnow()))
        is_this = (OPEN.c.tenant == event.tenant) & (OPEN.c.service_id == s["id"])
        current = u.execute(sa.select(OPEN.c.version).where(is_this)).first()
        if current is None:
            u.execute(OPEN.insert().values(tenant=event.tenant, service_id=s["id"], version=s["version"]))
        elif current.version <= s["version"]:
            u.execute(OPEN.update().where(OPEN.c.tenant == event.tenant, OPEN.c.service_id == s["id"])
                      .values(version=s["version"]))
        u.commit()
    return True


def close_service(event: ServiceArchived, *, handler: str, uow: UowFactory) -> bool:
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        u.execute(OPEN.delete().where(OPEN.c.tenant == event.tenant, OPEN.c.service_id == event.service_id))
        u.commit()
    return True


def get_service_version(tenant: str, service_id: str, version: int | None, *, uow: UowFactory) -> dict[str, Any] | None:
    """A kept version; with ``version=None`` the one open for new applications."""
    with uow() as u:
        if version is None:
            row = u.execute(sa.select(OPEN.c.version)
                            .where(OPEN.c.tenant == tenant, OPEN.c.service_id == service_id)).first()
            if row is None:
                return None
            version = row.version
        row = u.execute(sa.select(V.c.definition).where(V.c.tenant == tenant, V.c.service_id == service_id,
                                                        V.c.version == version)).first()
        return row.definition if row else None
