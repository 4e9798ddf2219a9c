"""A citizen's own pages: register, sign in and out, my applications with their timeline and SLA, fixing and
sending again an application the staff sent back for changes, the issued document, the SKM survey, the notification
inbox, and tracking an application by its number without signing in."""
from __future__ import annotations

import re
import time
import uuid
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway.application_routes import (
    _actor,
    _call_with_files,
    act,
    document,
    get_application,
    my_applications,
    my_notifications,
    new_batch,
    output,
    read_notification,
    survey,
    track,
)
from gateway.routes import logout, register, token
from gateway.web import labels
from gateway.web.apply import (
    _accepted,
    _region_choices,
    _service,
    _service_message,
    _size,
    check_value,
    drop_refused,
    form_of,
    seal,
    take_answers,
    unseal,
)
from gateway.web.core import WebCtx, field_errors, pages, safe_next, sla_state
from mppi.contracts.errors import (
    AccountExists,
    ActionNotAllowed,
    InvalidCredentials,
    MppiError,
    NotFound,
    SurveyExists,
    ValidationFailed,
)
from mppi.runtime import tokens

# SKM elements (PermenPANRB 14/2017) with the question the citizen answers, and the four answers
SURVEY = [
    ("u1", ("Persyaratan", "Requirements"),
     ("Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?",
      "How well did the requirements fit the service?")),
    ("u2", ("Sistem, mekanisme dan prosedur", "System, mechanism and procedure"),
     ("Bagaimana pendapat Anda tentang kemudahan prosedur pelayanan?", "How easy was the procedure?")),
    ("u3", ("Waktu pelayanan", "Time to finish"),
     ("Bagaimana pendapat Anda tentang kecepatan waktu pelayanan?", "How quickly was the service delivered?")),
    ("u4", ("Biaya/tarif", "Fee"),
     ("Bagaimana pendapat Anda tentang kewajaran biaya/tarif pelayanan?", "How fair was the fee?")),
    ("u5", ("Produk spesifikasi jenis pelayanan", "What you received"),
     ("Apakah hasil yang Anda terima sesuai dengan yang tercantum dalam standar pelayanan?",
      "Did what you received match the published service standard?")),
    ("u6", ("Kompetensi pelaksana", "Staff competence"),
     ("Bagaimana pendapat Anda tentang kemampuan petugas dalam memberikan pelayanan?",
      "How capable were the staff who served you?")),
    ("u7", ("Perilaku pelaksana", "Staff conduct"),
     ("Bagaimana pendapat Anda tentang kesopanan dan keramahan petugas?", "How polite and friendly were the staff?")),
    ("u8", ("Sarana dan prasarana", "Facilities"),
     ("Bagaimana pendapat Anda tentang kualitas sarana dan prasarana pelayanan (termasuk situs ini)?",
      "How good were the facilities (this website included)?")),
    ("u9", ("Penanganan pengaduan, saran dan masukan", "Complaints and suggestions"),
     ("Bagaimana pendapat Anda tentang penanganan pengaduan, saran dan masukan?",
      "How well are complaints and suggestions handled?")),
]
ANSWERS = [(1, ("Tidak baik", "Poor")), (2, ("Kurang baik", "Fair")), (3, ("Baik", "Good")),
           (4, ("Sangat baik", "Very good"))]


def _pick(w: WebCtx, pair: tuple[str, str]) -> str:
    return pair[w.lang == "en"]


def _labels(w: WebCtx) -> dict[str, Any]:
    return {"status_label": labels.words(w.lang, labels.STATUS), "role_label": labels.words(w.lang, labels.ROLE),
            "action_label": labels.words(w.lang, labels.DONE)}


# -- sign in, register, sign out -------------------------------------------------------------------------------------

def _landing(w: WebCtx, access_token: str) -> str:
    """Where a person goes after signing in when no ``next`` was asked: their own start page by role."""
    principal = tokens.verify(w.gateway.secret, access_token)
    if principal is None:
        return "/"
    if principal.is_platform_admin:
        return "/platform"
    if principal.tenant and any(r != "citizen" for r in principal.roles):
        return f"/r/{principal.tenant}/staf"
    return "/permohonan"


@pages.page("/masuk", methods=("GET", "POST"), rate="auth")
def sign_in(w: WebCtx) -> Response:
    source = w.form if w.request.method == "POST" else w.request.args
    nxt = safe_next(source.get("next"), "")
    values = {"email": w.form.get("email", "").strip()}
    errors: dict[str, str] = {}
    if w.request.method == "POST":
        if not values["email"]:
            errors["email"] = w.t("Masukkan alamat email Anda", "Enter your email address")
        if not w.form.get("password"):
            errors["password"] = w.t("Masukkan kata sandi Anda", "Enter your password")
        if not errors:
            try:
                answer = w.api(token, {"username": values["email"], "password": w.form["password"]})
            except (InvalidCredentials, ValidationFailed):
                errors["email"] = w.t("Email atau kata sandi salah", "The email or password is wrong")
            else:
                w.sign_in(answer["access_token"], answer["expires_in"])
                return w.redirect(nxt or _landing(w, answer["access_token"]))
    return w.render("account/sign_in.html", status=422 if errors else 200, values=values, errors=errors, next=nxt)


_NIK_ID = [(r"must contain digits only", "NIK hanya boleh berisi angka"),
           (r"must be 16 digits, got (\d+)", r"NIK harus 16 angka (yang diisi \1 angka)"),
           (r"unknown district code (\S+)", r"Kode kecamatan \1 tidak dikenal"),
           (r"birth day (\d+) is out of range.*",
            r"Tanggal lahir \1 tidak mungkin (01–31, atau 41–71 untuk perempuan)"),
           (r"birth month (\d+) does not exist", r"Bulan lahir \1 tidak ada"),
           (r"birth date (\S+) does not exist", r"Tanggal lahir \1 tidak ada"),
           (r"serial must not be 0000", "Nomor urut NIK tidak boleh 0000")]


def _register_errors(w: WebCtx, exc: MppiError) -> dict[str, str]:
    """The register route's errors in words a person reads, beside the field they belong to."""
    friendly = {
        "full_name": w.t("Masukkan nama lengkap Anda", "Enter your full name"),
        "email": w.t("Masukkan alamat email yang benar, mis. nama@contoh.id",
                     "Enter a valid email address, like name@example.com"),
        "phone": w.t("Masukkan nomor telepon 8–15 angka, mis. 081234567890",
                     "Enter a phone number of 8 to 15 digits, like 081234567890"),
        "password": w.t("Kata sandi paling sedikit 8 karakter", "The password must be at least 8 characters"),
        "language": w.t("Pilih bahasa pesan", "Choose the language of messages"),
    }
    errors = {k: friendly.get(k, v) for k, v in field_errors(exc).items()}
    nik = [e.get("msg", "") for e in exc.errors or [] if "nik" in e.get("loc", [])]
    if nik:
        if w.lang == "id":
            translated = []
            for msg in nik:
                for pattern, repl in _NIK_ID:
                    if re.fullmatch(pattern, msg):
                        msg = re.sub(pattern, repl, msg)
                        break
                translated.append(msg)
            nik = translated
        errors["nik"] = w.t("NIK tidak sah: ", "The NIK is not valid: ") + "; ".join(nik)
    return errors


@pages.page("/daftar", methods=("GET", "POST"), rate="auth")
def sign_up(w: WebCtx) -> Response:
    source = w.form if w.request.method == "POST" else w.request.args
    nxt = safe_next(source.get("next"), "")
    keys = ("nik", "full_name", "email", "phone")
    values = {k: w.form.get(k, "").strip() for k in keys}
    values["nik"] = re.sub(r"[\s.-]", "", values["nik"])
    values["phone"] = re.sub(r"[\s.-]", "", values["phone"])
    values["language"] = w.form.get("language") or w.lang
    errors: dict[str, str] = {}
    if w.request.method == "POST":
        required = {"nik": w.t("Masukkan NIK Anda", "Enter your NIK"),
                    "full_name": w.t("Masukkan nama lengkap Anda", "Enter your full name"),
                    "email": w.t("Masukkan alamat email Anda", "Enter your email address"),
                    "phone": w.t("Masukkan nomor telepon Anda", "Enter your phone number")}
        errors = {k: msg for k, msg in required.items() if not values[k]}
        if not w.form.get("password"):
            errors["password"] = w.t("Buat kata sandi", "Create a password")
        if not errors:
            body = {**values, "password": w.form["password"]}
            try:
                w.api(register, body)
            except ValidationFailed as exc:
                errors = _register_errors(w, exc)
            except AccountExists:
                errors["email"] = w.t("Email atau NIK ini sudah terdaftar. Masuk dengan akun Anda.",
                                      "This email or NIK is already registered. Sign in with your account.")
            else:
                answer = w.api(token, {"username": values["email"], "password": w.form["password"]})
                w.sign_in(answer["access_token"], answer["expires_in"])
                return w.redirect(nxt or "/permohonan")
    order = [k for k in ("nik", "full_name", "email", "phone", "password", "language", "_") if k in errors]
    return w.render("account/register.html", status=422 if errors else 200, values=values, errors=errors,
                    order=order, next=nxt)


@pages.page("/keluar", methods=("POST",))
def sign_out(w: WebCtx) -> Response:
    if w.principal is not None:  # the session's token is refused from now on, on every gateway, not just forgotten
        w.api(logout)
    w.sign_out()
    return w.redirect("/")


# -- my applications -------------------------------------------------------------------------------------------------

@pages.page("/permohonan")
def my_list(w: WebCtx) -> Response:
    w.require_login()
    cursor = w.request.args.get("cursor")
    answer = w.api(my_applications, args={"limit": 50, "cursor": cursor})
    items = sorted(answer["items"], key=lambda a: a["submitted_at"], reverse=True)
    names = {}
    for a in items:
        tenant = w.gateway.tenants.get(a["tenant"])
        names[a["tenant"]] = w.localize(tenant["name"]) if tenant else a["tenant"]
        a["sla"] = sla_state(a)
    return w.render("account/applications.html", items=items, next_cursor=answer.get("next_cursor"),
                    region_names=names, **_labels(w))


def _application(w: WebCtx) -> dict[str, Any]:
    w.require_login()
    w.region()
    return w.api(get_application)


def _revision_note(app: dict[str, Any]) -> str | None:
    """What the staff asked to change, while the application waits on the applicant."""
    if app["status"] != "revision_requested":
        return None
    return next((h.get("note") for h in reversed(app["history"]) if h["action"] == "request_revision"), None)


@pages.page("/r/<slug>/permohonan/<application_id>")
def my_application(w: WebCtx) -> Response:
    app = _application(w)
    app["sla"] = sla_state(app)
    own = w.principal is not None and "citizen" in w.principal.roles
    resubmitted = w.request.args.get("dikirim-ulang") == "1" and app["status"] != "revision_requested"
    return w.render("account/application.html", app=app, revision_note=_revision_note(app), own=own,
                    thanks=w.request.args.get("survei") == "terima-kasih", resubmitted=resubmitted, **_labels(w))


# -- fix and send again (the revision loop) --------------------------------------------------------------------------

NOTE_MAX = 2000  # as the API's ActionRequest


def _definition(w: WebCtx, app: dict[str, Any]) -> dict[str, Any]:
    """The service version the application was made under, localized (the service checks against that one); the
    published version when that one is not kept."""
    service = app["service"]
    found = w.rpc("applications", "get_service_version", w.params["slug"], service["id"], service.get("version"))
    if found:
        return w.localize(found)
    return _service(w, service["id"])


def _shown(value: Any) -> str:
    """A kept answer as the form field shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    return str(value)


class Resubmission:
    """One applicant fixing one application: its form pre-filled with the answers kept, new files staged (their
    references ride in a signed hidden field, so a page that comes back with errors keeps them)."""

    def __init__(self, w: WebCtx, app: dict[str, Any], definition: dict[str, Any]):
        self.w, self.app = w, app
        self.fields = definition["form"]["fields"]
        self.by_key = {f["key"]: f for f in self.fields}
        self.current = {d["key"]: d for d in app.get("documents") or []}
        self.url = f"/r/{w.params['slug']}/permohonan/{app['id']}"
        self.ids = {"account": w.principal.account_id, "slug": w.params["slug"], "service_id": app["id"]}
        self.state = {"a": self.ids["account"], "t": self.ids["slug"], "s": app["id"], "ts": int(time.time()),
                      "p": new_batch(self.ids["account"]), "f": {}}
        self.values = {f["key"]: _shown(app["form"].get(f["key"])) for f in self.fields if f["type"] != "file"}
        self.note = ""

    def show(self, errors: dict[str, str] | None = None) -> Response:
        errors = errors or {}
        questions = [f for f in self.fields if f["type"] != "file"]
        documents = [f for f in self.fields if f["type"] == "file"]
        order = [f["key"] for f in questions] + [f["key"] for f in documents] + ["note"]
        order += [k for k in errors if k not in order and k != "_"]
        return self.w.render(
            "account/resubmit.html", status=422 if errors else 200, app=self.app, questions=questions,
            documents=documents, values=self.values, note=self.note, staged=self.state["f"], current=self.current,
            errors=errors, order=order, revision_note=_revision_note(self.app), back=self.url,
            action=self.url + "/perbaiki", state=seal(self.w.gateway.secret, self.state),
            choices=_region_choices(self.w, questions), accepted=_accepted, size=_size)

    def take(self) -> dict[str, str]:
        """Keep what was posted (new files into staging); the problems found while doing so."""
        w = self.w
        kept = unseal(w.gateway.secret, w.form.get("state", ""), **self.ids)
        if kept is not None:
            self.state = kept
        problems = take_answers(w, self.fields, self.values, self.state["f"], self.state["p"])
        self.note = w.form.get("note", "").strip()[:20_000]
        return problems

    def check(self) -> dict[str, str]:
        problems = {}
        for field in self.fields:
            key = field["key"]
            attached = self.state["f"].get(key) or self.current.get(key)
            msg = check_value(self.w, field, self.values.get(key, ""), attached)
            if msg:
                problems[key] = msg
        if len(self.note) > NOTE_MAX:
            problems["note"] = self.w.t(f"Catatan paling banyak {NOTE_MAX} karakter",
                                        f"The note must be {NOTE_MAX} characters or fewer")
        drop_refused(self.w, self.state["f"], problems)  # a new file refused here is deleted at once
        return problems

    def send(self) -> Response:
        w = self.w
        form = form_of(self.fields, self.values)
        data: dict[str, Any] = {"action": "resubmit"}
        if self.note:
            data["note"] = self.note
        refs = [ref for key, ref in self.state["f"].items() if key in self.by_key]
        missing = [ref["field"] for ref in refs if not w.gateway.blobs.exists(ref["key"])]
        if missing:  # already sent from another tab, or tidied away
            for key in missing:
                self.state["f"].pop(key, None)
            return self.show({k: w.t(f"Lampirkan {self.by_key[k]['label']} lagi",
                                     f"Attach {self.by_key[k]['label']} again") for k in missing})
        try:
            if refs:  # as the API's multipart: the files staged, their references to the service
                tenant = w.gateway.tenants.get(w.params["slug"])
                _call_with_files(w.gateway, refs, "act", tenant, self.app["id"], data, _actor(w),
                                 resubmission={"form": form, "files": refs}, request_key=uuid.uuid4().hex)
            else:
                w.api(act, {**data, "form": form})
        except MppiError as exc:
            if exc.status not in (413, 415, 422):
                raise
            self.state["f"] = {}  # the service deleted the files it refused, and the ones with them
            found = field_errors(exc)
            errors = {k: _service_message(w, self.by_key.get(k), msg) if k in self.by_key else msg
                      for k, msg in found.items()}
            return self.show(errors)
        return w.redirect(self.url + "?dikirim-ulang=1")


@pages.page("/r/<slug>/permohonan/<application_id>/perbaiki", methods=("GET", "POST"))
def resubmit(w: WebCtx) -> Response:
    app = _application(w)
    back = f"/r/{w.params['slug']}/permohonan/{app['id']}"
    if "resubmit" not in app.get("allowed_actions", []):
        return w.redirect(back)  # nothing asked to change now (or not theirs to change): the application says why
    flow = Resubmission(w, app, _definition(w, app))
    if w.request.method == "GET":
        return flow.show()
    problems = flow.take()
    problems = {**flow.check(), **problems}
    if problems:
        return flow.show(problems)
    return flow.send()


@pages.page("/r/<slug>/permohonan/<application_id>/dokumen")
def issued_document(w: WebCtx) -> Response:
    w.require_login()
    w.region()
    return w.api(output)


@pages.page("/r/<slug>/permohonan/<application_id>/berkas/<key>")
def sent_document(w: WebCtx) -> Response:
    w.require_login()
    w.region()
    return w.api(document)


# -- the SKM survey --------------------------------------------------------------------------------------------------

@pages.page("/r/<slug>/permohonan/<application_id>/survei", methods=("GET", "POST"))
def skm_survey(w: WebCtx) -> Response:
    app = _application(w)
    back = f"/r/{w.params['slug']}/permohonan/{app['id']}"
    questions = [{"key": k, "element": _pick(w, element), "question": _pick(w, question)}
                 for k, element, question in SURVEY]
    answers = [{"value": v, "label": _pick(w, label)} for v, label in ANSWERS]
    values = {k: w.form.get(k, "") for k, _, _ in SURVEY}
    values["comment"] = w.form.get("comment", "")
    errors: dict[str, str] = {}
    done = None
    if app["status"] not in ("completed", "rejected"):  # every applicant whose application ended is asked
        done = "closed"
    elif w.request.method == "POST":
        for q in questions:
            if values[q["key"]] not in ("1", "2", "3", "4"):
                errors[q["key"]] = w.t(f"Pilih jawaban untuk {q['element']}", f"Choose an answer for {q['element']}")
        if len(values["comment"]) > 2000:
            errors["comment"] = w.t("Komentar paling banyak 2000 karakter",
                                    "The comment may be at most 2000 characters")
        if not errors:
            body = {"answers": {q["key"]: int(values[q["key"]]) for q in questions}}
            if values["comment"].strip():
                body["comment"] = values["comment"].strip()
            try:
                w.api(survey, body)
            except SurveyExists:
                done = "answered"
            except ActionNotAllowed:
                done = "closed"
            except ValidationFailed as exc:
                errors = field_errors(exc)
            else:
                return w.redirect(back + "?survei=terima-kasih")
    return w.render("account/survey.html", status=422 if errors else 200, app=app, questions=questions,
                    answers=answers, values=values, errors=errors, done=done, back=back)


# -- notifications ---------------------------------------------------------------------------------------------------

@pages.page("/notifikasi")
def inbox(w: WebCtx) -> Response:
    w.require_login()
    answer = w.api(my_notifications, args={"limit": 50, "cursor": w.request.args.get("cursor")})
    return w.render("account/notifications.html", items=answer["items"], next_cursor=answer.get("next_cursor"))


@pages.page("/notifikasi/<notification_id>/baca", methods=("POST",))
def mark_read(w: WebCtx) -> Response:
    w.require_login()
    w.api(read_notification)
    return w.redirect("/notifikasi")


@pages.page("/notifikasi/baca-semua", methods=("POST",))
def mark_all_read(w: WebCtx) -> Response:
    w.require_login()
    # the API marks one at a time; the newest hundred are what the inbox shows
    for item in w.api(my_notifications, args={"limit": 100})["items"]:
        if not item.get("read_at"):
            w.api(read_notification, params={"notification_id": item["id"]})
    return w.redirect("/notifikasi")


# -- public tracking -------------------------------------------------------------------------------------------------

def _clean_number(raw: str) -> str:
    return re.sub(r"\s", "", raw or "").upper()[:30]


@pages.page("/lacak")
def track_form(w: WebCtx) -> Response:
    if "nomor" in w.request.args:
        number = _clean_number(w.request.args["nomor"])
        if number:
            return w.redirect("/lacak/" + quote(number, safe=""))
        return w.render("account/track.html", status=422, number="", found=None,
                        error=w.t("Masukkan nomor permohonan", "Enter the application number"))
    return w.render("account/track.html", number="", found=None, error=None)


@pages.page("/lacak/<tracking_number>")
def track_page(w: WebCtx) -> Response:
    number = _clean_number(w.params["tracking_number"])
    try:
        found = w.api(track, params={"tracking_number": number})
    except (NotFound, ValidationFailed):
        return w.render("account/track.html", status=404, number=number, found=None,
                        error=w.t("Tidak ada permohonan dengan nomor ini. Periksa lagi nomornya.",
                                  "There is no application with this number. Check the number and try again."))
    tenant = w.gateway.tenants.get(found["tenant"])
    if tenant is not None:
        w.region(found["tenant"])
    found["sla"] = sla_state({**found, "history": [{"at": found["updated_at"], "to_status": found["status"]}]})
    return w.render("account/track.html", number=number, found=found, error=None,
                    region_name=w.tenant["name"] if w.tenant else found["tenant"], **_labels(w))
