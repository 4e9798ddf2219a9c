"""Use cases of the notifications service: who hears about what, the in-app inbox, and sending what leaves."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mppi.contracts.common import decode_cursor, encode_cursor
from mppi.contracts.errors import NotFound
from mppi.contracts.events import (
    AccountCreated,
    AccountDeactivated,
    ApplicationCompleted,
    ApplicationEvent,
    ApplicationSlaBreached,
    ApplicationStatusChanged,
    ApplicationSubmitted,
    SignInFailuresRepeated,
    TenantCreated,
    TenantUpdated,
)
from mppi.runtime.database import UnitOfWork, new_id, utcnow
from services.notifications import channels, orm, subscriptions, templates
from services.notifications.dependencies import Mailer

UowFactory = Callable[[], UnitOfWork]
C, N, D, T = orm.contacts, orm.notifications, orm.deliveries, orm.tenant_directory
OVR = orm.template_overrides
MAX_ATTEMPTS = 8
STUCK_AFTER = timedelta(minutes=10)


# -- directories --------------------------------------------------------------------------------------------------

def record_tenant(event: TenantCreated | TenantUpdated, *, handler: str, uow: UowFactory) -> bool:
    """Keep the tenant's name and timezone; False when this event was already processed (a redelivery)."""
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        values = {"name": event.data["name"], "timezone": event.data["timezone"], "updated_at": utcnow()}
        if not u.execute(T.update().where(T.c.tenant == event.tenant).values(**values)).rowcount:
            u.execute(T.insert().values(tenant=event.tenant, **values))
        u.commit()
    return True


def record_contact(event: AccountCreated, *, handler: str, uow: UowFactory) -> bool:
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        values = {"tenant": event.tenant, "roles": event.roles, "email": event.email, "phone": event.phone,
                  "full_name": event.full_name, "language": event.language, "active": True}
        if not u.execute(C.update().where(C.c.account_id == event.account_id).values(**values)).rowcount:
            u.execute(C.insert().values(account_id=event.account_id, **values))
        u.commit()
    return True


def deactivate_contact(event: AccountDeactivated, *, handler: str, uow: UowFactory) -> bool:
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        u.execute(C.update().where(C.c.account_id == event.account_id).values(active=False))
        u.commit()
    return True


# -- who hears what -----------------------------------------------------------------------------------------------

def _recipients(event: ApplicationEvent, people: dict[str, Any]) -> list[tuple[str, str]]:
    """(account id, message type) pairs for an application event; ``people``: the applicant and the region's
    active staff, by account id."""
    data = event.data
    staff_roles = set(data.get("step_roles") or [])

    def staff(roles: set[str]) -> list[str]:
        return [a for a, p in people.items() if p.tenant == event.tenant and p.active and roles & set(p.roles or ())]

    if isinstance(event, ApplicationSubmitted):
        return [(data["applicant_id"], "application_submitted")] + [(a, "work_assigned") for a in staff(staff_roles)]
    if isinstance(event, ApplicationStatusChanged):
        out = [(data["applicant_id"], "application_status_changed")]
        if data.get("action") in ("verify", "approve", "resubmit") and staff_roles:
            out += [(a, "work_assigned") for a in staff(staff_roles)]
        if data.get("status") == "rejected":  # an ended application is surveyed too, not only a completed one
            out.append((data["applicant_id"], "survey_invitation"))
        return out
    if isinstance(event, ApplicationCompleted):
        return [(data["applicant_id"], "survey_invitation")]
    if isinstance(event, ApplicationSlaBreached):
        return [(a, "sla_breached") for a in staff(staff_roles | {"tenant_admin"})]
    return []


def _note_key(event: ApplicationEvent, type_: str) -> str:
    """The event id a notification is kept under (one per person and key): the event's own, except for the survey
    invitation a rejection brings along with its status change, which is a second message from the same event."""
    if type_ == "survey_invitation" and not isinstance(event, ApplicationCompleted):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mppi:{event.event_id}/survey_invitation"))
    return event.event_id


# the statements of every application event, built once (building a statement costs more than executing it cached)
_PEOPLE = sa.select(C).where(sa.or_(C.c.account_id == sa.bindparam("applicant"),
                                   sa.and_(C.c.tenant == sa.bindparam("tenant"), C.c.active.is_(True))))
_REGION = (sa.select(T.c.name, T.c.timezone, channels.TC.c.config)
           .select_from(T.outerjoin(channels.TC, channels.TC.c.tenant == T.c.tenant))
           .where(T.c.tenant == sa.bindparam("tenant")))
_INSERT_NOTIFICATIONS, _INSERT_DELIVERIES = N.insert(), D.insert()


def _people(u: UnitOfWork, event: ApplicationEvent) -> dict[str, Any]:
    """The applicant and the region's active staff, by account id, in one query."""
    rows = u.execute(_PEOPLE, {"applicant": event.data["applicant_id"], "tenant": event.tenant})
    return {r.account_id: r for r in rows}


def _params(u: UnitOfWork, event: ApplicationEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """The message parameters and the region's channel configuration, in one query."""
    d = event.data
    tenant = u.execute(_REGION, {"tenant": event.tenant}).first()
    if tenant is None:  # the region's own event has not reached us yet
        config = channels.config_of(u, event.tenant)
    else:
        config = tenant.config if tenant.config is not None else channels.DEFAULT
    due = d.get("sla_due_at")
    if due and tenant:
        due = f"{datetime.fromisoformat(due).astimezone(ZoneInfo(tenant.timezone)):%d-%m-%Y %H:%M}"
    return {"tracking_number": d["tracking_number"], "service_name": d.get("service_name"),
            "tenant_name": tenant.name if tenant else event.tenant, "status": d["status"], "step": d.get("step"),
            "note": d.get("note"), "sla_due": due or ""}, config


def notify(event: ApplicationEvent, *, handler: str, uow: UowFactory, webhook_event: dict | None = None) -> list[str]:
    """Write one in-app notification per recipient, a pending delivery per outside channel and, for
    ``webhook_event`` (its CloudEvent), one per active webhook of the region; the ids of the deliveries to send now.
    A redelivered event writes nothing (its id was claimed)."""
    now = utcnow()
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return []
        params, config = _params(u, event)
        outside = channels.enabled(config)
        contacts = _people(u, event)
        recipients = _recipients(event, contacts)
        notes, sends = [], []
        for account_id, type_ in recipients:
            nid = new_id()
            notes.append({"id": nid, "account_id": account_id, "tenant": event.tenant, "type": type_,
                          "application_id": event.data["application_id"], "params": params,
                          "event_id": _note_key(event, type_), "created_at": now})
            contact = contacts.get(account_id)
            if contact is None or not contact.active:
                continue
            for channel in outside:
                if (channel == "email" and contact.email) or (channel != "email" and contact.phone):
                    sends.append({"id": new_id(), "notification_id": nid, "channel": channel, "status": "pending",
                                  "next_attempt_at": now})
        if notes:  # one statement each, however many recipients
            u.execute(_INSERT_NOTIFICATIONS, notes)
        if sends:
            u.execute(_INSERT_DELIVERIES, sends)
        deliveries = [d["id"] for d in sends]
        if webhook_event is not None:
            deliveries += subscriptions.enqueue_in(u, event.tenant, webhook_event, now)
        u.commit()
    return deliveries


def warn_of_sign_in_failures(event: SignInFailuresRepeated, *, handler: str, uow: UowFactory) -> list[str]:
    """Tell an account's holder its password was tried wrong again and again: in the inbox, and by e-mail whatever
    the region's channels (it is the holder's own safety, and costs the region nothing); the deliveries to send."""
    now = utcnow()
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return []
        contact = u.execute(sa.select(C.c.email, C.c.active).where(C.c.account_id == event.account_id)).first()
        nid = new_id()
        u.execute(N.insert().values(id=nid, account_id=event.account_id, tenant=event.tenant or "",
                                    type="sign_in_failures", event_id=event.event_id, created_at=now,
                                    params={"failures": event.failures,
                                            "minutes": max(1, round(event.window_seconds / 60))}))
        sends = []
        if contact is not None and contact.active and contact.email:
            sends.append(new_id())
            u.execute(D.insert().values(id=sends[0], notification_id=nid, channel="email", status="pending",
                                        next_attempt_at=now))
        u.commit()
    return sends


# -- sending ------------------------------------------------------------------------------------------------------

SEND_BATCH = 100
_rescued_at: list[datetime] = []  # when this process last gave stuck deliveries back


def _due_for_rescue(now: datetime) -> bool:
    """At most once a minute per process: a stuck delivery waits STUCK_AFTER anyway."""
    if _rescued_at and now - _rescued_at[0] < timedelta(minutes=1):
        return False
    _rescued_at[:] = [now]
    return True


def send_due(*, uow: UowFactory, mailer: Mailer, limit: int = SEND_BATCH, allow_private: bool = False) -> int:
    """Send the pending deliveries that are due, oldest first; how many were tried. They are claimed (status
    sending) in one transaction before anything leaves, so two workers never send the same message; results are
    written in one more; the emails of a round share one SMTP connection."""
    now = utcnow()
    with uow() as u:
        if _due_for_rescue(now):  # a worker that died mid-send left some behind
            u.execute(D.update().where(D.c.status == "sending", D.c.next_attempt_at < now - STUCK_AFTER)
                      .values(status="pending"))
        q = sa.select(D.c.id).where(D.c.status == "pending", D.c.next_attempt_at <= now)
        due = [r.id for r in u.execute(q.order_by(D.c.next_attempt_at).limit(limit))]
        claimed = [r.id for r in u.execute(D.update().where(D.c.id.in_(due), D.c.status == "pending")
                                           .values(status="sending", next_attempt_at=now).returning(D.c.id))]
        rows = u.execute(sa.select(D, N.c.type, N.c.tenant, N.c.params, C.c.email, C.c.phone, C.c.language)
                         .join(N, N.c.id == D.c.notification_id).join(C, C.c.account_id == N.c.account_id)
                         .where(D.c.id.in_(claimed))).all() if claimed else []
        tenants = {r.tenant for r in rows}
        overrides = {t: _overrides(u, t) for t in tenants}
        configs = {t: channels.config_of(u, t) for t in tenants}
        u.commit()
    with mailer.session():
        retry = {row.id: _send(row, overrides[row.tenant], configs[row.tenant], mailer=mailer,
                               allow_private=allow_private) for row in rows}
    sent = [did for did, values in retry.items() if values is None]
    if rows:
        with uow() as u:
            if sent:  # one statement for every message that left
                u.execute(D.update().where(D.c.id.in_(sent))
                          .values(status="sent", sent_at=utcnow(), attempts=D.c.attempts + 1, last_error=None))
            for did, values in retry.items():
                if values is not None:
                    u.execute(D.update().where(D.c.id == did).values(**values))
            u.commit()
    return len(rows)


def _send(row, overrides: dict, config: dict, *, mailer: Mailer, allow_private: bool) -> dict[str, Any] | None:
    """Send one delivery: None when it left, else the values its row gets (back off and retry, or give up)."""
    title, body = templates.render(row.type, row.language, row.params, overrides)
    try:
        if row.channel == "email":
            mailer.send(to=row.email, subject=title, body=body, message_id=row.id)
        elif not config.get(row.channel):
            raise RuntimeError(f"the region no longer has a {row.channel} provider")
        else:
            channels.send_by_provider(config[row.channel], to=_msisdn(row.phone), text=f"{title}\n{body}",
                                      message_id=row.id, allow_private=allow_private)
        return None
    except Exception as exc:  # the server or provider refused or is away: back off and retry
        attempts = row.attempts + 1
        return {"attempts": attempts, "last_error": str(exc)[:500],
                "status": "failed" if attempts >= MAX_ATTEMPTS else "pending",
                "next_attempt_at": utcnow() + timedelta(seconds=min(3600, 15 * 2 ** attempts))}


def _msisdn(phone: str) -> str:
    """+62… as SMS gateways want it, from what the citizen registered (08…, 628…, +628…)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "+62" + digits[1:] if digits.startswith("0") else "+" + digits


def _overrides(u: UnitOfWork, tenant: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = u.execute(sa.select(OVR).where(OVR.c.tenant == tenant))
    return {(r.type, r.language): (r.title, r.body) for r in rows}


# -- the inbox ----------------------------------------------------------------------------------------------------

def list_notifications(account_id: str, *, lang: str, limit: int, cursor: str | None, uow: UowFactory) -> dict:
    after = decode_cursor(cursor)
    with uow() as u:
        q = (sa.select(N).where(N.c.account_id == account_id).order_by(N.c.created_at.desc(), N.c.id.desc())
             .limit(limit + 1))
        if after:
            q = q.where(sa.tuple_(N.c.created_at, N.c.id) < sa.tuple_(*after))
        rows = u.execute(q).all()
        overrides = {t: _overrides(u, t) for t in {r.tenant for r in rows}}
    items = []
    for r in rows[:limit]:
        title, body = templates.render(r.type, lang, r.params, overrides.get(r.tenant))
        items.append({"id": r.id, "type": r.type, "title": title, "body": body, "application_id": r.application_id,
                      "tenant": r.tenant, "created_at": r.created_at.isoformat(),
                      "read_at": r.read_at.isoformat() if r.read_at else None})
    last = rows[limit - 1] if len(rows) > limit else None
    return {"items": items, "next_cursor": encode_cursor(last.created_at, last.id) if last else None}


def mark_read(account_id: str, notification_id: str, *, uow: UowFactory) -> dict:
    with uow() as u:
        row = u.execute(sa.select(N.c.read_at).where(N.c.id == notification_id, N.c.account_id == account_id)).first()
        if row is None:
            raise NotFound("notification not found")
        if row.read_at is None:
            u.execute(N.update().where(N.c.id == notification_id).values(read_at=utcnow()))
            u.commit()
    return {"id": notification_id, "read": True}


def save_override(tenant: str, type_: str, language: str, title: str, body: str, *, uow: UowFactory) -> dict:
    templates.check_override(type_, language, title, body)
    with uow() as u:
        key = (OVR.c.tenant == tenant) & (OVR.c.type == type_) & (OVR.c.language == language)
        values = {"title": title, "body": body, "updated_at": utcnow()}
        if not u.execute(OVR.update().where(key).values(**values)).rowcount:
            u.execute(OVR.insert().values(tenant=tenant, type=type_, language=language, **values))
        u.commit()
    return {"type": type_, "language": language, "title": title, "body": body}
