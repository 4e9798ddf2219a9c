"""Use cases of the notifications service."""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from mppi.contracts.events import TenantCreated, TenantUpdated
from mppi.runtime.database import UnitOfWork, utcnow
from services.notifications import orm


def record_tenant(event: TenantCreated | TenantUpdated, *, handler: str, uow: Callable[[], UnitOfWork]) -> bool:
    """Keep the tenant's name and timezone; False when this event was already processed (a redelivery)."""
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        d = orm.tenant_directory
        values = {"name": event.data["name"], "timezone": event.data["timezone"], "updated_at": utcnow()}
        updated = u.execute(d.update().where(d.c.tenant == event.tenant).values(**values)).rowcount
        if not updated:
            u.execute(d.insert().values(tenant=event.tenant, **values))
        u.commit()
    return True


def list_tenant_directory(*, uow: Callable[[], UnitOfWork]) -> list[dict]:
    with uow() as u:
        rows = u.execute(sa.select(orm.tenant_directory).order_by(orm.tenant_directory.c.tenant))
        return [{"tenant": r.tenant, "name": r.name, "timezone": r.timezone} for r in rows]
