"""The region admin console: services (adopt from the library, edit the standard, form and workflow with a preview,
publish, archive), the menu, the home-page widgets and the branding, staff accounts, subscriptions, and a dashboard
of volumes, SLA on time and IKM per service as charts.

Every page is for the region's ``tenant_admin`` (or a platform admin) and goes through the /api/v1 route handlers.
Editors are plain HTML forms: a list is one fieldset per item (with a "remove" box and one blank item to add), so a
page works without JavaScript. A form is read back from the POSTed fields only where its section was on the page,
and a 422 shows the same fields again with the errors beside them: nothing typed is lost.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from gateway import application_routes as ar
from gateway import catalog_routes as cr
from gateway import routes as tr
from gateway.auth import require_staff
from gateway.web import labels
from gateway.web.core import WebCtx, field_errors, pages
from mppi.contracts.catalog import ACTIONS, CATEGORIES, DEFAULT_WORKFLOW, FIELD_TYPES
from mppi.contracts.errors import AccountExists, ServiceExists, ValidationFailed
from mppi.contracts.tenants import STAFF_ROLES

ADMIN = "/r/<slug>/admin"
TYPE_LABELS = {"text": ("Teks singkat", "Short text"), "textarea": ("Teks panjang", "Long text"),
               "number": ("Angka", "Number"), "date": ("Tanggal", "Date"), "email": ("Email", "Email"),
               "phone": ("Nomor telepon", "Phone number"), "nik": ("NIK", "NIK"),
               "select": ("Pilihan", "Choice"), "checkbox": ("Kotak centang", "Checkbox"),
               "region": ("Wilayah", "Region"), "file": ("Berkas", "File")}
WIDGET_LABELS = {"announcement": ("Pengumuman", "Announcement"),
                 "featured_services": ("Layanan unggulan", "Featured services"),
                 "categories": ("Kategori layanan", "Service categories"),
                 "public_stats": ("Statistik publik", "Public statistics")}
LEVELS = {"province": ("Provinsi", "Province"), "regency": ("Kabupaten/kota", "Regency/city"),
          "district": ("Kecamatan", "District")}


# -- who may enter, and small helpers ----------------------------------------------------------------------------------

def _admin(w: WebCtx) -> dict:
    """The region of the path, for its tenant admin or a platform admin: 404 for another region's staff, 403 for
    anyone else signed in, the sign-in page for nobody."""
    tenant = w.region()
    w.require_login()
    require_staff(w.principal, tenant["slug"])
    return tenant


def _data(result: Any) -> Any:
    """A route's answer as data: some routes answer with their cached JSON body."""
    if isinstance(result, Response):
        return json.loads(result.get_data())
    return result


def _labels(w: WebCtx, table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return labels.words(w.lang, table)


def _render(w: WebCtx, template: str, tab: str, status: int = 200, **values: Any) -> Response:
    summary = _summary(w, values.get("errors") or {})
    return w.render(template, status=status, tab=tab, slug=w.params["slug"], summary=summary, **values)


def _services(w: WebCtx, lang: str | None = None) -> list[dict]:
    """Every service of the region, whatever its status, by name."""
    found: dict[str, dict] = {}
    for status in ("published", "draft", "archived"):
        cursor = None
        for _ in range(20):
            page = _data(w.api(cr.list_services, args={"status": status, "limit": 100, "cursor": cursor}, lang=lang))
            for s in page["items"]:
                found.setdefault(s["id"], s)
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return sorted(found.values(), key=lambda s: str(s["name"].get("id") if isinstance(s["name"], dict)
                                                    else s["name"]).lower())


def _raw_tenant(w: WebCtx) -> dict:
    return _data(w.api(tr.get_tenant, lang="all"))


def _text(text_id: str | None, text_en: str | None, optional: bool = False) -> Any:
    """Bilingual text from two inputs: Indonesian first (an empty one is sent as it is, for the service to refuse)."""
    text_id, text_en = (text_id or "").strip(), (text_en or "").strip()
    if optional and not text_id and not text_en:
        return None
    if text_en and text_id:
        return {"id": text_id, "en": text_en}
    return text_id


def _pair(v: MultiDict, name: str, text: Any) -> None:
    if isinstance(text, dict):
        v[f"{name}_id"], v[f"{name}_en"] = text.get("id") or "", text.get("en") or ""
    else:
        v[f"{name}_id"], v[f"{name}_en"] = text or "", ""


def _number(raw: str | None, kind: type = int, blank: Any = "") -> Any:
    """A number typed in a form; what is not a number goes to the service as typed, to be named in its 422."""
    raw = (raw or "").strip().replace(",", ".") if kind is float else (raw or "").strip()
    if not raw:
        return blank
    try:
        value = kind(raw)
    except ValueError:
        return raw
    return int(value) if kind is float and value == int(value) else value


def _lines(raw: str | None) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def _count(form: MultiDict, name: str) -> int:
    raw = form.get(name, "")
    return min(int(raw), 200) if raw.isdigit() else 0


_MESSAGES = [(r"^String should have at least 1 character", ("Wajib diisi", "Required")),
             (r"^Field required", ("Wajib diisi", "Required")),
             (r"^List should have at least 1 item", ("Isi paling sedikit satu", "Give at least one")),
             (r"^Input should be greater than or equal to (\S+)", ("Paling kecil {0}", "At least {0}")),
             (r"^Input should be less than or equal to (\S+)", ("Paling besar {0}", "At most {0}")),
             (r"^Input should be greater than (\S+)", ("Harus lebih dari {0}", "Must be more than {0}")),
             (r"^Input should be a valid integer", ("Isi dengan bilangan bulat", "Enter a whole number")),
             (r"^Input should be a valid number", ("Isi dengan angka", "Enter a number")),
             (r"^String should match pattern", ("Formatnya tidak sesuai", "The format is not right")),
             (r"^String should have at most (\d+)", ("Paling banyak {0} karakter", "At most {0} characters")),
             (r"^value is not a valid email", ("Alamat email tidak valid", "Not a valid email address"))]
_NOISE = ("Input should be a valid string", "Input should be a valid dictionary")


def _message(w: WebCtx, msg: str) -> str:
    for pattern, (text_id, text_en) in _MESSAGES:
        m = re.match(pattern, msg)
        if m:
            return w.t(text_id, text_en).format(*[g.rstrip(".,") for g in m.groups()])
    return msg


def _errors(w: WebCtx, exc: ValidationFailed, name_of) -> dict[str, str]:
    """A 422's errors by the name of the input they belong to (``name_of(path)``), first message wins; the noise
    of a bilingual text's other alternative is dropped."""
    found: dict[str, str] = {}
    items = sorted(exc.errors or [], key=lambda e: e.get("msg", "") in _NOISE)
    for e in items:
        path = [p for p in e.get("loc", [])
                if not (isinstance(p, str) and (p in ("body", "query") or "[" in p or p.endswith("str")))]
        found.setdefault(name_of(path) or "_", _message(w, e.get("msg", "")))
    if not found:
        found["_"] = exc.detail
    return found


NAMES = {"name": ("Nama layanan", "Service name"), "description": ("Deskripsi", "Description"),
         "category": ("Kategori", "Category"), "agency": ("Perangkat daerah", "Agency"), "mode": ("Cara", "Mode"),
         "keywords": ("Kata kunci", "Keywords"), "sla_days": ("Jangka waktu", "Time to finish"),
         "fee_kind": ("Jenis biaya", "Kind of fee"), "fee_amount": ("Biaya", "Fee"),
         "fee_basis": ("Dasar hukum biaya", "Legal basis of the fee"), "output": ("Produk pelayanan", "Output"),
         "complaints": ("Pengaduan", "Complaints"), "procedure": ("Prosedur", "Procedure"),
         "requirements": ("Persyaratan", "Requirements"), "fields": ("Kolom formulir", "Form fields"),
         "steps": ("Alur kerja", "Workflow"), "standard": ("Standar pelayanan", "Service standard"),
         "key": ("Kunci", "Key"), "label": ("Label", "Label"), "type": ("Jenis", "Type"), "help": ("Petunjuk", "Hint"),
         "options": ("Pilihan", "Options"), "accept": ("Jenis berkas", "File types"),
         "max_size_mb": ("Ukuran maksimum", "Maximum size"), "level": ("Tingkat wilayah", "Region level"),
         "field_key": ("Kolom berkas", "File field"), "roles": ("Peran", "Roles"), "actions": ("Tindakan", "Actions"),
         "service_ids": ("Layanan", "Services"), "kind": ("Jenis", "Kind"), "title": ("Judul", "Title"),
         "body": ("Isi", "Text"), "menu": ("Menu", "Menu"), "dashboard": ("Beranda", "Home page"),
         "display_name": ("Nama tampilan", "Display name"), "primary_color": ("Warna utama", "Main colour"),
         "logo_url": ("Alamat logo", "Logo address"), "email": ("Email", "Email"),
         "full_name": ("Nama lengkap", "Full name"), "password": ("Kata sandi", "Password"), "url": ("URL", "URL")}
ROWS = {"r": ("Persyaratan", "Requirement"), "f": ("Kolom", "Field"), "s": ("Langkah", "Step"),
        "m": ("Menu", "Menu entry"), "d": ("Widget", "Widget")}


def _describe(w: WebCtx, name: str) -> str:
    """What the error summary calls an input: ``f2_label_en`` → "Kolom 3: Label (English)"."""
    where = ""
    m = re.fullmatch(r"([rfsmd])(\d+)_(.+)", name)
    if m:
        where = f"{ROWS[m[1]][w.lang == 'en']} {int(m[2]) + 1}: "
        name = m[3]
    suffix = ""
    if name.endswith(("_id", "_en")) and name[:-3] in NAMES:
        suffix = " (Indonesia)" if name.endswith("_id") else " (English)"
        name = name[:-3]
    return where + (NAMES[name][w.lang == "en"] if name in NAMES else name) + suffix


def _summary(w: WebCtx, errors: dict[str, str]) -> list[tuple[str | None, str]]:
    """The error summary's links: (the input's id, "what: message")."""
    return [(None, msg) if key == "_" else (key, f"{_describe(w, key)}: {msg}") for key, msg in errors.items()]


def _lang_of(path: list) -> tuple[list, str]:
    if path and path[-1] in ("id", "en"):
        return path[:-1], path[-1]
    return path, "id"


# -- the dashboard -----------------------------------------------------------------------------------------------------

def _chart(rows: list[tuple[str, float, str]], maximum: float | None = None) -> dict:
    """Bars for an SVG chart: (label, value, shown value) rows, each label above its bar, lengths out of 260."""
    top = maximum or max([r[1] for r in rows] + [1])
    bars = []
    for i, (label, value, shown) in enumerate(rows):
        width = 0 if not top else round(260 * max(value, 0) / top, 1)
        bars.append({"label": label if len(label) <= 48 else label[:47] + "…", "full": label, "value": shown,
                     "y": i * 44, "width": max(width, 1 if value else 0)})
    return {"bars": bars, "height": max(len(rows) * 44, 44)}


@pages.page(ADMIN)
def dashboard(w: WebCtx) -> Response:
    _admin(w)
    stats = w.api(ar.stats)
    by_status = stats["applications"]["by_status"]
    status_words = labels.words(w.lang, labels.STATUS)
    volume = _chart([(status_words[s], by_status.get(s, 0), str(by_status.get(s, 0))) for s in labels.STATUS])
    pct = stats["sla"]["on_time_pct"]
    sla = _chart([(w.t("Selesai tepat waktu", "Finished on time"), pct or 0,
                   f"{pct:g}%" if pct is not None else "—")], maximum=100)
    services = stats.get("services") or []
    names = {s["id"]: s["name"] for s in _services(w)}

    def name(s: dict) -> str:
        return names.get(s["service_id"]) or w.localize(s.get("name")) or s["service_id"]

    per_service = _chart([(name(s), s["applications"], str(s["applications"])) for s in services])
    rated = [s for s in services if s.get("ikm")]
    ikm = _chart([(name(s), s["ikm"]["score"], f'{s["ikm"]["score"]:.2f} ({s["ikm"]["grade"]})') for s in rated],
                 maximum=100)
    return _render(w, "admin/dashboard.html", "ringkasan", stats=stats, volume=volume, sla=sla, ikm=ikm,
                   per_service=per_service, rated=rated, services=services, name=name, status_labels=status_words)


# -- services ----------------------------------------------------------------------------------------------------------

@pages.page(ADMIN + "/layanan")
def services(w: WebCtx, error: str | None = None, status: int = 200) -> Response:
    _admin(w)
    mine = _services(w)
    library = _data(w.api(cr.list_templates))
    library = sorted(w.localize(library), key=lambda t: (t["category"], t["name"]))
    adopted = {s["code"]: s["id"] for s in mine}
    return _render(w, "admin/services.html", "layanan", status=status, services=mine, library=library,
                   adopted=adopted, categories={k: v[w.lang] for k, v in CATEGORIES.items()},
                   status_labels=labels.words(w.lang, labels.SERVICE_STATUS), error=error,
                   done=w.request.args.get("ok"))


@pages.page(ADMIN + "/layanan/adopsi", methods=("POST",))
def adopt(w: WebCtx) -> Response:
    _admin(w)
    body = {"template_code": w.form.get("template_code", "")[:63]}
    if w.form.get("code", "").strip():
        body["code"] = w.form["code"].strip()[:63]
    try:
        created = w.api(cr.create_service, body)
    except ServiceExists:
        return services(w, error=w.t("Daerah ini sudah mengadopsi templat itu.",
                                     "This region has already adopted that template."), status=409)
    except ValidationFailed as exc:
        return services(w, error=exc.detail, status=422)
    return w.redirect(f"/r/{w.params['slug']}/admin/layanan/{created['id']}")


def skeleton(code: str, name: str, category: str) -> dict:
    """A new service's first draft: the least a valid definition holds (a NIK, one document, the default workflow),
    for the admin to shape in the editor before publishing."""
    return {
        "code": code, "name": {"id": name, "en": name}, "category": category, "description": {"id": name, "en": name},
        "standard": {
            "requirements": [{"name": {"id": "KTP-el pemohon", "en": "The applicant's KTP-el"}, "document": True,
                              "field_key": "ktp"}],
            "procedure": [{"id": "Ajukan permohonan secara daring beserta berkasnya",
                           "en": "Apply online with the documents"},
                          {"id": "Petugas memeriksa dan memproses permohonan",
                           "en": "Staff check and process the application"}],
            "sla_days": 5, "fee": {"kind": "fixed", "amount": 0},
            "output": {"id": name, "en": name},
            "complaints": {"id": "Melalui kanal pengaduan daerah atau SP4N-LAPOR!",
                           "en": "Through the region's complaint channel or SP4N-LAPOR!"}},
        "form": {"fields": [
            {"key": "nik", "label": {"id": "NIK pemohon", "en": "Applicant's NIK"}, "type": "nik"},
            {"key": "ktp", "label": {"id": "KTP-el pemohon", "en": "The applicant's KTP-el"}, "type": "file",
             "accept": ["application/pdf", "image/jpeg", "image/png"], "max_size_mb": 2}]},
        "workflow": {"steps": DEFAULT_WORKFLOW},
    }


@pages.page(ADMIN + "/layanan/baru", methods=("POST",))
def new_service(w: WebCtx) -> Response:
    """A service the library does not have: a first draft from a code, a name and a category, then the editor."""
    _admin(w)
    code, name = w.form.get("code", "").strip()[:63], w.form.get("name", "").strip()[:200]
    category = w.form.get("category", "")
    if not code or not name or category not in CATEGORIES:
        return services(w, error=w.t("Isi kode, nama dan kategori layanan baru.",
                                     "Give the new service a code, a name and a category."), status=422)
    try:
        created = w.api(cr.create_service, {"definition": skeleton(code, name, category)})
    except ServiceExists:
        return services(w, error=w.t(f"Kode {code} sudah dipakai layanan lain di daerah ini.",
                                     f"The code {code} is already used by another service of this region."),
                        status=409)
    except ValidationFailed as exc:
        return services(w, error="; ".join(f"{k}: {v}" for k, v in field_errors(exc).items()), status=422)
    return w.redirect(f"/r/{w.params['slug']}/admin/layanan/{created['id']}")


def _service_values(s: dict) -> MultiDict:
    """A service definition as the editor's fields (the same names the POST sends back)."""
    v: MultiDict = MultiDict()
    _pair(v, "name", s.get("name"))
    _pair(v, "description", s.get("description"))
    v["agency"], v["category"], v["mode"] = s.get("agency") or "", s.get("category") or "", s.get("mode") or "online"
    v["keywords"] = ", ".join(s.get("keywords") or [])
    st = s.get("standard") or {}
    v["sla_days"] = str(st.get("sla_days", ""))
    fee = st.get("fee") or {}
    v["fee_kind"], v["fee_amount"] = fee.get("kind", "fixed"), str(fee.get("amount", 0))
    _pair(v, "fee_basis", fee.get("basis"))
    _pair(v, "output", st.get("output"))
    _pair(v, "complaints", st.get("complaints"))
    procedure = st.get("procedure") or []
    v["procedure_id"] = "\n".join(p.get("id", "") if isinstance(p, dict) else p for p in procedure)
    v["procedure_en"] = "\n".join(p.get("en", "") if isinstance(p, dict) else "" for p in procedure).rstrip("\n")
    requirements = st.get("requirements") or []
    for i, r in enumerate(requirements):
        _pair(v, f"r{i}_name", r.get("name"))
        _pair(v, f"r{i}_description", r.get("description"))
        v[f"r{i}_field_key"] = r.get("field_key") or ""
        if r.get("document", True):
            v[f"r{i}_document"] = "1"
    v["n_req"] = str(len(requirements) + 1)
    fields = (s.get("form") or {}).get("fields") or []
    for i, f in enumerate(fields):
        v[f"f{i}_key"], v[f"f{i}_type"] = f.get("key", ""), f.get("type", "text")
        _pair(v, f"f{i}_label", f.get("label"))
        _pair(v, f"f{i}_help", f.get("help"))
        if f.get("required", True):
            v[f"f{i}_required"] = "1"
        options = []
        for o in f.get("options") or []:
            label = o.get("label")
            parts = [o["value"], *(([label.get("id", ""), label.get("en", "")]) if isinstance(label, dict)
                                   else [label or ""])]
            options.append(" | ".join(p for p in parts if p))
        v[f"f{i}_options"] = "\n".join(options)
        v[f"f{i}_accept"] = ", ".join(f.get("accept") or [])
        v[f"f{i}_max_size_mb"] = "" if f.get("max_size_mb") is None else f"{f['max_size_mb']:g}"
        v[f"f{i}_level"] = f.get("level") or ""
        extra = {k: f[k] for k in ("max_length", "min", "max") if f.get(k) is not None}
        v[f"f{i}_extra"] = json.dumps(extra) if extra else ""
    v["n_fields"] = str(len(fields) + 1)
    v[f"f{len(fields)}_required"] = "1"
    steps = (s.get("workflow") or {}).get("steps") or []
    for i, step in enumerate(steps):
        v[f"s{i}_key"] = step.get("key", "")
        _pair(v, f"s{i}_label", step.get("label"))
        v.setlist(f"s{i}_roles", list(step.get("roles") or []))
        v.setlist(f"s{i}_actions", list(step.get("actions") or []))
        v[f"s{i}_sla_days"] = "" if step.get("sla_days") is None else str(step["sla_days"])
    v["n_steps"] = str(len(steps) + 1)
    return v


def _blank(form: MultiDict, prefix: str, names: tuple[str, ...]) -> bool:
    return not any(form.get(prefix + n, "").strip() for n in names) and not any(
        form.getlist(prefix + n) for n in ("roles", "actions", "service_ids"))


def _service_patch(form: MultiDict) -> tuple[dict, dict[str, list[int]]]:
    """The editor's fields as a merge patch of the definition (only the sections on the page), and for each list the
    editor row of every item sent (to put an error beside the right row)."""
    patch: dict[str, Any] = {}
    rows: dict[str, list[int]] = {"req": [], "field": [], "step": []}
    for name in ("name", "description"):
        if f"{name}_id" in form:
            patch[name] = _text(form.get(f"{name}_id"), form.get(f"{name}_en"))
    if "category" in form:
        patch["category"] = form.get("category", "").strip()
    if "mode" in form:
        patch["mode"] = form.get("mode", "").strip()
    if "agency" in form:
        patch["agency"] = form.get("agency", "").strip() or None
    if "keywords" in form:
        patch["keywords"] = [k.strip() for k in form.get("keywords", "").split(",") if k.strip()]
    standard: dict[str, Any] = {}
    if "sla_days" in form:
        standard["sla_days"] = _number(form.get("sla_days"))
    if "fee_amount" in form:
        standard["fee"] = {"kind": form.get("fee_kind") or "fixed", "amount": _number(form.get("fee_amount"), blank=0),
                           "basis": _text(form.get("fee_basis_id"), form.get("fee_basis_en"), optional=True)}
    for name in ("output", "complaints"):
        if f"{name}_id" in form:
            standard[name] = _text(form.get(f"{name}_id"), form.get(f"{name}_en"))
    if "procedure_id" in form:
        ids = _lines(form.get("procedure_id"))
        ens = [line.strip() for line in (form.get("procedure_en") or "").splitlines()]
        standard["procedure"] = [_text(text, ens[i] if i < len(ens) else "") for i, text in enumerate(ids)]
    if "n_req" in form:
        items = []
        for i in range(_count(form, "n_req")):
            p = f"r{i}_"
            if form.get(p + "remove") or _blank(form, p, ("name_id", "name_en", "description_id", "description_en",
                                                          "field_key")):
                continue
            item: dict[str, Any] = {"name": _text(form.get(p + "name_id"), form.get(p + "name_en")),
                                    "document": bool(form.get(p + "document"))}
            description = _text(form.get(p + "description_id"), form.get(p + "description_en"), optional=True)
            if description is not None:
                item["description"] = description
            if form.get(p + "field_key", "").strip():
                item["field_key"] = form.get(p + "field_key", "").strip()
            items.append(item)
            rows["req"].append(i)
        standard["requirements"] = items
    if standard:
        patch["standard"] = standard
    if "n_fields" in form:
        fields = []
        for i in range(_count(form, "n_fields")):
            p = f"f{i}_"
            if form.get(p + "remove") or _blank(form, p, ("key", "label_id", "label_en", "help_id", "help_en",
                                                          "options", "accept", "max_size_mb")):
                continue
            kind = form.get(p + "type") or "text"
            field: dict[str, Any] = {"key": form.get(p + "key", "").strip(),
                                     "label": _text(form.get(p + "label_id"), form.get(p + "label_en")),
                                     "type": kind, "required": bool(form.get(p + "required"))}
            help_text = _text(form.get(p + "help_id"), form.get(p + "help_en"), optional=True)
            if help_text is not None:
                field["help"] = help_text
            if kind == "select" or _lines(form.get(p + "options")):
                field["options"] = [_option(line) for line in _lines(form.get(p + "options"))]
            if kind == "file" or form.get(p + "accept", "").strip():
                field["accept"] = [m.strip() for m in form.get(p + "accept", "").split(",") if m.strip()]
            if kind == "file" or form.get(p + "max_size_mb", "").strip():
                field["max_size_mb"] = _number(form.get(p + "max_size_mb"), float, blank=None)
            if kind == "region" and form.get(p + "level"):
                field["level"] = form.get(p + "level")
            try:
                extra = json.loads(form.get(p + "extra") or "{}")
            except ValueError:
                extra = {}
            if isinstance(extra, dict):  # what the editor does not show (lengths, bounds) goes back as it was
                kept = {"text": ("max_length",), "textarea": ("max_length",), "number": ("min", "max")}.get(kind, ())
                field.update({k: extra[k] for k in kept if extra.get(k) is not None})
            fields.append(field)
            rows["field"].append(i)
        patch["form"] = {"fields": fields}
    if "n_steps" in form:
        steps = []
        for i in range(_count(form, "n_steps")):
            p = f"s{i}_"
            if form.get(p + "remove") or _blank(form, p, ("key", "label_id", "label_en", "sla_days")):
                continue
            step: dict[str, Any] = {"key": form.get(p + "key", "").strip(),
                                    "label": _text(form.get(p + "label_id"), form.get(p + "label_en")),
                                    "roles": form.getlist(p + "roles"), "actions": form.getlist(p + "actions")}
            if form.get(p + "sla_days", "").strip():
                step["sla_days"] = _number(form.get(p + "sla_days"))
            steps.append(step)
            rows["step"].append(i)
        patch["workflow"] = {"steps": steps}
    return patch, rows


def _option(line: str) -> dict:
    parts = [p.strip() for p in line.split("|")]
    value = parts[0]
    label_id = parts[1] if len(parts) > 1 and parts[1] else value
    label_en = parts[2] if len(parts) > 2 else ""
    return {"value": value, "label": _text(label_id, label_en)}


def _service_input(rows: dict[str, list[int]]):
    """The editor input an error's path names (``["form", "fields", 2, "label", "en"]`` → ``f5_label_en``)."""
    def name_of(path: list) -> str:
        path, lang = _lang_of(path)
        if not path:
            return "_"
        head, rest = path[0], path[1:]
        if head in ("name", "description"):
            return f"{head}_{lang}"
        if head in ("agency", "category", "mode", "keywords", "code"):
            return head
        if head == "standard" and rest:
            part = rest[0]
            if part == "fee":
                sub = rest[1] if len(rest) > 1 else "amount"
                return {"kind": "fee_kind", "basis": f"fee_basis_{lang}"}.get(sub, "fee_amount")
            if part in ("output", "complaints", "procedure"):
                return f"{part}_{lang}"
            if part == "requirements":
                if len(rest) > 1 and isinstance(rest[1], int) and rest[1] < len(rows["req"]):
                    row, attr = rows["req"][rest[1]], (rest[2] if len(rest) > 2 else "name")
                    return f"r{row}_field_key" if attr == "field_key" else (
                        f"r{row}_description_{lang}" if attr == "description" else f"r{row}_name_{lang}")
                return "requirements"
            return part if part == "sla_days" else "standard"
        if head == "form":
            if len(rest) > 1 and isinstance(rest[1], int) and rest[1] < len(rows["field"]):
                row, attr = rows["field"][rest[1]], (rest[2] if len(rest) > 2 else "key")
                if attr in ("label", "help"):
                    return f"f{row}_{attr}_{lang}"
                if attr in ("key", "type", "options", "accept", "max_size_mb", "level"):
                    return f"f{row}_{attr}"
                return f"f{row}_key"
            return "fields"
        if head == "workflow":
            if len(rest) > 1 and isinstance(rest[1], int) and rest[1] < len(rows["step"]):
                row, attr = rows["step"][rest[1]], (rest[2] if len(rest) > 2 else "key")
                if attr == "label":
                    return f"s{row}_label_{lang}"
                return f"s{row}_{attr}" if attr in ("key", "roles", "actions", "sla_days") else f"s{row}_key"
            return "steps"
        return "_"

    return name_of


def _editor(w: WebCtx, service: dict, values: MultiDict, errors: dict[str, str], status: int = 200) -> Response:
    return _render(w, "admin/service_edit.html", "layanan", status=status, service=w.localize(service), v=values,
                   errors=errors, n_req=_count(values, "n_req"), n_fields=_count(values, "n_fields"),
                   n_steps=_count(values, "n_steps"), categories={k: v[w.lang] for k, v in CATEGORIES.items()},
                   field_types=[(k, TYPE_LABELS[k][w.lang == "en"]) for k in FIELD_TYPES],
                   roles=labels.words(w.lang, labels.ROLE),
                   actions=[(a, labels.word(w.lang, labels.ACTION, a)) for a in ACTIONS],
                   levels=_labels(w, LEVELS), status_labels=labels.words(w.lang, labels.SERVICE_STATUS),
                   saved=w.request.args.get("saved"))


def _draft(w: WebCtx) -> dict:
    return w.api(cr.get_service, args={"version": "draft"}, lang="all")


@pages.page(ADMIN + "/layanan/<service_id>", methods=("GET", "POST"))
def edit_service(w: WebCtx) -> Response:
    _admin(w)
    service = _draft(w)
    if w.request.method == "GET":
        return _editor(w, service, _service_values(service), {})
    patch, rows = _service_patch(w.form)
    try:
        w.api(cr.update_service, patch)
    except ValidationFailed as exc:
        return _editor(w, service, w.form, _errors(w, exc, _service_input(rows)), status=422)
    return w.redirect(f"/r/{w.params['slug']}/admin/layanan/{w.params['service_id']}?saved=1")


@pages.page(ADMIN + "/layanan/<service_id>/pratinjau")
def preview(w: WebCtx) -> Response:
    _admin(w)
    service = w.localize(_draft(w))
    return _render(w, "admin/preview.html", "layanan", service=service,
                   status_labels=labels.words(w.lang, labels.SERVICE_STATUS), roles=labels.words(w.lang, labels.ROLE),
                   actions=labels.words(w.lang, labels.ACTION), levels=_labels(w, LEVELS))


@pages.page(ADMIN + "/layanan/<service_id>/terbitkan", methods=("POST",))
def publish(w: WebCtx) -> Response:
    _admin(w)
    w.api(cr.publish_service)
    return w.redirect(f"/r/{w.params['slug']}/admin/layanan?ok=terbit")


@pages.page(ADMIN + "/layanan/<service_id>/arsipkan", methods=("POST",))
def archive(w: WebCtx) -> Response:
    _admin(w)
    w.api(cr.archive_service)
    return w.redirect(f"/r/{w.params['slug']}/admin/layanan?ok=arsip")


# -- the region's menu, home page and branding (PATCH /tenants/{t}) --------------------------------------------------

def _rows_input(prefix: str, section: str, rows: list[int]):
    """The input an error of ``menu``/``dashboard`` names: ``["menu", 2, "label"]`` → ``m<row>_label_id``."""
    def name_of(path: list) -> str:
        path, lang = _lang_of(path)
        if len(path) > 1 and path[0] == section and isinstance(path[1], int) and path[1] < len(rows):
            attr = path[2] if len(path) > 2 else ("key" if prefix == "m" else "kind")
            if attr in ("label", "title", "body"):
                return f"{prefix}{rows[path[1]]}_{attr}_{lang}"
            return f"{prefix}{rows[path[1]]}_{attr}"
        return section

    return name_of


def _ordered(form: MultiDict, prefix: str, n: int) -> list[int]:
    """Rows in the order their "position" inputs give (ties keep the page's order)."""
    def position(i: int) -> tuple[int, int]:
        raw = form.get(f"{prefix}{i}_order", "").strip()
        return (int(raw) if raw.lstrip("-").isdigit() else i + 1, i)

    return sorted(range(n), key=position)


def _menu_values(menu: list[dict]) -> MultiDict:
    v: MultiDict = MultiDict()
    for i, m in enumerate(menu):
        v[f"m{i}_key"], v[f"m{i}_category"], v[f"m{i}_order"] = m.get("key", ""), m.get("category") or "", str(i + 1)
        _pair(v, f"m{i}_label", m.get("label"))
        v.setlist(f"m{i}_service_ids", list(m.get("service_ids") or []))
    v["n_menu"] = str(len(menu) + 1)
    v[f"m{len(menu)}_order"] = str(len(menu) + 1)
    return v


def _menu_patch(form: MultiDict) -> tuple[list[dict], list[int]]:
    items, rows = [], []
    for i in _ordered(form, "m", _count(form, "n_menu")):
        p = f"m{i}_"
        if form.get(p + "remove") or _blank(form, p, ("key", "label_id", "label_en", "category")):
            continue
        item: dict[str, Any] = {"key": form.get(p + "key", "").strip(),
                                "label": _text(form.get(p + "label_id"), form.get(p + "label_en"))}
        if form.get(p + "category"):
            item["category"] = form.get(p + "category")
        if form.getlist(p + "service_ids"):
            item["service_ids"] = form.getlist(p + "service_ids")
        items.append(item)
        rows.append(i)
    return items, rows


def _tenant_list_editor(w: WebCtx, *, field: str, prefix: str, to_values, to_patch, template: str, tab: str,
                        count: str, **extra) -> Response:
    """An editor of one of the region's lists (the menu, the home-page widgets): its rows as form fields, saved
    whole through the tenant patch; a 422 comes back beside the rows' fields with everything typed."""
    _admin(w)
    errors: dict[str, str] = {}
    values: MultiDict = to_values(_raw_tenant(w).get(field) or [])
    status = 200
    if w.request.method == "POST":
        items, rows = to_patch(w.form)
        try:
            w.api(tr.patch_tenant, {field: items})
            return w.redirect(f"/r/{w.params['slug']}/admin/{tab}?saved=1")
        except ValidationFailed as exc:
            values, errors, status = w.form, _errors(w, exc, _rows_input(prefix, field, rows)), 422
    return _render(w, template, tab, status=status, v=values, errors=errors, n=_count(values, count),
                   services=_services(w), saved=w.request.args.get("saved"), **extra)


@pages.page(ADMIN + "/menu", methods=("GET", "POST"))
def menu(w: WebCtx) -> Response:
    return _tenant_list_editor(w, field="menu", prefix="m", to_values=_menu_values, to_patch=_menu_patch,
                               template="admin/menu.html", tab="menu", count="n_menu",
                               categories={k: v[w.lang] for k, v in CATEGORIES.items()})


def _widget_values(widgets: list[dict]) -> MultiDict:
    v: MultiDict = MultiDict()
    for i, d in enumerate(widgets):
        v[f"d{i}_kind"], v[f"d{i}_order"] = d.get("kind", ""), str(i + 1)
        _pair(v, f"d{i}_title", d.get("title"))
        _pair(v, f"d{i}_body", d.get("body"))
        v.setlist(f"d{i}_service_ids", list(d.get("service_ids") or []))
    v["n_widgets"] = str(len(widgets) + 1)
    v[f"d{len(widgets)}_order"] = str(len(widgets) + 1)
    return v


def _widget_patch(form: MultiDict) -> tuple[list[dict], list[int]]:
    items, rows = [], []
    for i in _ordered(form, "d", _count(form, "n_widgets")):
        p = f"d{i}_"
        if form.get(p + "remove") or _blank(form, p, ("kind", "title_id", "title_en", "body_id", "body_en")):
            continue
        item: dict[str, Any] = {"kind": form.get(p + "kind", "")}
        for name in ("title", "body"):
            text = _text(form.get(f"{p}{name}_id"), form.get(f"{p}{name}_en"), optional=True)
            if text is not None:
                item[name] = text
        if form.getlist(p + "service_ids"):
            item["service_ids"] = form.getlist(p + "service_ids")
        items.append(item)
        rows.append(i)
    return items, rows


@pages.page(ADMIN + "/beranda", methods=("GET", "POST"))
def home_page(w: WebCtx) -> Response:
    return _tenant_list_editor(w, field="dashboard", prefix="d", to_values=_widget_values, to_patch=_widget_patch,
                               template="admin/home.html", tab="beranda", count="n_widgets",
                               kinds=_labels(w, WIDGET_LABELS))


def contrast_with_white(color: str) -> float | None:
    """WCAG 2.1 contrast ratio of white text on ``#rrggbb`` (None for anything else)."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
        return None

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return round(1.05 / (luminance + 0.05), 2)


@pages.page(ADMIN + "/tampilan", methods=("GET", "POST"))
def branding(w: WebCtx) -> Response:
    _admin(w)
    current = _raw_tenant(w).get("branding") or {}
    values: MultiDict = MultiDict({"display_name": current.get("display_name") or "",
                                   "primary_color": current.get("primary_color") or "#0b5394",
                                   "logo_url": current.get("logo_url") or ""})
    errors: dict[str, str] = {}
    status = 200
    if w.request.method == "POST":
        form = w.form
        body = {"display_name": form.get("display_name", "").strip() or None,
                "primary_color": form.get("primary_color", "").strip().lower(),
                "logo_url": form.get("logo_url", "").strip() or None}
        try:
            w.api(tr.patch_tenant, {"branding": body})
            return w.redirect(f"/r/{w.params['slug']}/admin/tampilan?saved=1")
        except ValidationFailed as exc:
            values, status = form, 422
            errors = _errors(w, exc, lambda path: path[-1] if path else "_")
            if "primary_color" in errors:
                errors["primary_color"] = w.t("Isi warna sebagai #RRGGBB, mis. #0b5394",
                                              "Enter the colour as #RRGGBB, e.g. #0b5394")
    ratio = contrast_with_white(values.get("primary_color", ""))
    return _render(w, "admin/branding.html", "tampilan", status=status, v=values, errors=errors, ratio=ratio,
                   saved=w.request.args.get("saved"))


# -- staff -------------------------------------------------------------------------------------------------------------

def _staff_list(w: WebCtx) -> list[dict]:
    found, cursor = [], None
    for _ in range(20):
        page = w.api(tr.list_staff, args={"limit": 100, "cursor": cursor})
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return found


@pages.page(ADMIN + "/staf", methods=("GET", "POST"))
def staff(w: WebCtx) -> Response:
    _admin(w)
    values: MultiDict = MultiDict()
    errors: dict[str, str] = {}
    status = 200
    if w.request.method == "POST":
        form = w.form
        body = {"email": form.get("email", "").strip(), "full_name": form.get("full_name", "").strip(),
                "password": form.get("password", ""), "roles": form.getlist("roles")}
        try:
            created = w.api(tr.create_staff, body)
            return w.redirect(f"/r/{w.params['slug']}/admin/staf?" + urlencode({"dibuat": created["email"]}))
        except ValidationFailed as exc:
            errors = _errors(w, exc, lambda path: path[0] if path and path[0] in body else "_")
            if "password" in errors:
                errors["password"] = w.t("Kata sandi paling sedikit 8 karakter", "A password has at least 8 characters")
            if "roles" in errors:
                errors["roles"] = w.t("Pilih paling sedikit satu peran", "Choose at least one role")
            status = 422
        except AccountExists:
            errors = {"email": w.t("Sudah ada akun dengan email ini", "An account with this email exists")}
            status = 409
        values = MultiDict([(k, v) for k, v in form.items(multi=True) if k != "password"])
    return _render(w, "admin/staff.html", "staf", status=status, staff=_staff_list(w), v=values, errors=errors,
                   roles=labels.words(w.lang, labels.ROLE), role_keys=STAFF_ROLES, created=w.request.args.get("dibuat"),
                   removed=w.request.args.get("dinonaktifkan"))


@pages.page(ADMIN + "/staf/<account_id>/nonaktifkan", methods=("POST",))
def deactivate_staff(w: WebCtx) -> Response:
    _admin(w)
    w.api(tr.delete_staff)
    return w.redirect(f"/r/{w.params['slug']}/admin/staf?dinonaktifkan=1")


# -- subscriptions of regional systems ---------------------------------------------------------------------------------

@pages.page(ADMIN + "/langganan", methods=("GET", "POST"))
def subscriptions(w: WebCtx) -> Response:
    _admin(w)
    created, errors, values, status = None, {}, MultiDict(), 200
    if w.request.method == "POST":
        kind = w.form.get("kind", "")
        body = {"kind": kind, **({"url": w.form.get("url", "").strip()} if kind == "webhook" else {})}
        try:
            created = w.api(ar.create_subscription, body)
        except ValidationFailed as exc:
            errors = _errors(w, exc, lambda path: "url" if path and path[0] == "url" else "_")
            values, status = w.form, 422
    items = w.api(ar.list_subscriptions)["items"]
    return _render(w, "admin/subscriptions.html", "langganan", status=status, items=items, created=created,
                   errors=errors, v=values, revoked=w.request.args.get("dicabut"))


@pages.page(ADMIN + "/langganan/<subscription_id>")
def deliveries(w: WebCtx) -> Response:
    _admin(w)
    sid = w.params["subscription_id"]
    subscription = next((s for s in w.api(ar.list_subscriptions)["items"] if s["id"] == sid), None)
    log = w.api(ar.subscription_deliveries)["items"]
    return _render(w, "admin/deliveries.html", "langganan", subscription=subscription, log=log, sid=sid)


@pages.page(ADMIN + "/langganan/<subscription_id>/cabut", methods=("POST",))
def revoke(w: WebCtx) -> Response:
    _admin(w)
    w.api(ar.revoke_subscription)
    return w.redirect(f"/r/{w.params['slug']}/admin/langganan?dicabut=1")
