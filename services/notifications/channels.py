"""The channels a region sends through besides the in-app inbox: email (SMTP) and SMS / WhatsApp through HTTP
providers the region configures (their tokens are kept here sealed, as ``token_sealed``, and never shown again)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mppi.contracts.applications import ChannelsConfig
from mppi.contracts.errors import ValidationFailed, field_error
from mppi.runtime.database import UnitOfWork, utcnow
from services.notifications import orm, sealed, webhooks

UowFactory = Callable[[], UnitOfWork]
TC = orm.tenant_channels
PHONE_CHANNELS = ("sms", "whatsapp")


DEFAULT = {"email": True}  # a region that configured nothing: email on, no SMS or WhatsApp


def config_of(u: UnitOfWork, tenant: str) -> dict[str, Any]:
    row = u.execute(sa.select(TC.c.config).where(TC.c.tenant == tenant)).first()
    return row.config if row else DEFAULT


def enabled(config: dict[str, Any]) -> list[str]:
    return (["email"] if config.get("email", True) else []) + [c for c in PHONE_CHANNELS if config.get(c)]


def public(config: dict[str, Any]) -> dict[str, Any]:
    out = {"email": config.get("email", True)}
    for c in PHONE_CHANNELS:
        p = config.get(c)
        out[c] = {"url": p["url"], "sender": p.get("sender"), "token": "••••" + _hint(p)} if p else None
    return out


def _hint(provider: dict[str, Any]) -> str:
    """The token's last four characters, by which an admin recognises it."""
    try:
        return sealed.unseal(provider["token_sealed"])[-4:]
    except sealed.Unreadable:
        return ""


def save(tenant: str, cmd: ChannelsConfig, *, uow: UowFactory, allow_private: webhooks.Allowance) -> dict[str, Any]:
    config = cmd.model_dump(mode="json")
    for c in PHONE_CHANNELS:
        if config.get(c):
            try:
                webhooks.check_url(config[c]["url"], allow_private=allow_private)
            except webhooks.UrlRefused as exc:
                raise ValidationFailed(str(exc), [field_error(["body", c, "url"], str(exc))]) from None
            config[c]["token_sealed"] = sealed.seal(config[c].pop("token"))
    with uow() as u:
        if not u.execute(TC.update().where(TC.c.tenant == tenant).values(config=config, updated_at=utcnow())).rowcount:
            u.execute(TC.insert().values(tenant=tenant, config=config, updated_at=utcnow()))
        u.commit()
    return public(config)


def get(tenant: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        return public(config_of(u, tenant))


def send_by_provider(provider: dict[str, Any], *, to: str, text: str, message_id: str,
                     allow_private: webhooks.Allowance) -> None:
    """POST the message to the region's provider (at the address checked: see ``webhooks.post``); anything but a
    2xx is a failure to retry."""
    token = sealed.unseal(provider["token_sealed"])
    r = webhooks.post(provider["url"], allow_private=allow_private,
                      json={"to": to, "text": text, "sender": provider.get("sender"), "id": message_id},
                      headers={"Authorization": f"Bearer {token}"})
    if not 200 <= r.status_code < 300:
        raise RuntimeError(f"the provider answered HTTP {r.status_code}")
