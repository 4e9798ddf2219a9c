"""Message templates per type and language (Jinja2, sandboxed): Indonesian and English defaults, which a region may
override; an override is rendered against sample data when saved, so a broken one is refused then, not at send."""
from __future__ import annotations

import functools
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from mppi.contracts.common import localize
from mppi.contracts.errors import ValidationFailed, field_error

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)

STATUS_LABELS = {
    "id": {"submitted": "diterima", "in_review": "sedang diperiksa", "revision_requested": "perlu perbaikan",
           "approved": "disetujui", "rejected": "ditolak", "completed": "selesai"},
    "en": {"submitted": "received", "in_review": "under review", "revision_requested": "needs changes",
           "approved": "approved", "rejected": "rejected", "completed": "completed"},
}

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("application_submitted", "id"): (
        "Permohonan {{ tracking_number }} diterima",
        "Permohonan {{ service_name }} Anda di {{ tenant_name }} telah kami terima dengan nomor {{ tracking_number }}. "
        "Target selesai: {{ sla_due }}."),
    ("application_submitted", "en"): (
        "Application {{ tracking_number }} received",
        "Your application for {{ service_name }} in {{ tenant_name }} was received as {{ tracking_number }}. "
        "Due by {{ sla_due }}."),
    ("application_status_changed", "id"): (
        "Permohonan {{ tracking_number }} {{ status_label }}",
        "Status permohonan {{ service_name }} Anda kini: {{ status_label }}."
        "{% if note %} Catatan petugas: {{ note }}{% endif %}"),
    ("application_status_changed", "en"): (
        "Application {{ tracking_number }} {{ status_label }}",
        "Your {{ service_name }} application is now {{ status_label }}.{% if note %} Note: {{ note }}{% endif %}"),
    ("survey_invitation", "id"): (
        "Bagaimana layanan kami?",
        "Dokumen untuk {{ tracking_number }} sudah terbit. Mohon isi survei kepuasan (SKM) untuk {{ service_name }}."),
    ("survey_invitation", "en"): (
        "How did we do?",
        "The document for {{ tracking_number }} has been issued. Please answer the satisfaction survey."),
    ("work_assigned", "id"): (
        "Tugas baru: {{ tracking_number }}",
        "Permohonan {{ service_name }} ({{ tracking_number }}) menunggu tindakan Anda di tahap {{ step }}. "
        "Batas waktu: {{ sla_due }}."),
    ("work_assigned", "en"): (
        "New work: {{ tracking_number }}",
        "Application {{ tracking_number }} ({{ service_name }}) waits for you at step {{ step }}. Due {{ sla_due }}."),
    ("sla_breached", "id"): (
        "Lewat batas waktu: {{ tracking_number }}",
        "Permohonan {{ service_name }} ({{ tracking_number }}) telah melewati batas waktu layanan."),
    ("sla_breached", "en"): (
        "Past due: {{ tracking_number }}",
        "Application {{ tracking_number }} ({{ service_name }}) is past its service deadline."),
    ("webhook_disabled", "id"): (
        "Webhook dinonaktifkan",
        "Semua pengiriman ke webhook {{ subscription_id }} gagal selama 3 hari, sehingga webhook dinonaktifkan. "
        "Periksa alamatnya lalu buat langganan baru."),
    ("webhook_disabled", "en"): (
        "Webhook disabled",
        "Every delivery to webhook {{ subscription_id }} failed for 3 days, so it was disabled. Check the endpoint "
        "and subscribe again."),
}
TYPES = sorted({t for t, _ in DEFAULTS})
SAMPLE = {"tracking_number": "SNJ-26-7K3Q9X", "service_name": "Akta Kelahiran", "tenant_name": "Kabupaten Sinjai",
          "status": "in_review", "status_label": "sedang diperiksa", "note": "Contoh catatan", "step": "verification",
          "sla_due": "04-12-2026 16:00", "subscription_id": "sub123"}


def render(type_: str, lang: str, params: dict[str, Any],
           overrides: dict[tuple[str, str], tuple[str, str]] | None = None) -> tuple[str, str]:
    """Title and body of a message in ``lang`` (Indonesian when there is no such language)."""
    lang = lang if (type_, lang) in DEFAULTS else "id"
    title, body = (overrides or {}).get((type_, lang)) or DEFAULTS[(type_, lang)]
    values = {**params, "status_label": STATUS_LABELS[lang].get(params.get("status", ""), params.get("status", ""))}
    values["service_name"] = str(localize(params.get("service_name"), lang) or "")
    try:
        return _compiled(title).render(values), _compiled(body).render(values)
    except TemplateError:
        title, body = DEFAULTS[(type_, lang)]
        return _compiled(title).render(values), _compiled(body).render(values)


@functools.lru_cache(maxsize=2048)
def _compiled(source: str):
    """A template compiled once: compiling is most of rendering's cost (a region's overrides are few)."""
    return ENV.from_string(source)


def check_override(type_: str, lang: str, title: str, body: str) -> None:
    """Refuse an override that does not parse or render with the data its type provides."""
    problems = []
    if type_ not in TYPES:
        problems.append(field_error(["path", "type"], f"unknown type; one of {', '.join(TYPES)}"))
    if lang not in ("id", "en"):
        problems.append(field_error(["path", "language"], "id or en"))
    for name, text in (("title", title), ("body", body)):
        try:
            ENV.from_string(text).render(SAMPLE)
        except TemplateError as exc:
            problems.append(field_error(["body", name], f"template error: {exc}"))
    if problems:
        raise ValidationFailed("the template cannot be used", problems)
