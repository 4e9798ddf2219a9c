"""The staff console of a region: the inbox by due date, an application with its documents, and acting on the
workflow's ``allowed_actions`` with a note."""
from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.wrappers import Response

from gateway.application_routes import act, document, get_application, inbox, output
from gateway.auth import require_staff
from gateway.catalog_routes import get_service
from gateway.web import labels
from gateway.web.core import WebCtx, field_errors, pages, sla_state
from mppi.contracts.applications import OPEN_STATUSES, STATUSES
from mppi.contracts.errors import MppiError, ValidationFailed
from mppi.contracts.tenants import STAFF_ROLES
from mppi.indonesia import regions

# what the page says once an action is done (the buttons' words are in labels.ACTION)
DONE_MESSAGE = {
    "verify": ("Permohonan telah diverifikasi.", "The application was verified."),
    "approve": ("Permohonan telah disetujui.", "The application was approved."),
    "complete": ("Permohonan telah diselesaikan dan dokumennya diterbitkan.",
                 "The application was completed and its document issued."),
    "request_revision": ("Pemohon diminta memperbaiki permohonan.", "The applicant was asked to revise it."),
    "reject": ("Permohonan telah ditolak.", "The application was rejected."),
}
NOTE_NEEDED = ("reject", "request_revision")  # the applicant must be told why


def _late(app: dict) -> bool:
    """Past due and still waiting for staff (a finished one's lateness is history, not a call to act)."""
    return app["status"] in OPEN_STATUSES and sla_state(app)["state"] == "late"


def _staff(w: WebCtx) -> tuple[dict, str]:
    """The region of the path for its staff (a platform admin passes too): 404 outside it, 403 for others."""
    w.require_login()
    tenant = w.region()
    require_staff(w.principal, tenant["slug"], STAFF_ROLES)
    return tenant, tenant["slug"]


# -- the inbox ----------------------------------------------------------------------------------------------------

@pages.page("/r/<slug>/staf")
def staff_inbox(w: WebCtx) -> Response:
    _, slug = _staff(w)
    status = w.request.args.get("status", "")
    if status not in STATUSES:
        status = ""
    cursor = w.request.args.get("cursor") or None
    found = w.api(inbox, args={"status": status or None, "cursor": cursor, "limit": 20})
    items = [{**i, "late": _late(i),
              "status_label": labels.word(w.lang, labels.STATUS, i["status"])} for i in found["items"]]
    return w.render("staff/inbox.html", items=items, next_cursor=found.get("next_cursor"), chosen=status,
                    cursor=cursor, statuses=[(s, labels.word(w.lang, labels.STATUS, s)) for s in STATUSES],
                    slug=slug)


# -- one application ----------------------------------------------------------------------------------------------

def _value(w: WebCtx, f: dict | None, value: Any) -> str:
    """An answer as a person reads it: an option's label, Ya/Tidak, a date as dd-mm-yyyy, a region's name."""
    if value is None or value == "":
        return "—"
    kind = (f or {}).get("type")
    if kind == "checkbox" or isinstance(value, bool):
        return w.t("Ya", "Yes") if value in (True, "true", "on", "1", 1) else w.t("Tidak", "No")
    if kind == "select":
        options = {o["value"]: o["label"] for o in f.get("options") or []}
        return str(options.get(value, value))
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d-%m-%Y")
        except ValueError:
            return value
    if kind == "region" and isinstance(value, str):
        place = regions.get_district(value) or regions.get_regency(value) or regions.get_province(value)
        return f"{place.name} ({value})" if place is not None else value
    return str(value)


def _application_page(w: WebCtx, slug: str, *, status: int = 200, errors: dict | None = None,
                      failed_action: str | None = None, note: str = "", refused: str | None = None) -> Response:
    app = w.api(get_application)
    definition = w.api(get_service, params={"service_id": app["service"]["id"]},
                       args={"version": str(app["service"]["version"])})
    fields = definition.get("form", {}).get("fields", [])
    by_key = {f["key"]: f for f in fields}
    answers = [{"label": f["label"], "value": _value(w, f, app["form"].get(f["key"]))}
               for f in fields if f["type"] != "file" and f["key"] in app["form"]]
    answers += [{"label": k, "value": _value(w, None, v)} for k, v in app["form"].items() if k not in by_key]
    documents = [{**d, "label": by_key.get(d["key"], {}).get("label", d["key"])} for d in app["documents"]]
    steps = {s["key"]: s for s in definition.get("workflow", {}).get("steps", [])}
    step = steps.get(app["step"] or "", {})
    history = [{**h, "action_label": labels.word(w.lang, labels.DONE, h["action"]),
                "role_label": labels.word(w.lang, labels.ROLE, h["actor_role"]),
                "status_label": labels.word(w.lang, labels.STATUS, h["to_status"])} for h in app["history"]]
    actions = [{"key": a, "label": labels.word(w.lang, labels.ACTION, a), "note_needed": a in NOTE_NEEDED,
                "style": "warning" if a == "reject" else "secondary" if a == "request_revision" else ""}
               for a in app["allowed_actions"]]
    done = w.request.args.get("done")
    done_text = w.t(*DONE_MESSAGE[done]) if done in DONE_MESSAGE else None
    errors = {key: _error_text(w, key, msg, failed_action) for key, msg in (errors or {}).items()}
    summary = [{"href": f"#note-{failed_action}" if key == "note" and failed_action in app["allowed_actions"]
                else "#actions", "msg": msg} for key, msg in errors.items()]
    return w.render("staff/application.html", status=status, app=app, slug=slug, answers=answers,
                    documents=documents, history=history, actions=actions, step_label=step.get("label", app["step"]),
                    step_sla=step.get("sla_days"), status_label=labels.word(w.lang, labels.STATUS, app["status"]),
                    late=_late(app), done=done_text, errors=errors,
                    summary=summary, failed_action=failed_action, note=note, refused=refused,
                    base=f"/r/{slug}/staf/permohonan/{app['id']}")


def _error_text(w: WebCtx, key: str, msg: str, action: str | None) -> str:
    if key == "note":
        if action == "reject":
            return w.t("Tulis alasan penolakan", "Enter the reason for rejecting")
        if action == "request_revision":
            return w.t("Tulis apa yang harus diperbaiki pemohon", "Enter what the applicant must correct")
        return w.t("Catatan paling banyak 2000 karakter", "The note may be at most 2000 characters")
    if key == "action":
        return w.t("Pilih tindakan yang tersedia", "Choose one of the actions offered")
    return msg


@pages.page("/r/<slug>/staf/permohonan/<application_id>")
def staff_application(w: WebCtx) -> Response:
    _, slug = _staff(w)
    return _application_page(w, slug)


@pages.page("/r/<slug>/staf/permohonan/<application_id>/tindakan", methods=("POST",))
def staff_act(w: WebCtx) -> Response:
    _, slug = _staff(w)
    action = w.form.get("action", "")[:40]
    note = w.form.get("note", "").strip()
    back = f"/r/{slug}/staf/permohonan/{w.params['application_id']}"
    errors: dict[str, str] = {}
    if action == "request_revision" and not note:
        errors["note"] = "required"  # the applicant must know what to revise (the service itself checks a rejection)
    else:
        try:
            w.api(act, {"action": action, "note": note or None})
            return w.redirect(f"{back}?done={action}")
        except ValidationFailed as exc:
            errors = field_errors(exc)
        except MppiError as exc:
            if exc.status not in (403, 409):
                raise
            # someone acted first, or this role's turn has not come: say so where the staff member is looking
            refused = w.t("Tindakan ini tidak dapat dilakukan sekarang: permohonan tidak (lagi) menunggu tindakan "
                          "Anda pada tahap ini. Halaman di bawah menunjukkan keadaan terbarunya.",
                          "This action cannot be taken now: the application is not (or no longer) waiting for "
                          "your action at this step. The page below shows where it stands now.")
            return _application_page(w, slug, status=exc.status, refused=refused)
    return _application_page(w, slug, status=422, errors=errors, failed_action=action, note=note)


@pages.page("/r/<slug>/staf/permohonan/<application_id>/berkas/<key>")
def staff_document(w: WebCtx) -> Response:
    _staff(w)
    return w.api(document)


@pages.page("/r/<slug>/staf/permohonan/<application_id>/terbitan")
def staff_output(w: WebCtx) -> Response:
    _staff(w)
    return w.api(output)
