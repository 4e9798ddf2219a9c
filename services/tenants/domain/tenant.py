"""A tenant is a kabupaten or kota from the Kemendagri list, with the configuration its region shapes itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mppi.contracts.errors import UnknownRegion, field_error
from mppi.indonesia import regions


def default_menu() -> list[dict[str, Any]]:
    return [
        {"key": "beranda", "label": {"id": "Beranda", "en": "Home"}},
        {"key": "layanan", "label": {"id": "Semua layanan", "en": "All services"}},
        {"key": "lacak", "label": {"id": "Lacak permohonan", "en": "Track an application"}},
    ]


def default_dashboard() -> list[dict[str, Any]]:
    return [
        {"kind": "announcement", "title": {"id": "Selamat datang", "en": "Welcome"},
         "body": {"id": "Ajukan layanan publik daerah secara daring.", "en": "Apply for regional services online."}},
        {"kind": "featured_services", "service_ids": []},
        {"kind": "categories"},
        {"kind": "public_stats"},
    ]


DEFAULT_OFFICE_HOURS = {"days": [0, 1, 2, 3, 4], "opens": "08:00", "closes": "16:00"}


@dataclass
class Tenant:
    slug: str
    region_code: str
    name: str
    kind: str
    timezone: str
    status: str = "active"
    branding: dict[str, Any] = field(default_factory=dict)
    menu: list[dict[str, Any]] = field(default_factory=default_menu)
    dashboard: list[dict[str, Any]] = field(default_factory=default_dashboard)
    office_hours: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OFFICE_HOURS))
    holidays: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "slug": self.slug, "name": self.name, "region_code": self.region_code, "kind": self.kind,
            "timezone": self.timezone, "status": self.status, "branding": self.branding, "menu": self.menu,
            "dashboard": self.dashboard, "office_hours": self.office_hours, "holidays": self.holidays,
        }

    def summary(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "region_code": self.region_code, "kind": self.kind}

    def apply_patch(self, patch: dict[str, Any]) -> None:
        """Apply a validated partial update; branding merges, lists and office hours are replaced whole."""
        if "name" in patch:
            self.name = patch["name"]
        if "branding" in patch:
            self.branding = {**self.branding, **patch["branding"]}
        for key in ("menu", "dashboard", "office_hours"):
            if key in patch:
                setattr(self, key, patch[key])
        if "holidays" in patch:
            self.holidays = sorted(set(patch["holidays"]))


def new_tenant(*, slug: str, region_code: str, name: str | None = None, timezone: str | None = None) -> Tenant:
    region = regions.get_regency(region_code)
    if region is None:
        raise UnknownRegion(f"{region_code} is not a kabupaten/kota in the Kemendagri list",
                            [field_error(["body", "region_code"], "unknown region")])
    display = name or region.name
    return Tenant(
        slug=slug, region_code=region.code, name=display, kind=region.kind,
        timezone=timezone or region.timezone,
        branding={"display_name": display, "primary_color": "#0b5394", "logo_url": None},
    )
