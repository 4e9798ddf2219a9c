"""Use cases of regional subscriptions: AMQP credentials on the public feed, webhooks with their delivery log."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mppi.contracts.errors import DependencyUnavailable, NotFound, ValidationFailed, field_error
from mppi.runtime.database import UnitOfWork, id_for_request, new_id, utcnow
from services.notifications import orm, sealed, webhooks
from services.notifications.broker_users import BrokerUsersError, username_for

UowFactory = Callable[[], UnitOfWork]
log = logging.getLogger(__name__)
S, WD, WA, C, N = (orm.subscriptions, orm.webhook_deliveries, orm.webhook_attempts, orm.contacts,
                   orm.notifications)


class BrokerUsers(Protocol):
    def create(self, tenant: str, subscription_id: str) -> dict: ...
    def reset_password(self, tenant: str, subscription_id: str) -> dict: ...
    def delete(self, username: str) -> None: ...
    def delete_made(self, tenant: str, queue_prefix: str) -> list[str]: ...
    def remove_feed(self, tenant: str) -> None: ...


@contextmanager
def _broker_answers() -> Iterator[None]:
    """The broker's management API failing (down, restarting, refusing) is a 503 to the caller, the cause logged."""
    try:
        yield
    except BrokerUsersError as exc:
        log.warning("broker management API: %s", exc)
        raise DependencyUnavailable("the message broker is not answering; try again shortly") from None


def create(tenant: str, payload: dict[str, Any], *, request_key: str, uow: UowFactory, broker: BrokerUsers,
           allow_private: bool) -> dict[str, Any]:
    """A subscription and what its subscriber needs, once. The same ``request_key`` again (a request delivered again
    because this service was killed before it answered, or a client's retry) answers with the subscription it made:
    a webhook's secret again, an AMQP user's password set anew (the first answer never arrived)."""
    kind = payload.get("kind")
    sid = id_for_request(tenant, "subscription", request_key)
    made = _made(tenant, sid, uow)
    if made is not None:
        return _answer_again(made, broker)
    now = utcnow()
    if kind == "amqp":
        with _broker_answers():
            creds = _new_user(tenant, sid, uow, broker)
        try:
            with uow() as u:
                u.execute(S.insert().values(id=sid, tenant=tenant, kind="amqp", status="active",
                                            username=creds["username"], queue_prefix=creds["queue_prefix"],
                                            created_at=now))
                u.commit()
        except IntegrityError:  # the same request, delivered twice at once, committed first: the user is its own
            return _answer_again(_made(tenant, sid, uow), broker)
        except BaseException:
            with _broker_answers():
                broker.delete(creds["username"])
            raise
        return {"id": sid, "kind": "amqp", "status": "active", "amqp": creds}
    if kind == "webhook":
        url = payload.get("url")
        if not isinstance(url, str) or len(url) > 2000:
            raise ValidationFailed("a webhook needs its url", [field_error(["body", "url"], "required")])
        try:
            webhooks.check_url(url, allow_private=allow_private)
        except webhooks.UrlRefused as exc:
            raise ValidationFailed(str(exc), [field_error(["body", "url"], str(exc))]) from None
        secret = webhooks.new_secret()
        try:
            with uow() as u:
                u.execute(S.insert().values(id=sid, tenant=tenant, kind="webhook", status="active", url=url,
                                            secret=sealed.seal(secret), created_at=now))
                u.commit()
        except IntegrityError:  # the same request, delivered twice at once, committed first
            return _answer_again(_made(tenant, sid, uow), broker)
        return {"id": sid, "kind": "webhook", "status": "active", "url": url, "secret": secret}
    raise ValidationFailed("kind is amqp or webhook", [field_error(["body", "kind"], "amqp or webhook")])


def _made(tenant: str, sid: str, uow: UowFactory):
    with uow() as u:
        return u.execute(sa.select(S).where(S.c.id == sid, S.c.tenant == tenant)).first()


def _new_user(tenant: str, sid: str, uow: UowFactory, broker: BrokerUsers) -> dict[str, Any]:
    """The broker user of a new AMQP subscription. One already there that no subscription owns was made by this
    very request before its service was killed: it is made again."""
    try:
        return broker.create(tenant, sid)
    except BrokerUsersError as exc:
        if exc.status != 409:
            raise
        username = username_for(tenant, sid)
        with uow() as u:
            owned = u.execute(sa.select(S.c.id).where(S.c.username == username)).first()
        if owned is not None:  # another subscription's user (their ids share the first 8 characters)
            raise
        broker.delete(username)
        return broker.create(tenant, sid)


def _answer_again(row, broker: BrokerUsers) -> dict[str, Any]:
    out = _public(row)
    if row.status != "active":
        return out
    if row.kind == "webhook":
        return {**out, "secret": sealed.unseal(row.secret)}
    with _broker_answers():
        return {**out, "amqp": broker.reset_password(row.tenant, row.id)}


def _public(row) -> dict[str, Any]:
    out = {"id": row.id, "kind": row.kind, "status": row.status, "created_at": row.created_at.isoformat()}
    if row.kind == "webhook":
        out["url"] = row.url
    else:
        out["amqp"] = {"username": row.username, "queue_prefix": row.queue_prefix, "exchange": "mppi.public",
                       "routing_key_prefix": f"{row.tenant}."}
    return out


def list_for(tenant: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        rows = u.execute(sa.select(S).where(S.c.tenant == tenant, S.c.status != "revoked")
                         .order_by(S.c.created_at)).all()
    return {"items": [_public(r) for r in rows], "next_cursor": None}


def revoke(tenant: str, subscription_id: str, *, uow: UowFactory, broker: BrokerUsers) -> None:
    with uow() as u:
        row = u.execute(sa.select(S).where(S.c.id == subscription_id, S.c.tenant == tenant)).first()
        if row is None or row.status == "revoked":
            raise NotFound("subscription not found")
        if row.kind == "amqp":
            others = u.execute(sa.select(sa.func.count()).select_from(S).where(
                S.c.tenant == tenant, S.c.kind == "amqp", S.c.status == "active", S.c.id != subscription_id)).scalar()
            with _broker_answers():
                broker.delete(row.username)  # the broker closes its connections (its exclusive queues go with them)
                broker.delete_made(tenant, row.queue_prefix)  # else its queues would go on collecting events
                if not others:  # the region's last AMQP subscriber: its feed vhost and shovel go too
                    broker.remove_feed(tenant)
        u.execute(S.update().where(S.c.id == subscription_id).values(status="revoked", disabled_at=utcnow()))
        u.commit()


def deliveries(tenant: str, subscription_id: str, *, uow: UowFactory, limit: int = 50) -> dict[str, Any]:
    with uow() as u:
        if u.execute(sa.select(S.c.id).where(S.c.id == subscription_id, S.c.tenant == tenant)).first() is None:
            raise NotFound("subscription not found")
        rows = u.execute(sa.select(WD).where(WD.c.subscription_id == subscription_id)
                         .order_by(WD.c.created_at.desc()).limit(limit)).all()
        attempts = {}
        if rows:
            for a in u.execute(sa.select(WA).where(WA.c.delivery_id.in_([r.id for r in rows])).order_by(WA.c.at)):
                attempts.setdefault(a.delivery_id, []).append(
                    {"at": a.at.isoformat(), "status_code": a.status_code, "error": a.error,
                     "duration_ms": a.duration_ms})
    return {"items": [{"id": r.id, "event_id": r.event_id, "status": r.status, "attempts": attempts.get(r.id, []),
                       "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                       "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None} for r in rows],
            "next_cursor": None}


# -- delivering ---------------------------------------------------------------------------------------------------

def enqueue(tenant: str, event: dict[str, Any], *, uow: UowFactory, now: datetime | None = None) -> list[str]:
    """One delivery per active webhook of the tenant, each in a transaction of its own: an event already queued for
    a webhook (a redelivery) is not queued again. For events not claimed once by their handler."""
    now = now or utcnow()
    ids = []
    with uow() as u:
        subs = _webhooks(u, tenant)
    for sub in subs:
        with uow() as u:
            try:
                ids += queue_for(u, [sub], event, now)
                u.commit()
            except IntegrityError:
                pass  # a redelivered event: its delivery exists
    return ids


def enqueue_in(u: UnitOfWork, tenant: str, event: dict[str, Any], now: datetime) -> list[str]:
    """One delivery per active webhook of the tenant, in the caller's transaction (which claimed the event once)."""
    return queue_for(u, _webhooks(u, tenant), event, now)


_ACTIVE_WEBHOOKS = sa.select(S.c.id).where(S.c.tenant == sa.bindparam("tenant"), S.c.kind == "webhook",
                                           S.c.status == "active")  # built once: it runs for every event


def _webhooks(u: UnitOfWork, tenant: str) -> list[str]:
    return [r.id for r in u.execute(_ACTIVE_WEBHOOKS, {"tenant": tenant})]


def queue_for(u: UnitOfWork, subs: list[str], event: dict[str, Any], now: datetime) -> list[str]:
    if not subs:
        return []
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    rows = [{"id": new_id(), "subscription_id": sub, "event_id": event["id"], "event": body, "status": "pending",
             "created_at": now, "next_attempt_at": now} for sub in subs]
    u.execute(WD.insert(), rows)
    return [r["id"] for r in rows]


DELIVER_BATCH = 50


def deliver_due(*, uow: UowFactory, now: datetime | None = None, allow_private: bool = False,
                limit: int = DELIVER_BATCH) -> int:
    """Try the deliveries that are due, oldest first; how many were taken. Each is claimed before it is sent so two
    workers never both send it."""
    now = now or utcnow()
    with uow() as u:
        q = sa.select(WD.c.id).where(WD.c.status == "pending", WD.c.next_attempt_at <= now)
        due = [r.id for r in u.execute(q.order_by(WD.c.next_attempt_at).limit(limit))]
    for did in due:
        with uow() as u:
            if not u.execute(WD.update().where(WD.c.id == did, WD.c.status == "pending")
                             .values(status="sending")).rowcount:
                continue
            u.commit()
            row = u.execute(sa.select(WD, S.c.url, S.c.secret, S.c.tenant, S.c.status.label("sub_status"))
                            .join(S, S.c.id == WD.c.subscription_id).where(WD.c.id == did)).one()
        if row.sub_status != "active":
            _finish(uow, did, {"status": "abandoned", "next_attempt_at": None})
            continue
        ok, code, error, ms = _post(row, now, allow_private)
        with uow() as u:
            u.execute(WA.insert().values(delivery_id=did, at=now, status_code=code, error=error, duration_ms=ms))
            attempts = row.attempts + 1
            if ok:
                values = {"status": "delivered", "attempts": attempts, "delivered_at": now, "next_attempt_at": None}
            else:
                values = {"status": "pending", "attempts": attempts,
                          "next_attempt_at": webhooks.next_attempt(attempts, now)}
            u.execute(WD.update().where(WD.c.id == did).values(**values))
            u.commit()
        if not ok:
            _maybe_disable(uow, row.subscription_id, row.tenant, now)
    return len(due)


def _finish(uow: UowFactory, did: str, values: dict) -> None:
    with uow() as u:
        u.execute(WD.update().where(WD.c.id == did).values(**values))
        u.commit()


def _post(row, now: datetime, allow_private: bool) -> tuple[bool, int | None, str | None, int]:
    started = time.monotonic()
    body = row.event.encode()
    try:  # the URL is checked again (DNS may have changed since), and the checked address is the one called
        r = webhooks.post(row.url, allow_private=allow_private, data=body,
                          headers=webhooks.headers(sealed.unseal(row.secret), row.event_id, body, now))
        ok = 200 <= r.status_code < 300
        return ok, r.status_code, None if ok else f"HTTP {r.status_code}", int((time.monotonic() - started) * 1000)
    except Exception as exc:  # refused, timed out, bad URL: an attempt that failed
        return False, None, str(exc)[:500], int((time.monotonic() - started) * 1000)


def _maybe_disable(uow: UowFactory, subscription_id: str, tenant: str, now: datetime) -> None:
    """Disable a webhook whose deliveries have all failed for 3 days, and tell the region's admins."""
    with uow() as u:
        last_ok = u.execute(sa.select(sa.func.max(WD.c.delivered_at)).where(WD.c.subscription_id == subscription_id)
                            ).scalar()
        first_fail = u.execute(sa.select(sa.func.min(WD.c.created_at)).where(
            WD.c.subscription_id == subscription_id, WD.c.status == "pending",
            *([WD.c.created_at > last_ok] if last_ok else []))).scalar()
        if first_fail is None or now - first_fail < webhooks.DISABLE_AFTER:
            return
        if not u.execute(S.update().where(S.c.id == subscription_id, S.c.status == "active")
                         .values(status="disabled", disabled_at=now)).rowcount:
            return
        u.execute(WD.update().where(WD.c.subscription_id == subscription_id, WD.c.status == "pending")
                  .values(status="abandoned", next_attempt_at=None))
        admins = [r.account_id for r in u.execute(sa.select(C.c.account_id, C.c.roles).where(C.c.tenant == tenant))
                  if "tenant_admin" in r.roles]
        for account in admins:
            u.execute(N.insert().values(id=new_id(), account_id=account, tenant=tenant, type="webhook_disabled",
                                        params={"subscription_id": subscription_id}, event_id=f"wh-{subscription_id}",
                                        created_at=now))
        u.commit()
