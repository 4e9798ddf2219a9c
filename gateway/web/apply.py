"""Apply for a service in the browser (GOV.UK pattern): the form generated from the published service definition,
a few questions per page, a check-your-answers page, then a confirmation page with the tracking number.

The gateway keeps no database, so the answers so far travel between the pages in one hidden field, signed with
HMAC (the gateway's secret) and bound to the citizen, the region and the service. Files go to the citizen's folder
of the blob store's staging area (within its allowance) as soon as their page is posted; only their references ride
in that field. A file refused on its page, or replaced, is deleted at once. The applications service checks
everything once more when the application is sent: its answer is the final word.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Response

from gateway.application_routes import (
    MAX_FILE,
    StagingFull,
    _actor,
    _applicant,
    _call_with_files,
    _stage,
    get_application,
    new_batch,
)
from gateway.catalog_routes import get_service
from gateway.web.core import WebCtx, field_errors, pages
from mppi.contracts.errors import MppiError, NotFound, StorageFull
from mppi.indonesia import regions
from mppi.indonesia.nik import nik_problems

PER_STEP = 5  # questions per page at most
STATE_MAX_AGE = 24 * 3600  # answers kept in the page for a day
CHECK = "periksa"  # the step of the check-your-answers page
MIB = 1024 * 1024

_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,63}$", re.IGNORECASE)
_PHONE = re.compile(r"^(\+62|62|0)[1-9][0-9]{7,12}$")
_TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/png": "PNG",
               "image/gif": "GIF", "image/webp": "WebP", "image/tiff": "TIFF", "application/zip": "ZIP"}


# -- the steps of a form -------------------------------------------------------------------------------------------

def _chunks(items: list[dict]) -> list[list[dict]]:
    """``items`` in pages of at most PER_STEP, as even as possible (6 → 3 + 3, not 5 + 1)."""
    if not items:
        return []
    count = -(-len(items) // PER_STEP)
    size = -(-len(items) // count)
    return [items[i:i + size] for i in range(0, len(items), size)]


def steps_of(fields: list[dict]) -> list[list[dict]]:
    """A short form is one page; a longer one asks its questions first and its documents after, a few a page."""
    if len(fields) <= PER_STEP:
        return [fields]
    return (_chunks([f for f in fields if f["type"] != "file"])
            + _chunks([f for f in fields if f["type"] == "file"])) or [[]]


# -- the answers so far, signed ------------------------------------------------------------------------------------

def _mac(secret: bytes | str, body: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, b"mppi-apply-state:" + body.encode(), hashlib.sha256).hexdigest()


def seal(secret: bytes | str, state: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()
    return f"{body}.{_mac(secret, body)}"


def unseal(secret: bytes | str, token: str, *, account: str, slug: str, service_id: str) -> dict | None:
    """The state of ``token`` if this gateway signed it for this citizen, region and service within a day."""
    body, _, mac = (token or "").partition(".")
    if not body or not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if (not isinstance(state, dict) or state.get("a") != account or state.get("t") != slug
            or state.get("s") != service_id or time.time() - state.get("ts", 0) > STATE_MAX_AGE):
        return None
    return state


def _fresh(account: str, slug: str, service_id: str) -> dict:
    return {"a": account, "t": slug, "s": service_id, "ts": int(time.time()), "p": new_batch(account), "v": {},
            "f": {}}


# -- checking a page's answers (simple shapes; the service has the final word) ---------------------------------------

def _accepted(field: dict) -> str:
    return ", ".join(dict.fromkeys(_TYPE_NAMES.get(a, a) for a in field.get("accept") or []))


def check_value(w: WebCtx, field: dict, value: str, staged: dict | None) -> str | None:
    """The problem with one answer, in the page's language, or None."""
    label, kind, required = field["label"], field["type"], field.get("required", True)
    if kind == "file":
        if staged is None:
            return w.t(f"Lampirkan {label}", f"Attach {label}") if required else None
        limit = field.get("max_size_mb")
        if limit and staged["size"] > limit * MIB:
            return w.t(f"{label} harus paling besar {limit:g} MB", f"{label} must be {limit:g} MB or smaller")
        if staged["size"] == 0:
            return w.t(f"Berkas {label} kosong", f"The file for {label} is empty")
        return None
    if kind == "checkbox":
        if required and value != "true":
            return w.t(f"Centang {label}", f"Tick {label}")
        return None
    value = value.strip()
    if not value:
        return w.t(f"{label} wajib diisi", f"Enter {label}") if required else None
    if kind in ("text", "textarea"):
        limit = field.get("max_length") or (500 if kind == "text" else 5000)
        if len(value) > limit:
            return w.t(f"{label} paling banyak {limit} karakter", f"{label} must be {limit} characters or fewer")
    elif kind == "number":
        if not _NUMBER.match(value):
            return w.t(f"{label} harus berupa angka, misalnya 12", f"{label} must be a number, like 12")
        number = float(value)
        if field.get("min") is not None and number < field["min"]:
            return w.t(f"{label} paling kecil {field['min']:g}", f"{label} must be {field['min']:g} or more")
        if field.get("max") is not None and number > field["max"]:
            return w.t(f"{label} paling besar {field['max']:g}", f"{label} must be {field['max']:g} or less")
    elif kind == "date":
        bad = w.t(f"{label} harus tanggal yang benar, misalnya 2024-01-15",
                  f"{label} must be a real date, like 2024-01-15")
        if not _DATE.match(value):
            return bad
        try:
            time.strptime(value, "%Y-%m-%d")
        except ValueError:
            return bad
    elif kind == "email":
        if not _EMAIL.match(value):
            return w.t(f"{label} harus alamat email, misalnya nama@contoh.id",
                       f"{label} must be an email address, like name@example.id")
    elif kind == "phone":
        if not _PHONE.match(re.sub(r"[ \-]", "", value)):
            return w.t(f"{label} harus nomor Indonesia yang diawali 08, 62 atau +62",
                       f"{label} must be an Indonesian number starting with 08, 62 or +62")
    elif kind == "nik":
        nik = value.replace(" ", "")
        if not (len(nik) == 16 and nik.isascii() and nik.isdigit()):
            return w.t(f"{label} harus 16 angka", f"{label} must be 16 digits")
        problems = nik_problems(nik)
        if problems:
            return w.t(f"{label} bukan NIK yang sah ({'; '.join(problems)})",
                       f"{label} is not a valid NIK ({'; '.join(problems)})")
    elif kind == "select":
        if value not in {o["value"] for o in field.get("options") or []}:
            return w.t(f"Pilih {label}", f"Select {label}")
    elif kind == "region":
        level = field.get("level")
        if not regions.is_valid_code(value, level):
            example = {"province": "73", "regency": "73.07", "district": "73.07.01"}.get(level, "73.07")
            return w.t(f"{label} harus kode wilayah Kemendagri, misalnya {example}",
                       f"{label} must be a Kemendagri region code, like {example}")
    return None


def _service_message(w: WebCtx, field: dict | None, msg: str) -> str:
    """The applications service's short English message, as a sentence in the page's language."""
    label = field["label"] if field else w.t("Permohonan", "Application")
    accepted = _accepted(field) if field else ""
    if msg == "is required" or msg.startswith("is required"):
        return w.t(f"{label} wajib diisi", f"Enter {label}")
    if msg.startswith("is an executable"):
        return w.t(f"{label}: berkas ini program atau skrip dan tidak diterima. Pilih berkas {accepted}",
                   f"{label}: this file is a program or script and is never accepted. Choose a {accepted} file")
    named = re.match(r"is named (\.\w+) but is an? (.+?) file", msg)
    if named:
        ext, kind = named.groups()
        return w.t(f"{label}: nama berkas berakhiran {ext}, tetapi isinya berkas {kind}. Pilih berkas {accepted} "
                   "yang namanya sesuai dengan isinya",
                   f"{label}: the file's name ends in {ext} but it is a {kind} file. Choose a {accepted} file whose "
                   "name matches what it is")
    if msg.startswith("is a ") and "accepted:" in msg or msg.startswith("is not a file type"):
        return w.t(f"{label}: jenis berkas tidak diterima. Pilih berkas {accepted}",
                   f"{label}: this type of file is not accepted. Choose a {accepted} file")
    if " over the " in msg:
        limit = (field or {}).get("max_size_mb") or 0
        return w.t(f"{label} harus paling besar {limit:g} MB", f"{label} must be {limit:g} MB or smaller")
    if msg == "is an empty file":
        return w.t(f"Berkas {label} kosong", f"The file for {label} is empty")
    return f"{label}: {msg}"


# -- the pages -----------------------------------------------------------------------------------------------------

def _service(w: WebCtx, service_id: str) -> dict:
    """The published service, localized, through the public API route (404 when it is not published)."""
    return json.loads(w.api(get_service, params={"service_id": service_id}).get_data())


# -- answers as the pages keep them: text by field key, staged files by field key --------------------------------

def take_answers(w: WebCtx, fields: list[dict], values: dict[str, str], staged: dict[str, dict],
                 prefix: str) -> dict[str, str]:
    """Keep the posted answers of ``fields`` in ``values``; a new file replaces the staged one (staged under
    ``prefix``, the old one deleted), ``hapus_<key>`` removes it; the problems found while doing so (a file over the
    hard cap, or over the citizen's allowance of uploads not yet sent)."""
    problems = {}
    for field in fields:
        key = field["key"]
        if field["type"] == "checkbox":
            values[key] = "true" if w.form.get(key) else ""
        elif field["type"] != "file":
            values[key] = w.form.get(key, "")[:20_000]
        elif (upload := w.files.get(key)) is not None and upload.filename:
            drop_staged(w, staged, key)
            try:
                staged[key] = _stage(w.gateway.blobs, w.require_login().account_id, prefix, key, upload)
            except StagingFull:
                problems[key] = w.t(
                    f"{field['label']}: berkas yang Anda unggah dan belum dikirim sudah mencapai batas. Kirim atau "
                    "hapus berkas pada formulir yang belum selesai (berkas yang tidak dikirim dihapus setelah dua "
                    "hari), lalu unggah lagi",
                    f"{field['label']}: the files you uploaded and have not sent yet have reached the limit. Send or "
                    "remove the files of forms you have not finished (files never sent are deleted after two "
                    "days), then upload again")
            except StorageFull:
                problems[key] = w.t(
                    f"{field['label']}: unggahan sedang dihentikan sementara karena ruang untuk berkas yang belum "
                    "dikirim sudah penuh. Coba unggah lagi beberapa menit lagi",
                    f"{field['label']}: uploads are paused for a while, as the room for files not yet sent is full. "
                    "Try uploading again in a few minutes")
            except MppiError:  # over the hard cap of any file
                problems[key] = w.t(f"{field['label']} terlalu besar", f"{field['label']} is too large")
        elif w.form.get(f"hapus_{key}"):
            drop_staged(w, staged, key)
    return problems


def drop_staged(w: WebCtx, staged: dict[str, dict], key: str) -> None:
    ref = staged.pop(key, None)
    if ref is not None:
        w.gateway.blobs.delete(ref["key"])


def drop_refused(w: WebCtx, staged: dict[str, dict], problems: dict[str, str]) -> None:
    """Delete at once the staged files a page refused (too large, empty): the citizen chooses another."""
    for key in problems:
        drop_staged(w, staged, key)


def form_of(fields: list[dict], values: dict[str, str]) -> dict[str, Any]:
    """The answers as the service's form: ticked boxes as booleans, empty answers left out, files apart."""
    form: dict[str, Any] = {}
    for field in fields:
        key, kind = field["key"], field["type"]
        value = values.get(key, "")
        if kind == "checkbox":
            form[key] = value == "true"
        elif kind != "file" and value.strip():
            form[key] = value
    return form


class _Chunks:
    """A file-like reader over a blob's chunks, to copy it."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.rest = chunks, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.rest) < n:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.rest += chunk
        out, self.rest = (self.rest, b"") if n < 0 else (self.rest[:n], self.rest[n:])
        return out


class Flow:
    """One citizen's way through one service's form: its pages, the answers so far, and what each page shows."""

    def __init__(self, w: WebCtx, service: dict, state: dict):
        self.w, self.service, self.state = w, service, state
        self.fields = service["form"]["fields"]
        self.by_key = {f["key"]: f for f in self.fields}
        self.steps = steps_of(self.fields)
        self.url = f"/r/{w.params['slug']}/layanan/{service['id']}/ajukan"

    def step_of(self, key: str) -> int:
        return next((i for i, s in enumerate(self.steps) if any(f["key"] == key for f in s)), 0)

    # rendering
    def show_step(self, index: int, errors: dict[str, str] | None = None, to_check: bool = False) -> Response:
        errors = errors or {}
        fields = self.steps[index]
        return self.w.render(
            "apply/step.html", status=422 if errors else 200, service=self.service, fields=fields,
            values=self.state["v"], files=self.state["f"], errors=errors, order=[f["key"] for f in fields],
            step=index + 1, steps=len(self.steps), action=f"{self.url}?step={index + 1}", to_check=to_check,
            state=seal(self.w.gateway.secret, self.state), has_files=any(f["type"] == "file" for f in fields),
            choices=_region_choices(self.w, fields), accepted=_accepted)

    def show_check(self, errors: dict[str, str] | None = None) -> Response:
        rows = [{"key": f["key"], "label": f["label"], "value": self.display(f), "step": self.step_of(f["key"]) + 1}
                for f in self.fields]
        return self.w.render("apply/check.html", status=422 if errors else 200, service=self.service, rows=rows,
                             errors=errors or {}, action=f"{self.url}?step={CHECK}",
                             state=seal(self.w.gateway.secret, self.state))

    def display(self, field: dict) -> str:
        w, key, kind = self.w, field["key"], field["type"]
        if kind == "file":
            ref = self.state["f"].get(key)
            return f"{ref['filename']} ({_size(ref['size'])})" if ref else ""
        value = self.state["v"].get(key, "")
        if kind == "checkbox":
            return w.t("Ya", "Yes") if value == "true" else w.t("Tidak", "No")
        if kind == "select":
            return next((o["label"] for o in field.get("options") or [] if o["value"] == value), value)
        if kind == "region" and value:
            found = (regions.get_province(value) or regions.get_regency(value) or regions.get_district(value))
            return f"{found.name} ({value})" if found else value
        return value

    # reading a posted page
    def take(self, index: int) -> dict[str, str]:
        """Keep the answers of page ``index`` (files into staging); the problems found while doing so."""
        return take_answers(self.w, self.steps[index], self.state["v"], self.state["f"], self.state["p"])

    def check(self, index: int) -> dict[str, str]:
        problems = {}
        for field in self.steps[index]:
            msg = check_value(self.w, field, self.state["v"].get(field["key"], ""), self.state["f"].get(field["key"]))
            if msg:
                problems[field["key"]] = msg
        drop_refused(self.w, self.state["f"], problems)
        return problems

    def drop_file(self, key: str) -> None:
        drop_staged(self.w, self.state["f"], key)

    # sending
    def send(self) -> Response:
        w, blobs = self.w, self.w.gateway.blobs
        for index in range(len(self.steps)):  # every page once more: a page may have been skipped
            problems = self.check(index)
            if problems:
                return self.show_step(index, problems)
        missing = [k for k, ref in self.state["f"].items() if not blobs.exists(ref["key"])]
        if missing:  # already sent from another tab, or tidied away
            for key in missing:
                self.state["f"].pop(key)
            first = min(self.step_of(k) for k in missing)
            return self.show_step(first, {k: w.t(f"Lampirkan {self.by_key[k]['label']} lagi",
                                                 f"Attach {self.by_key[k]['label']} again")
                                          for k in missing if k in self.by_key})
        form = form_of(self.fields, self.state["v"])
        # the service deletes the files of a refused application: it gets copies, so the citizen keeps the good ones
        copies: list[dict] = []
        try:
            for key, ref in self.state["f"].items():
                if key in self.by_key:
                    copies.append(self.copy(ref))
        except BaseException:
            for ref in copies:
                blobs.delete(ref["key"])
            raise
        tenant = w.gateway.tenants.get(w.params["slug"])
        try:
            app = _call_with_files(w.gateway, copies, "submit_application", tenant,  # the form's own key: sent
                                   {"service_id": self.service["id"], "form": form}, copies,  # twice,
                                   _applicant(_actor(w), w.gateway.rpc),
                                   request_key=self.state["p"])  # it still makes one application
        except MppiError as exc:
            if exc.status not in (413, 415, 422):
                raise
            return self.refused(exc)
        for ref in self.state["f"].values():
            blobs.delete(ref["key"])
        return w.redirect(f"/r/{w.params['slug']}/permohonan/{app['id']}/terkirim")

    def copy(self, ref: dict) -> dict:
        blobs = self.w.gateway.blobs
        key = f"{self.state['p']}-{ref['field']}-copy-{uuid.uuid4().hex[:6]}"
        made = blobs.put(key, _Chunks(blobs.open(ref["key"])), content_type=ref["content_type"], max_size=MAX_FILE)
        return {**ref, "key": made.key}

    def refused(self, exc: MppiError) -> Response:
        """Back to the first page the service found fault with, its messages beside the fields."""
        found = field_errors(exc)
        errors = {k: _service_message(self.w, self.by_key[k], msg) for k, msg in found.items() if k in self.by_key}
        for key in errors:
            if self.by_key[key]["type"] == "file":
                self.drop_file(key)  # refused: the citizen chooses another file
        if not errors:
            return self.show_check({"_": _service_message(self.w, None, exc.detail)})
        return self.show_step(min(self.step_of(k) for k in errors), errors)


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MB" if n >= MIB else f"{max(1, round(n / 1024))} KB"


def _region_choices(w: WebCtx, fields: list[dict]) -> dict[str, Any]:
    """What a region field offers: provinces or regencies (a list), districts of the region's own regency (a hint)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f["type"] != "region":
            continue
        level = f.get("level")
        if level == "province":
            out[f["key"]] = [(p.code, p.name) for p in regions.list_provinces()]
        elif level == "regency":
            out[f["key"]] = [(p.name, [(r.code, r.name) for r in regions.list_regencies(p.code)])
                             for p in regions.list_provinces()]
        else:
            home = (w.tenant or {}).get("region_code", "")
            out[f["key"]] = [(d.code, d.name) for d in regions.list_districts(home)] if level == "district" else []
    return out


@pages.page("/r/<slug>/layanan/<service_id>/ajukan", methods=("GET", "POST"))
def apply(w: WebCtx) -> Response:
    me = w.require_login()
    w.region()
    service = _service(w, w.params["service_id"])
    if service.get("mode") != "online":
        return w.render("apply/notice.html", status=409, service=service,
                        title=w.t("Layanan ini tidak diajukan daring", "This service is not applied for online"),
                        detail=w.t("Layanan ini diajukan langsung di kantor pelayanan.",
                                   "This service is applied for in person at the service office."))
    if "citizen" not in me.roles:
        return w.render("apply/notice.html", status=403, service=service,
                        title=w.t("Hanya warga yang dapat mengajukan permohonan",
                                  "Only citizens can apply"),
                        detail=w.t("Anda masuk dengan akun staf atau admin. Masuk dengan akun warga untuk "
                                   "mengajukan permohonan.",
                                   "You are signed in with a staff or admin account. Sign in with a citizen "
                                   "account to apply."))
    ids = {"account": me.account_id, "slug": w.params["slug"], "service_id": service["id"]}
    if w.request.method == "GET":
        return Flow(w, service, _fresh(**ids)).show_step(0)
    state = unseal(w.gateway.secret, w.form.get("state", ""), **ids)
    if state is None:  # expired or not ours: start again
        return Flow(w, service, _fresh(**ids)).show_step(0)
    flow = Flow(w, service, state)
    step = w.request.args.get("step", "1")
    if step == CHECK:
        change = w.form.get("ubah", "")
        if change.isdigit() and 1 <= int(change) <= len(flow.steps):
            return flow.show_step(int(change) - 1, to_check=True)
        return flow.send()
    index = int(step) - 1 if step.isdigit() and 1 <= int(step) <= len(flow.steps) else 0
    problems = flow.take(index)
    if w.form.get("arah") == "kembali":
        return flow.show_step(max(index - 1, 0))
    problems = {**flow.check(index), **problems}
    if problems:
        return flow.show_step(index, problems, to_check=bool(w.form.get("ke_periksa")))
    if w.form.get("ke_periksa") or index == len(flow.steps) - 1:
        for other in range(len(flow.steps)):
            if other != index and flow.check(other):
                return flow.show_step(other, flow.check(other))
        return flow.show_check()
    return flow.show_step(index + 1)


@pages.page("/r/<slug>/permohonan/<application_id>/terkirim")
def sent(w: WebCtx) -> Response:
    w.require_login()
    w.region()
    app = w.api(get_application)
    try:
        service = _service(w, app["service"]["id"])
    except NotFound:  # archived since: the confirmation stands without its standard
        service = None
    return w.render("apply/sent.html", app=app, service=service)
