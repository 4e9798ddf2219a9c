"""Contracts of the tenants service: regions as tenants, their configuration, agencies and accounts."""
from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Literal

import email_validator
from pydantic import AfterValidator, BaseModel, BeforeValidator, EmailStr, Field, StringConstraints, field_validator

from mppi.contracts.common import LocalizedText, RegionCode, Request, Slug

STAFF_ROLES = ("tenant_admin", "verifier", "approver", "operator")
ROLES = ("citizen", *STAFF_ROLES, "platform_admin")
TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
Role = Literal["citizen", "tenant_admin", "verifier", "approver", "operator", "platform_admin"]
StaffRole = Literal["tenant_admin", "verifier", "approver", "operator"]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


def _calendar_date(value: str) -> str:
    date.fromisoformat(value)  # 2026-02-30 or year 0 raise ValueError: a 422 here, not a 500 where it is read
    return value


Date = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_calendar_date)]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Branding(Request):
    display_name: Name | None = None
    primary_color: HexColor = "#0b5394"
    logo_url: Annotated[str, StringConstraints(max_length=500)] | None = None


class MenuEntry(Request):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]
    label: LocalizedText
    category: Annotated[str, StringConstraints(max_length=60)] | None = None
    service_ids: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(default=None, max_length=100)


class DashboardWidget(BaseModel):
    kind: Literal["announcement", "featured_services", "categories", "public_stats"]
    title: LocalizedText | None = None
    body: LocalizedText | None = None
    service_ids: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(default=None, max_length=50)

    model_config = {"extra": "forbid"}


class OfficeHours(Request):
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4], min_length=1, max_length=7)
    opens: HHMM = "08:00"
    closes: HHMM = "16:00"

    @field_validator("closes")
    @classmethod
    def _after_opening(cls, closes: str, info):
        opens = info.data.get("opens")
        if opens and closes <= opens:
            raise ValueError("closes must be after opens")
        return closes


class TenantCreate(Request):
    slug: Slug
    region_code: RegionCode
    name: Name | None = None
    timezone: Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"] | None = None


class TenantPatch(Request):
    """A partial update: a field left out stays as it is; a field sent must hold a value (null is refused)."""

    name: Name = None
    branding: Branding = None
    menu: list[MenuEntry] = Field(default=None, max_length=50)
    dashboard: list[DashboardWidget] = Field(default=None, max_length=30)
    holidays: list[Date] = Field(default=None, max_length=366)
    office_hours: OfficeHours = None


class TenantSummary(BaseModel):
    slug: str
    name: str
    region_code: str
    kind: Literal["kabupaten", "kota"]


class TenantPublic(TenantSummary):
    timezone: str
    status: str = "active"
    branding: dict
    menu: list[dict]
    dashboard: list[dict]
    office_hours: dict
    holidays: list[str]


def normalize_email(email: str) -> str:
    """The one form an e-mail address is stored, looked up and compared in: NFKC (full-width and other compatibility
    forms fold to their plain letters: ``ａｄｍｉｎ@…`` is ``admin@…``), lower case, and the domain in its ASCII
    (IDNA) form when it is a valid one. Anything can come in (a sign-in's username): what is not an address is only
    folded and lowered."""
    folded = unicodedata.normalize("NFKC", email).strip().lower()
    local, at, domain = folded.rpartition("@")
    if not at or domain.isascii():
        return folded
    try:
        domain = email_validator.validate_email(folded, check_deliverability=False).ascii_domain
    except email_validator.EmailNotValidError:
        return folded
    return f"{local}@{domain}"


def _plain_address(email: str) -> str:
    """After NFKC the part before the @ must be ASCII: a look-alike NFKC does not fold (Cyrillic а for Latin a,
    dotless ı, mixed scripts) would make a second account that reads like the first, and no rule short of ASCII
    tells every such pair apart. The domain may be an internationalised one: it is kept in its ASCII form
    (``xn--…``), in which a look-alike domain reads as what it is."""
    email = normalize_email(email)
    if not email.rpartition("@")[0].isascii():
        raise ValueError("the part before the @ must be plain Latin letters, digits and . _ % + - "
                         "(no look-alike characters)")
    if not email.isascii():
        raise ValueError("the domain is not a valid internationalised domain name")
    return email


def _nfkc(value):
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


# an address as accounts keep it: see normalize_email and _plain_address
Email = Annotated[EmailStr, BeforeValidator(_nfkc), AfterValidator(_plain_address)]


class Register(Request):
    nik: Annotated[str, StringConstraints(max_length=32)]
    full_name: Name
    email: Email
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{8,15}$")]
    password: Password
    language: Literal["id", "en"] = "id"  # of the messages the platform sends


class TokenRequest(Request):
    username: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class AccountPublic(BaseModel):
    id: str
    email: str
    roles: list[str]


class Me(AccountPublic):
    full_name: str
    tenant: str | None


class StaffCreate(Request):
    email: Email
    full_name: Name
    password: Password
    roles: list[StaffRole] = Field(min_length=1, max_length=4)


class StaffPublic(AccountPublic):
    full_name: str
    active: bool


class AgencyCreate(Request):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,30}$")]
    name: Name


class AgencyPublic(BaseModel):
    code: str
    name: str


