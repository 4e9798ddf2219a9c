"""Load and save services with their latest and published versions through a unit of work's connection."""
from __future__ import annotations

import sqlalchemy as sa

from mppi.runtime.database import UnitOfWork, utcnow
from services.catalog import orm
from services.catalog.domain.service import Service, Version

S, V = orm.services, orm.service_versions


def _version(row) -> Version:
    return Version(number=row.version, state=row.state, definition=row.definition)


def get(uow: UnitOfWork, tenant: str, service_id: str, *, for_update: bool = False) -> Service | None:
    q = sa.select(S).where(S.c.tenant == tenant, S.c.id == service_id)
    if for_update:
        q = q.with_for_update()
    row = uow.execute(q).first()
    if row is None:
        return None
    wanted = {row.latest_version, row.published_version} - {None}
    versions = {r.version: _version(r) for r in uow.execute(
        sa.select(V).where(V.c.tenant == tenant, V.c.service_id == service_id, V.c.version.in_(wanted)))}
    return Service(tenant=row.tenant, id=row.id, code=row.code, status=row.status, template_code=row.template_code,
                   latest=versions[row.latest_version],
                   published=versions.get(row.published_version) if row.published_version else None)


def get_version(uow: UnitOfWork, tenant: str, service_id: str, number: int) -> Version | None:
    row = uow.execute(sa.select(V).where(V.c.tenant == tenant, V.c.service_id == service_id,
                                         V.c.version == number)).first()
    return _version(row) if row else None


def code_taken(uow: UnitOfWork, tenant: str, code: str) -> bool:
    return uow.execute(sa.select(S.c.id).where(S.c.tenant == tenant, S.c.code == code)).first() is not None


def add(uow: UnitOfWork, service: Service) -> None:
    now = utcnow()
    uow.execute(S.insert().values(
        tenant=service.tenant, id=service.id, code=service.code, template_code=service.template_code,
        status=service.status, latest_version=service.latest.number, published_version=None,
        category=service.category, created_at=now, updated_at=now))
    _save_versions(uow, service)


def save(uow: UnitOfWork, service: Service) -> None:
    uow.execute(S.update().where(S.c.tenant == service.tenant, S.c.id == service.id).values(
        status=service.status, latest_version=service.latest.number,
        published_version=service.published.number if service.published else None,
        category=service.category, updated_at=utcnow()))
    _save_versions(uow, service)


def _save_versions(uow: UnitOfWork, service: Service) -> None:
    for v in {id(v): v for v in (service.latest, service.published) if v is not None}.values():
        if v.new:
            uow.execute(V.insert().values(tenant=service.tenant, service_id=service.id, version=v.number,
                                          state=v.state, definition=v.definition, created_at=utcnow(),
                                          published_at=utcnow() if v.state == "published" else None))
        elif v.state == "superseded":
            uow.execute(V.update().where(V.c.tenant == service.tenant, V.c.service_id == service.id,
                                         V.c.version == v.number).values(state="superseded"))
        elif v.dirty:
            # a version's definition may change only while it is a draft: published versions are frozen
            values = {"state": v.state, "definition": v.definition}
            if v.state == "published":
                values["published_at"] = utcnow()
            changed = uow.execute(V.update().where(
                V.c.tenant == service.tenant, V.c.service_id == service.id, V.c.version == v.number,
                V.c.state == "draft").values(**values)).rowcount
            if changed != 1:
                raise RuntimeError(f"version {v.number} of {service.id} is not a draft and cannot change")
        v.new = v.dirty = False


def list_for_tenant(uow: UnitOfWork, tenant: str, *, status: str | None, limit: int,
                    after: str | None) -> list[Service]:
    q = sa.select(S.c.id).where(S.c.tenant == tenant).order_by(S.c.id).limit(limit)
    if status:
        q = q.where(S.c.status == status)
    if after:
        q = q.where(S.c.id > after)
    return [get(uow, tenant, sid) for (sid,) in uow.execute(q)]


def published_page(uow: UnitOfWork, *, after: tuple[str, str] | None, limit: int) -> list[tuple[Service, Version]]:
    """Published services of every tenant in (tenant, id) order, for the caches of the gateway and applications."""
    q = (sa.select(S, V.c.definition).join(V, sa.and_(V.c.tenant == S.c.tenant, V.c.service_id == S.c.id,
                                                      V.c.version == S.c.published_version))
         .where(S.c.status == "published").order_by(S.c.tenant, S.c.id).limit(limit))
    if after:
        q = q.where(sa.tuple_(S.c.tenant, S.c.id) > sa.tuple_(*after))
    out = []
    for row in uow.execute(q):
        version = Version(number=row.published_version, state="published", definition=row.definition)
        out.append((Service(tenant=row.tenant, id=row.id, code=row.code, status=row.status,
                            template_code=row.template_code, latest=version, published=version), version))
    return out
