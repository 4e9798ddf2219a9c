"""Events the services publish (past tense), each with ``event_id``, ``tenant``, ``occurred_at`` and ``version``."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    type: ClassVar[str]
    source: ClassVar[str]

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    tenant: str | None
    occurred_at: datetime = Field(default_factory=_now)
    version: int = 1


class TenantCreated(Event):
    type: ClassVar[str] = "tenant_created"
    source: ClassVar[str] = "tenants"
    data: dict[str, Any]  # the public tenant, as GET /api/v1/tenants/{t} shows it


class TenantUpdated(Event):
    type: ClassVar[str] = "tenant_updated"
    source: ClassVar[str] = "tenants"
    data: dict[str, Any]


class AccountDeactivated(Event):
    type: ClassVar[str] = "account_deactivated"
    source: ClassVar[str] = "tenants"
    account_id: str


class TokenRevoked(Event):
    """A token was signed out before it expired: every gateway refuses it (by ``jti``) until ``expires_at``."""

    type: ClassVar[str] = "token_revoked"
    source: ClassVar[str] = "tenants"
    account_id: str
    jti: str
    expires_at: datetime


class SignInFailuresRepeated(Event):
    """An account had ``failures`` wrong passwords within ``window_seconds``: notifications tells its holder."""

    type: ClassVar[str] = "sign_in_failures_repeated"
    source: ClassVar[str] = "tenants"
    account_id: str
    failures: int
    window_seconds: int


class ServicePublished(Event):
    type: ClassVar[str] = "service_published"
    source: ClassVar[str] = "catalog"
    service: dict[str, Any]  # the published version in full, as GET /api/v1/tenants/{t}/services/{id} shows it


class ServiceArchived(Event):
    type: ClassVar[str] = "service_archived"
    source: ClassVar[str] = "catalog"
    service_id: str
    code: str


class ApplicationEvent(Event):
    source: ClassVar[str] = "applications"
    # {application_id, tracking_number, service_id, service_code, status, step, applicant_id, ...}: applicant_id is
    # an internal account id for notifications; the public feed keeps only what API.md lists
    data: dict[str, Any]


class ApplicationSubmitted(ApplicationEvent):
    type: ClassVar[str] = "application_submitted"


class ApplicationStatusChanged(ApplicationEvent):
    type: ClassVar[str] = "application_status_changed"


class ApplicationCompleted(ApplicationEvent):
    type: ClassVar[str] = "application_completed"


class ApplicationSlaBreached(ApplicationEvent):
    type: ClassVar[str] = "application_sla_breached"


class AccountCreated(Event):
    """An account exists: notifications keeps its contact (personal data stays inside the platform)."""

    type: ClassVar[str] = "account_created"
    source: ClassVar[str] = "tenants"
    account_id: str
    roles: list[str]
    email: str
    phone: str | None = None
    full_name: str
    language: str = "id"
