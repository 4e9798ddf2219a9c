"""The platform admin's pages: onboard a region, and the national view of adoption."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.application_routes import national_stats
from gateway.auth import require_platform_admin
from gateway.routes import create_staff, create_tenant, list_tenants
from gateway.web import labels
from gateway.web.core import WebCtx, field_errors, pages
from mppi.contracts import tenants as c
from mppi.contracts.errors import MppiError, ValidationFailed, parse

FIELDS = ("slug", "region_code", "email", "full_name", "password")


def _admin(w: WebCtx) -> None:
    w.require_login()
    require_platform_admin(w.principal)  # 403 for everyone else


@pages.page("/platform")
def national(w: WebCtx) -> Response:
    _admin(w)
    figures = w.api(national_stats)
    cursor = w.request.args.get("cursor") or None
    listed = w.api(list_tenants, args={"limit": 100, "cursor": cursor})
    by_status = [(labels.word(w.lang, labels.STATUS, k), n) for k, n in figures["applications"]["by_status"].items()]
    return w.render("platform/index.html", figures=figures, by_status=by_status, regions=listed["items"],
                    next_cursor=listed.get("next_cursor"), cursor=cursor)


def _messages(w: WebCtx, errors: dict[str, str]) -> dict[str, str]:
    """Each field's error as a person reads it (the contract's own message when there is no better one)."""
    texts = {
        "slug": w.t("Isi slug dengan 3–63 huruf kecil, angka dan tanda hubung, misalnya bengkulu-tengah",
                    "Enter a slug of 3–63 lowercase letters, digits and hyphens, like bengkulu-tengah"),
        "region_code": w.t("Isi kode wilayah Kemendagri kabupaten/kota, misalnya 17.09",
                           "Enter a Kemendagri regency or city code, like 17.09"),
        "email": w.t("Isi alamat email yang benar, misalnya nama@contoh.go.id",
                     "Enter a valid email address, like name@example.go.id"),
        "full_name": w.t("Isi nama lengkap admin daerah", "Enter the region admin's full name"),
        "password": w.t("Kata sandi paling sedikit 8 karakter", "The password must be at least 8 characters"),
    }
    return {k: texts.get(k, msg) for k, msg in errors.items()}


@pages.page("/platform/daerah/baru", methods=("GET", "POST"))
def onboard(w: WebCtx) -> Response:
    _admin(w)
    values = {k: "" for k in FIELDS}
    if w.request.method == "GET":
        return w.render("platform/onboard.html", values=values, errors={}, created=None, fields=FIELDS)
    values = {k: w.form.get(k, "").strip() for k in FIELDS}
    values["password"] = w.form.get("password", "")
    created = w.form.get("created") or None  # the region was made on an earlier try; only its admin is left
    wants_admin = any(values[k] for k in ("email", "full_name", "password"))
    errors: dict[str, str] = {}
    status = 422
    tenant_body = {"slug": values["slug"], "region_code": values["region_code"]}
    staff_body = {"email": values["email"], "full_name": values["full_name"], "password": values["password"],
                  "roles": ["tenant_admin"]}
    # every field is checked before anything is made, so one answer lists every problem
    for model, body, needed in ((c.TenantCreate, tenant_body, not created), (c.StaffCreate, staff_body, wants_admin)):
        if needed:
            try:
                parse(model, body)
            except ValidationFailed as exc:
                errors.update({k: v for k, v in _messages(w, field_errors(exc)).items() if k != "roles"})
    if not errors and not created:
        try:
            created = w.api(create_tenant, tenant_body)["slug"]
        except MppiError as exc:
            if exc.status == 422:  # UNKNOWN_REGION (or a shape the service refused), naming the field
                errors = _messages(w, field_errors(exc))
                if "region_code" in errors:
                    errors["region_code"] = w.t("Kode wilayah ini bukan kabupaten/kota dalam daftar Kemendagri",
                                                "This code is not a regency or city in the Kemendagri list")
                return w.render("platform/onboard.html", status=422, values=values, errors=errors, created=None,
                                fields=FIELDS)
            if exc.status != 409:
                raise
            status = 409
            if w.gateway.tenants.get(values["slug"]) is not None or not _region_taken(w, values["region_code"]):
                errors["slug"] = w.t("Slug ini sudah dipakai daerah lain", "This slug is taken by another region")
            else:
                errors["region_code"] = w.t("Daerah dengan kode ini sudah ada di platform",
                                            "A region with this code is already on the platform")
    if not errors and wants_admin:
        try:
            w.api(create_staff, staff_body, params={"slug": created})
        except ValidationFailed as exc:
            errors = _messages(w, field_errors(exc))
        except MppiError as exc:
            if exc.status != 409:
                raise
            status = 409
            errors["email"] = w.t("Sudah ada akun dengan email ini", "An account with this email exists")
    if errors:
        return w.render("platform/onboard.html", status=status, values=values,
                        errors=errors, created=created, fields=FIELDS)
    return w.redirect(f"/r/{created}")


def _region_taken(w: WebCtx, code: str) -> bool:
    return any(t.get("region_code") == code for t in w.gateway.tenants.summaries())
