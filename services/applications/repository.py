"""Load and save applications (with their append-only history) and kept service versions."""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mppi.runtime.database import UnitOfWork
from services.applications import orm
from services.applications.domain.application import Application, Transition

A, H, V, OPEN, S = orm.applications, orm.history, orm.service_versions, orm.open_services, orm.surveys

_COLUMNS = ("tenant", "id", "tracking_number", "service", "workflow", "applicant_id", "applicant_name", "form",
            "documents", "status", "step", "status_before_revision", "submitted_at", "updated_at", "sla_due_at",
            "paused_at", "breached_at", "output")


# the statements of a submission, built once (building a statement costs more than executing a cached one)
_OPEN_VERSION = sa.select(OPEN.c.version).where(OPEN.c.tenant == sa.bindparam("tenant"),
                                                OPEN.c.service_id == sa.bindparam("service_id"))
_INSERT_APPLICATION = A.insert()
_INSERT_HISTORY = H.insert()


def open_version(uow: UnitOfWork, tenant: str, service_id: str) -> dict[str, Any] | None:
    """The definition of the service's version open for applications (read-only: it is shared from a cache)."""
    row = uow.execute(_OPEN_VERSION, {"tenant": tenant, "service_id": service_id}).first()
    return None if row is None else version(uow, tenant, service_id, row.version)


_VERSIONS: OrderedDict[tuple[str, str, int], dict[str, Any]] = OrderedDict()
_VERSIONS_KEPT = 4096


def version(uow: UnitOfWork, tenant: str, service_id: str, number: int) -> dict[str, Any] | None:
    """A published version's definition. A version never changes once published, so the most used are kept in
    memory (read-only: callers share them)."""
    key = (tenant, service_id, number)
    found = _VERSIONS.get(key)
    if found is not None:
        _VERSIONS.move_to_end(key)
        return found
    found = uow.execute(sa.select(V.c.definition).where(V.c.tenant == tenant, V.c.service_id == service_id,
                                                        V.c.version == number)).scalar()
    if found is not None:
        _VERSIONS[key] = found
        if len(_VERSIONS) > _VERSIONS_KEPT:
            _VERSIONS.popitem(last=False)
    return found


def service_known(uow: UnitOfWork, tenant: str, service_id: str) -> bool:
    return uow.execute(sa.select(V.c.version).where(V.c.tenant == tenant, V.c.service_id == service_id)
                       .limit(1)).first() is not None


def _app(row, history: list | None = None) -> Application:
    return Application(**{k: getattr(row, k) for k in _COLUMNS}, history=history or [])


def get(uow: UnitOfWork, tenant: str, app_id: str, *, for_update: bool = False,
        with_history: bool = True) -> Application | None:
    q = sa.select(A).where(A.c.tenant == tenant, A.c.id == app_id)
    if for_update:
        q = q.with_for_update()
    row = uow.execute(q).first()
    if row is None:
        return None
    history = []
    if with_history:
        rows = uow.execute(sa.select(H).where(H.c.tenant == tenant, H.c.application_id == app_id).order_by(H.c.seq))
        history = [Transition(at=r.at, action=r.action, from_status=r.from_status, to_status=r.to_status,
                              from_step=r.from_step, to_step=r.to_step, actor_role=r.actor_role,
                              actor_id=r.actor_id, note=r.note) for r in rows]
    return _app(row, history)


def get_by_tracking(uow: UnitOfWork, tracking_number: str) -> Application | None:
    row = uow.execute(sa.select(A).where(A.c.tracking_number == tracking_number)).first()
    return _app(row) if row else None


def add(uow: UnitOfWork, app: Application) -> None:
    values = {k: getattr(app, k) for k in _COLUMNS}
    uow.execute(_INSERT_APPLICATION, {**values, "service_id": app.service["id"],
                                      "service_version": app.service["version"]})
    _append_history(uow, app)


def save(uow: UnitOfWork, app: Application, *, completed_at: datetime | None = None) -> None:
    values = {k: getattr(app, k) for k in _COLUMNS if k not in ("tenant", "id", "tracking_number", "submitted_at")}
    if completed_at:
        values["completed_at"] = completed_at
    uow.execute(A.update().where(A.c.tenant == app.tenant, A.c.id == app.id).values(**values))
    _append_history(uow, app)


def _append_history(uow: UnitOfWork, app: Application) -> None:
    first = len(app.history) - len(app.new_history)
    rows = [{"tenant": app.tenant, "application_id": app.id, "seq": first + i, "at": t.at, "action": t.action,
             "from_status": t.from_status, "to_status": t.to_status, "from_step": t.from_step, "to_step": t.to_step,
             "actor_role": t.actor_role, "actor_id": t.actor_id, "note": t.note} for i, t in enumerate(app.new_history)]
    if rows:
        uow.execute(_INSERT_HISTORY, rows)
    app.new_history.clear()


# the first inbox page, the staff's most frequent read, built once
_INBOX = (sa.select(A.c.tenant, A.c.id, A.c.tracking_number, A.c.service, A.c.status, A.c.step, A.c.submitted_at,
                    A.c.sla_due_at, A.c.applicant_name)
          .where(A.c.tenant == sa.bindparam("tenant"), A.c.status.in_(sa.bindparam("statuses", expanding=True)))
          .order_by(A.c.sla_due_at, A.c.id).limit(sa.bindparam("limit", type_=sa.Integer)))


def inbox(uow: UnitOfWork, tenant: str, *, statuses: list[str], service_id: str | None, limit: int,
          after: tuple[datetime, str] | None) -> list:
    """The region's applications in the given statuses, earliest due first (the index leads with tenant)."""
    q = _INBOX
    if service_id:
        q = q.where(A.c.service_id == service_id)
    if after:
        q = q.where(sa.tuple_(A.c.sla_due_at, A.c.id) > sa.tuple_(*after))
    return uow.execute(q, {"tenant": tenant, "statuses": statuses, "limit": limit}).all()



def has_survey(uow: UnitOfWork, tenant: str, app_id: str) -> bool:
    return uow.execute(sa.select(S.c.application_id).where(S.c.tenant == tenant, S.c.application_id == app_id)
                       ).first() is not None


def of_applicant(uow: UnitOfWork, applicant_id: str, *, limit: int, after: tuple[datetime, str] | None) -> list:
    q = (sa.select(A.c.tenant, A.c.id, A.c.tracking_number, A.c.service, A.c.status, A.c.step, A.c.submitted_at,
                   A.c.sla_due_at)
         .where(A.c.applicant_id == applicant_id)
         .order_by(A.c.submitted_at.desc(), A.c.id.desc()).limit(limit))
    if after:
        q = q.where(sa.tuple_(A.c.submitted_at, A.c.id) < sa.tuple_(*after))
    return uow.execute(q).all()


def overdue(uow: UnitOfWork, now: datetime, *, limit: int) -> list[tuple[str, str]]:
    rows = uow.execute(sa.select(A.c.tenant, A.c.id).where(
        A.c.breached_at.is_(None), A.c.sla_due_at < now,
        A.c.status.in_(("submitted", "in_review", "approved"))).order_by(A.c.sla_due_at).limit(limit))
    return [(r.tenant, r.id) for r in rows]
