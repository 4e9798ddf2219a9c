"""Use cases of the applications service: each takes its dependencies as parameters and runs one unit of work."""
from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mppi.contracts import applications as c
from mppi.contracts.common import decode_cursor, encode_cursor, localize
from mppi.contracts.errors import (
    ActionNotAllowed,
    FileTooLarge,
    Forbidden,
    NotFound,
    ServiceNotPublished,
    SurveyExists,
    UnsupportedFileType,
    ValidationFailed,
    field_error,
)
from mppi.contracts.events import (
    ApplicationCompleted,
    ApplicationSlaBreached,
    ApplicationStatusChanged,
    ApplicationSubmitted,
    ServiceArchived,
    ServicePublished,
)
from mppi.indonesia.ikm import ReportingPeriod, compute_ikm, validate_answers
from mppi.indonesia.masking import mask_detail, mask_name
from mppi.indonesia.nik import mask_nik
from mppi.indonesia.regions import get_regency, timezone_label
from mppi.indonesia.workdays import OfficeHours, WorkingCalendar
from mppi.runtime.blobstore import BlobStore
from mppi.runtime.database import UnitOfWork, id_for_request, utcnow
from services.applications import orm
from services.applications import repository as repo
from services.applications.documents import IssuedDocument, render_issued_document
from services.applications.domain.application import Application, submit
from services.applications.domain.files import check_file, clean_filename, download_name, response_status, sniff
from services.applications.domain.form import check_form
from services.applications.domain.tracking import new_tracking_number
from services.applications.domain.verification import code_attests, make_code, tracking_number_of

UowFactory = Callable[[], UnitOfWork]
V, OPEN, A, S = orm.service_versions, orm.open_services, orm.applications, orm.surveys
STAFF = {"tenant_admin", "verifier", "approver", "operator"}


@dataclass(frozen=True)
class Actor:
    id: str
    roles: frozenset[str]
    tenant: str | None
    name: str = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> Actor:
        return cls(id=data["id"], roles=frozenset(data.get("roles", ())), tenant=data.get("tenant"),
                   name=data.get("name", ""))

    def is_staff_of(self, tenant: str) -> bool:
        return self.tenant == tenant and bool(self.roles & STAFF)


class Renderer(Protocol):
    def run(self, fn, *args, timeout: float = 60): ...


def calendar_of(tenant: dict[str, Any]) -> WorkingCalendar:
    """The region's working calendar from its public config (timezone, office hours, own holidays)."""
    return WorkingCalendar(timezone=tenant["timezone"], office_hours=OfficeHours.from_config(tenant["office_hours"]),
                           extra_holidays=[date.fromisoformat(d) for d in tenant.get("holidays", [])])


# -- kept service versions (from catalog events) ----------------------------------------------------------------

def keep_published_version(event: ServicePublished, *, handler: str, uow: UowFactory) -> bool:
    """Store the published version (never overwriting one already kept) and open it for new applications."""
    s = event.service
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        key = (V.c.tenant == event.tenant) & (V.c.service_id == s["id"]) & (V.c.version == s["version"])
        if u.execute(sa.select(V.c.version).where(key)).first() is None:
            u.execute(V.insert().values(tenant=event.tenant, service_id=s["id"], version=s["version"], code=s["code"],
                                        definition=s, received_at=utcnow()))
        is_this = (OPEN.c.tenant == event.tenant) & (OPEN.c.service_id == s["id"])
        current = u.execute(sa.select(OPEN.c.version).where(is_this)).first()
        if current is None:
            u.execute(OPEN.insert().values(tenant=event.tenant, service_id=s["id"], version=s["version"]))
        elif current.version <= s["version"]:
            u.execute(OPEN.update().where(is_this).values(version=s["version"]))
        u.commit()
    return True


def close_service(event: ServiceArchived, *, handler: str, uow: UowFactory) -> bool:
    with uow() as u:
        if not u.claim_event(handler, event.event_id):
            return False
        u.execute(OPEN.delete().where(OPEN.c.tenant == event.tenant, OPEN.c.service_id == event.service_id))
        u.commit()
    return True


def get_service_version(tenant: str, service_id: str, version: int | None, *, uow: UowFactory) -> dict | None:
    """A kept version; with ``version=None`` the one open for new applications."""
    with uow() as u:
        if version is None:
            return repo.open_version(u, tenant, service_id)
        return repo.version(u, tenant, service_id, version)


# -- submission ---------------------------------------------------------------------------------------------------

def _check_files(fields: list[dict], files: list[c.FileRef], blobs: BlobStore,
                 places: dict[str, str]) -> tuple[list, list, dict[str, str]]:
    by_key = {f["key"]: f for f in fields if f["type"] == "file"}
    hints, problems, sniffed = [], [], {}
    for ref in files:
        field = by_key.get(ref.field)
        if field is None:
            continue  # check_form names a file sent for a key that is not a file field
        head = blobs.head(_where_now(ref, places[ref.field], blobs))  # the first bytes only: nothing uploaded is
        hint, found = check_file(field, size=ref.size, head=head,  # ever decoded or unpacked
                                 loc=("body", "files", ref.field), filename=ref.filename)
        hints.append(hint)
        problems.extend(found)
        sniffed[ref.field] = sniff(head) or "application/octet-stream"
    return hints, problems, sniffed


def _where_now(ref: c.FileRef, place: str, blobs: BlobStore) -> str:
    """Where a staged file is: still in staging, or already at its ``place`` among the application's documents
    when this request is a redelivery of one whose service was killed between moving the files and committing."""
    if blobs.exists(ref.key):
        return ref.key
    if blobs.exists(place):
        return place
    raise ValidationFailed("an uploaded file is no longer there; send it again",
                           [field_error(["body", "files", ref.field], "the uploaded file is no longer there; "
                                                                       "send it again")])


def _places(tenant: str, app_id: str, files: list[c.FileRef], suffix: str = "") -> dict[str, str]:
    """Where each file goes among the application's documents: the same for a redelivered request."""
    return {ref.field: f"documents/{tenant}/{app_id}/{ref.field}{suffix}" for ref in files}


def _refuse(problems: list[dict], hints: list, other: int) -> None:
    status = response_status(hints, other)
    exc = {413: FileTooLarge, 415: UnsupportedFileType}.get(status, ValidationFailed)
    raise exc("; ".join(p["msg"] for p in problems), problems)


def _keep_documents(files: list[c.FileRef], places: dict[str, str], sniffed: dict[str, str],
                    blobs: BlobStore) -> list[dict[str, Any]]:
    documents = []
    for ref in files:
        key = places[ref.field]
        if _where_now(ref, key, blobs) == ref.key:
            blobs.move(ref.key, key)
        documents.append({"key": ref.field, "blob": key, "filename": clean_filename(ref.filename, ref.field),
                          "size": ref.size,
                          "sha256": ref.sha256, "content_type": sniffed[ref.field]})
    return documents


def submit_application(tenant: dict[str, Any], cmd: c.SubmissionData, files: list[c.FileRef], *, actor: Actor,
                       request_key: str, uow: UowFactory, blobs: BlobStore, now: datetime | None = None
                       ) -> dict[str, Any]:
    """Validate against the open published version, keep the documents, record the application and its event.
    Nothing is half-stored: a refused submission's staged files are deleted. The same ``request_key`` again
    answers with the application it made, and the files sent with the repeat are deleted."""
    slug = tenant["slug"]
    now = now or utcnow()
    app_id = id_for_request(slug, actor.id, cmd.service_id, request_key)  # so a repeat finds what it made
    kept: list[dict[str, Any]] = []
    try:
        for attempt in range(5):  # one unit of work; a new one only if a tracking number collided
            with uow() as u:
                made = repo.get(u, slug, app_id)
                if made is not None:
                    _delete_staged(files, blobs)
                    return view(made, actor)
                version = repo.open_version(u, slug, cmd.service_id)
                if version is None:
                    if repo.service_known(u, slug, cmd.service_id):
                        raise ServiceNotPublished("the service is not open for applications")
                    raise NotFound("service not found")
                if not kept:
                    fields = version["form"]["fields"]
                    places = _places(slug, app_id, files)
                    clean, problems = check_form(fields, cmd.form, uploaded={f.field for f in files})
                    hints, file_problems, sniffed = _check_files(fields, files, blobs, places)
                    if problems or file_problems:
                        _refuse(problems + file_problems, hints, len(problems))
                    kept = _keep_documents(files, places, sniffed, blobs)
                service = {"id": version["id"], "version": version["version"], "code": version["code"],
                           "name": version["name"], "output": version["standard"].get("output")}
                app = submit(id=app_id, tenant=slug, tracking_number=new_tracking_number(slug, now.year),
                             service=service, workflow=version["workflow"]["steps"], applicant_id=actor.id,
                             applicant_name=actor.name, form=clean, documents=kept, now=now,
                             calendar=calendar_of(tenant), sla_days=version["standard"]["sla_days"])
                try:
                    repo.add(u, app)
                    u.emit(ApplicationSubmitted(tenant=slug, data=_event_data(app)))
                    u.commit()
                    break
                except IntegrityError:
                    if attempt == 4:
                        raise
                    # the tracking number collided, or the same request committed meanwhile: the next round tells
        return view(app, actor)
    except BaseException:
        _delete_staged(files, blobs)
        for d in kept:
            blobs.delete(d["blob"])
        raise


def _delete_staged(files: list[c.FileRef], blobs: BlobStore) -> None:
    for ref in files:
        blobs.delete(ref.key)


def _event_data(app: Application, **extra) -> dict[str, Any]:
    step = app.current_step() if app.is_open and app.status != "revision_requested" else None
    return {"application_id": app.id, "tracking_number": app.tracking_number, "service_id": app.service["id"],
            "service_code": app.service["code"], "service_name": app.service["name"], "status": app.status,
            "step": app.step, "step_roles": step["roles"] if step else [], "applicant_id": app.applicant_id,
            "sla_due_at": app.sla_due_at.isoformat(), **extra}


# -- reading ------------------------------------------------------------------------------------------------------

def _visible(app: Application | None, actor: Actor) -> Application:
    if app is None or not (app.applicant_id == actor.id or actor.is_staff_of(app.tenant)):
        raise NotFound("application not found")  # never reveal that it exists
    return app


def view(app: Application, actor: Actor) -> dict[str, Any]:
    is_applicant = app.applicant_id == actor.id
    roles = set(actor.roles) if actor.is_staff_of(app.tenant) else set()
    return {
        "id": app.id, "tenant": app.tenant, "tracking_number": app.tracking_number, "status": app.status,
        "step": app.step,
        "service": {"id": app.service["id"], "version": app.service["version"], "name": app.service["name"],
                    "code": app.service["code"]},
        "form": app.form,
        "documents": [{k: d[k] for k in ("key", "filename", "size", "sha256", "content_type")} for d in app.documents],
        "history": [t.public() for t in app.history],
        "submitted_at": app.submitted_at.isoformat(), "sla_due_at": app.sla_due_at.isoformat(),
        "allowed_actions": app.allowed_actions(roles=roles, is_applicant=is_applicant),
        "output": {"url": f"/api/v1/tenants/{app.tenant}/applications/{app.id}/output"} if app.output else None,
        "applicant_name": app.applicant_name,
    }


def get_application(tenant: str, app_id: str, *, actor: Actor, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        app = _visible(repo.get(u, tenant, app_id), actor)
        answered = not app.is_open and repo.has_survey(u, tenant, app_id)
        return {**view(app, actor), "survey_answered": answered}


def _summaries(rows) -> list[dict[str, Any]]:
    """List items from ``repo.inbox`` or ``repo.of_applicant`` rows (the same columns in the same order; the staff
    inbox adds the applicant's name). Rows are unpacked, not read by attribute: a page is read often, and a Row's
    attribute costs about four times an unpacked column."""
    out = []
    for tenant, app_id, number, service, status, step, submitted_at, due, *name in rows:
        summary = {"id": app_id, "tenant": tenant, "tracking_number": number,
                   "service": {"id": service["id"], "name": service["name"]}, "status": status, "step": step,
                   "submitted_at": submitted_at.isoformat(), "sla_due_at": due.isoformat()}
        if name:
            summary["applicant_name"] = name[0]
        out.append(summary)
    return out


def inbox(tenant: str, *, actor: Actor, status: str | None, service_id: str | None, limit: int,
          cursor: str | None, uow: UowFactory) -> dict[str, Any]:
    if not actor.is_staff_of(tenant):
        raise NotFound("not found")
    statuses = [status] if status else list(c.OPEN_STATUSES)
    with uow() as u:
        rows = repo.inbox(u, tenant, statuses=statuses, service_id=service_id, limit=limit + 1,
                          after=decode_cursor(cursor))
    items = _summaries(rows[:limit])
    last = rows[limit - 1] if len(rows) > limit else None
    return {"items": items, "next_cursor": encode_cursor(last.sla_due_at, last.id) if last else None}


def my_applications(*, actor: Actor, limit: int, cursor: str | None, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        rows = repo.of_applicant(u, actor.id, limit=limit + 1, after=decode_cursor(cursor))
    items = _summaries(rows[:limit])
    last = rows[limit - 1] if len(rows) > limit else None
    return {"items": items, "next_cursor": encode_cursor(last.submitted_at, last.id) if last else None}


def track(tracking_number: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        app = repo.get_by_tracking(u, tracking_number.strip().upper())
    if app is None:
        raise NotFound("no application with this tracking number")
    return {"tracking_number": app.tracking_number, "tenant": app.tenant, "service_name": app.service["name"],
            "status": app.status, "submitted_at": app.submitted_at.isoformat(),
            "updated_at": app.updated_at.isoformat(), "sla_due_at": app.sla_due_at.isoformat()}


def document(tenant: str, app_id: str, key: str, *, actor: Actor, uow: UowFactory) -> dict[str, Any]:
    """Where a document lies, for the gateway to stream, once the caller may see it; the name to save it under
    ends in the extension of its sniffed type, whatever the applicant called it."""
    with uow() as u:
        app = _visible(repo.get(u, tenant, app_id, with_history=False), actor)
    doc = next((d for d in app.documents if d["key"] == key), None)
    if doc is None:
        raise NotFound("no such document")
    return {"blob": doc["blob"], "filename": download_name(doc["filename"], doc["content_type"]),
            "content_type": doc["content_type"], "size": doc["size"]}


def output(tenant: str, app_id: str, *, actor: Actor, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        app = _visible(repo.get(u, tenant, app_id, with_history=False), actor)
    if not app.output:
        raise NotFound("nothing has been issued for this application yet")
    return {"blob": app.output["blob"], "filename": f"{app.tracking_number}.pdf", "content_type": "application/pdf"}


def verify(code: str, *, secret: bytes, uow: UowFactory, tenant: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the public verify page shows of a genuine issued document: the facts its receipt prints, the holder's
    name and other details masked, the time in the region's zone. ``tenant`` (the region's config) is needed only
    for a legacy code, whose document kept no facts: without it the answer has no region and a UTC time."""
    tracking_number = tracking_number_of(code)
    if tracking_number is None:
        raise NotFound("not a document issued here")
    with uow() as u:
        app = repo.get_by_tracking(u, tracking_number)
    issued = app.output if app is not None and app.status == "completed" else None
    facts = (issued or {}).get("facts")
    if not issued or not code_attests(secret, code, facts) or not hmac.compare_digest(issued.get("code", ""), code):
        raise NotFound("not a document issued here")
    bound = facts is not None
    if not bound:
        facts = _legacy_facts(app, tenant)
    zone = facts["timezone"]
    return {"valid": True, "tracking_number": app.tracking_number, "tenant": app.tenant,
            "service_name": app.service["name"], "issued_at": facts["issued_at"],
            "region_code": facts["region_code"], "region_name": facts["region_name"], "timezone": zone,
            "timezone_label": timezone_label(zone) if zone else None, "output_name": facts["output_name"],
            "holder": mask_name(facts["holder"]),
            "details": [{"label": label, "value": mask_detail(value)} for label, value in facts["details"]],
            "content_bound": bound, "document_sha256": issued.get("sha256")}


def _legacy_facts(app: Application, tenant: dict[str, Any] | None) -> dict[str, Any]:
    """What the application itself still says of a document issued before documents kept their facts (a completed
    application changes no more); its details rows are not claimed: that receipt's layout is not recorded."""
    issued_at = datetime.fromisoformat(app.output["issued_at"])
    zone = tenant["timezone"] if tenant else None
    return {"tracking_number": app.tracking_number, "region_code": tenant["region_code"] if tenant else None,
            "region_name": official_region_name(tenant) if tenant else None,
            "service_name": _text(app.service["name"]), "output_name": _text(app.service.get("output") or
                                                                             app.service["name"]),
            "holder": app.applicant_name,
            "issued_at": (issued_at.astimezone(ZoneInfo(zone)) if zone else issued_at).isoformat(timespec="seconds"),
            "timezone": zone, "details": []}


# -- workflow -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Issuer:
    """What issuing a document needs: the subprocess pool, the blob store, the signing key, the public URL."""

    pool: Renderer
    blobs: BlobStore
    secret: bytes
    public_url: str


def act(tenant: dict[str, Any], app_id: str, cmd: c.ActionRequest, *, actor: Actor, request_key: str,
        uow: UowFactory, issuer: Issuer, now: datetime | None = None,
        resubmission: tuple[dict, list[c.FileRef]] | None = None) -> dict[str, Any]:
    """One workflow action. A resubmission's files are kept only when it commits: staged files it did not take
    (refused, or sent with another action) are deleted, and so are the documents its new files replaced. The same
    ``request_key`` again (a redelivery, or a client's retry) acts no more: it answers with the application."""
    slug = tenant["slug"]
    now = now or utcnow()
    calendar = calendar_of(tenant)
    data, files = resubmission or (None, [])
    documents: list[dict[str, Any]] | None = None
    replaced: list[str] = []
    try:
        with uow() as u:
            app = _visible(repo.get(u, slug, app_id, for_update=True), actor)
            request = id_for_request(app_id, actor.id, cmd.action, request_key)
            if u.claimed("act", request):  # done already (the finally block deletes what the repeat staged)
                return view(app, actor)
            if cmd.action == "resubmit":
                if app.applicant_id != actor.id:
                    raise NotFound("application not found") if not actor.is_staff_of(slug) else \
                        Forbidden("only the applicant resubmits")
                form, documents = _resubmission(u, app, data, files, issuer.blobs)
                before = {d["key"]: d["blob"] for d in app.documents}
                replaced = [before[d["key"]] for d in documents or [] if before.get(d["key"]) not in (None, d["blob"])]
                t = app.resubmit(actor_id=actor.id, now=now, calendar=calendar, form=form, documents=documents,
                                 note=cmd.note)
            else:
                roles = set(actor.roles) if actor.is_staff_of(slug) else set()
                t = app.act(cmd.action, actor_id=actor.id, roles=roles, now=now, calendar=calendar, note=cmd.note)
            completed = app.status == "completed"
            if completed:
                app.output = _issue(app, tenant, issuer, now)
            if not u.claim_event("act", request):  # a twin of this request got here first (on PostgreSQL the
                return view(repo.get(u, slug, app_id), actor)  # row lock above keeps it out; SQLite has none)
            repo.save(u, app, completed_at=now if completed else None)
            u.emit(ApplicationStatusChanged(tenant=slug, data=_event_data(
                app, from_status=t.from_status, action=t.action, actor_role=t.actor_role, note=t.note)))
            if completed:
                u.emit(ApplicationCompleted(tenant=slug, data=_event_data(app)))
            u.commit()
    except BaseException:
        for d in documents or []:  # moved in, but the action did not happen
            issuer.blobs.delete(d["blob"])
        raise
    finally:
        _delete_staged(files, issuer.blobs)  # not taken (those taken were moved away already)
    for blob in replaced:  # nothing refers to them any more
        issuer.blobs.delete(blob)
    return view(app, actor)


def _resubmission(u: UnitOfWork, app: Application, data: dict[str, Any] | None, files: list[c.FileRef],
                  blobs: BlobStore) -> tuple[dict | None, list | None]:
    """Check a resubmission's changed form and files against the version applied for; keep the new files."""
    if data is None and not files:
        return None, None
    version = u.execute(sa.select(V.c.definition).where(V.c.tenant == app.tenant, V.c.service_id == app.service["id"],
                                                        V.c.version == app.service["version"])).first().definition
    fields = version["form"]["fields"]
    form = data if data is not None else app.form
    clean, problems = check_form(fields, form, uploaded={d["key"] for d in app.documents} | {f.field for f in files})
    places = _places(app.tenant, app.id, files, suffix=f"-r{len(app.history)}")
    hints, file_problems, sniffed = _check_files(fields, files, blobs, places)
    if problems or file_problems:
        _refuse(problems + file_problems, hints, len(problems))
    return clean, _keep_documents(files, places, sniffed, blobs)


def official_region_name(tenant: dict[str, Any]) -> str:
    """The region's name in the Kemendagri list (``Kabupaten Sinjai``): what documents print, whatever display name
    its admin has given it."""
    region = get_regency(tenant.get("region_code", ""))
    return region.name if region is not None else tenant["name"]


def receipt_facts(app: Application, tenant: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What the receipt prints, as kept with it and signed by its code (``domain.verification``)."""
    zone = tenant["timezone"]
    return {"tracking_number": app.tracking_number, "region_code": tenant["region_code"],
            "region_name": official_region_name(tenant), "service_name": _text(app.service["name"]),
            "output_name": _text(app.service.get("output") or app.service["name"]), "holder": app.applicant_name,
            "issued_at": now.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds"), "timezone": zone,
            "details": [[label, value] for label, value in _details(app)]}


def _issue(app: Application, tenant: dict[str, Any], issuer: Issuer, now: datetime) -> dict[str, Any]:
    facts = receipt_facts(app, tenant, now)
    code = make_code(issuer.secret, app.tracking_number, facts)
    local = datetime.fromisoformat(facts["issued_at"])
    doc = IssuedDocument(
        region_name=facts["region_name"],
        primary_color=tenant.get("branding", {}).get("primary_color") or "#0b5394",
        service_name=facts["service_name"], output_name=facts["output_name"], applicant_name=facts["holder"],
        tracking_number=app.tracking_number,
        issued_at=f"{local:%d-%m-%Y %H:%M} {timezone_label(facts['timezone'])}".strip(),
        verify_url=f"{issuer.public_url}/verify/{code}", details=tuple(tuple(d) for d in facts["details"]))
    pdf = issuer.pool.run(render_issued_document, doc, timeout=60)
    key = f"outputs/{app.tenant}/{app.id}.pdf"
    issuer.blobs.put(key, io.BytesIO(pdf), content_type="application/pdf")
    return {"blob": key, "code": code, "issued_at": facts["issued_at"], "facts": facts,
            "sha256": hashlib.sha256(pdf).hexdigest()}


def _text(value: Any) -> str:
    return str(localize(value, "id") or "")


def _details(app: Application):
    """The first answers of the form, for the document: enough to identify it, not the whole file."""
    for key, value in list(app.form.items())[:10]:
        if isinstance(value, str) and len(value) == 16 and value.isdigit():
            value = mask_nik(value)  # a NIK on a public-facing document is masked
        yield key.replace("_", " ").capitalize(), str(value)[:120]


# -- SLA ----------------------------------------------------------------------------------------------------------

def check_sla(*, uow: UowFactory, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Emit ``application_sla_breached`` once for each open application past its due time; the region of each."""
    now = now or utcnow()
    with uow() as u:
        overdue = repo.overdue(u, now, limit=limit)
    breached = []
    for slug, app_id in overdue:
        with uow() as u:
            app = repo.get(u, slug, app_id, for_update=True, with_history=False)
            if app and app.breach(now):
                repo.save(u, app)
                u.emit(ApplicationSlaBreached(tenant=slug, data=_event_data(app)))
                u.commit()
                breached.append(slug)
    return breached


# -- survey and statistics ----------------------------------------------------------------------------------------

def submit_survey(tenant: str, app_id: str, cmd: c.SurveyAnswers, *, actor: Actor, request_key: str,
                  uow: UowFactory) -> tuple[dict, bool]:
    """The applicant's SKM answers, once, and whether they are new: the same ``request_key`` again (a redelivery,
    a client's retry) answers with them instead of SURVEY_EXISTS."""
    problems = validate_answers(cmd.answers)
    if problems:
        raise ValidationFailed("; ".join(problems), [field_error(["body", "answers"], p) for p in problems])
    with uow() as u:
        app = repo.get(u, tenant, app_id, with_history=False)
        if app is None or app.applicant_id != actor.id:
            raise NotFound("application not found")
        if app.is_open:  # every applicant whose application ended is asked, a rejected one as much as a completed one
            raise ActionNotAllowed("the survey opens once the application has ended (completed or rejected)")
        if not u.claim_event("submit_survey", id_for_request(tenant, app_id, request_key)):
            row = u.execute(sa.select(S).where(S.c.tenant == tenant, S.c.application_id == app_id)).one()
            return {"application_id": app_id, "answers": {f"u{i}": getattr(row, f"u{i}") for i in range(1, 10)}}, False
        try:  # the primary key (tenant, application) makes a second answer fail, concurrent ones included
            u.execute(S.insert().values(tenant=tenant, application_id=app_id, service_id=app.service["id"],
                                        comment=cmd.comment, created_at=utcnow(),
                                        **{k: int(v) for k, v in cmd.answers.items()}))
            u.commit()
        except IntegrityError:
            raise SurveyExists("this application's survey was answered already") from None
    return {"application_id": app_id, "answers": cmd.answers}, True


def _ikm(sums_row) -> dict[str, Any] | None:
    respondents = sums_row.n or 0
    result = compute_ikm({f"u{i}": int(getattr(sums_row, f"u{i}") or 0) for i in range(1, 10)}, respondents)
    if result is None:
        return None
    return {"score": float(result.score), "grade": result.grade, "grade_label": result.grade_label,
            "respondents": result.respondents, "elements": {k: float(v) for k, v in result.elements.items()}}


def reporting_period(period: str | None, zone: ZoneInfo, now: datetime) -> ReportingPeriod:
    """The SKM period asked for (``2026`` or ``2026-Q3``); the current year in the region's time when none is."""
    if period is None:
        return ReportingPeriod.year_of(now.astimezone(zone).date())
    try:
        return ReportingPeriod.parse(period)
    except ValueError as exc:
        raise ValidationFailed(str(exc), [field_error(["query", "period"], str(exc))]) from None


def stats(tenant: str, *, uow: UowFactory, period: str | None = None, timezone: str = "Asia/Jakarta",
          now: datetime | None = None) -> dict[str, Any]:
    """A region's volumes and SLA (all time) and its IKM for one reporting period (PermenPANRB 14/2017: the SKM is
    reported per period), counted by when each response was given, in the region's time zone."""
    now = now or datetime.now(UTC)
    chosen = reporting_period(period, ZoneInfo(timezone), now)
    start, end = chosen.bounds(ZoneInfo(timezone))
    in_period = (S.c.tenant == tenant) & (S.c.created_at >= start) & (S.c.created_at < end)
    sums = [sa.func.count().label("n"), *[sa.func.sum(getattr(S.c, f"u{i}")).label(f"u{i}") for i in range(1, 10)]]
    with uow() as u:
        by_status = dict(u.execute(sa.select(A.c.status, sa.func.count()).where(A.c.tenant == tenant)
                                   .group_by(A.c.status)).all())
        done = u.execute(sa.select(sa.func.count(), sa.func.sum(sa.case((A.c.completed_at <= A.c.sla_due_at, 1),
                                                                         else_=0)))
                         .where(A.c.tenant == tenant, A.c.status == "completed")).one()
        overdue_open = u.execute(sa.select(sa.func.count()).where(
            A.c.tenant == tenant, A.c.status.in_(c.OPEN_STATUSES), A.c.status != "revision_requested",
            A.c.sla_due_at < now)).scalar()
        tenant_ikm = _ikm(u.execute(sa.select(*sums).where(in_period)).one())
        per_service = u.execute(sa.select(S.c.service_id, *sums).where(in_period).group_by(S.c.service_id)).all()
        volumes = dict(u.execute(sa.select(A.c.service_id, sa.func.count()).where(A.c.tenant == tenant)
                                 .group_by(A.c.service_id)).all())
        names = {r.service_id: r.definition["name"] for r in u.execute(
            sa.select(V.c.service_id, V.c.definition).join(OPEN, sa.and_(
                OPEN.c.tenant == V.c.tenant, OPEN.c.service_id == V.c.service_id, OPEN.c.version == V.c.version))
            .where(V.c.tenant == tenant))}
    ikm_by_service = {r.service_id: _ikm(r) for r in per_service}
    services = [{"service_id": sid, "name": names.get(sid), "applications": volumes.get(sid, 0),
                 "ikm": ikm_by_service.get(sid)} for sid in sorted(set(volumes) | set(ikm_by_service))]
    completed, on_time = done[0] or 0, done[1] or 0
    return {"applications": {"total": sum(by_status.values()), "by_status": by_status},
            "sla": {"on_time_pct": round(100 * on_time / completed, 1) if completed else None,
                    "overdue_open": overdue_open},
            "ikm": tenant_ikm, "services": services,
            "period": {"key": chosen.label, "from": chosen.first_day.isoformat(), "to": chosen.last_day.isoformat()}}


def national_stats(*, uow: UowFactory) -> dict[str, Any]:
    """Applications and IKM over every region (no personal data)."""
    sums = [sa.func.count().label("n"), *[sa.func.sum(getattr(S.c, f"u{i}")).label(f"u{i}") for i in range(1, 10)]]
    with uow() as u:
        by_status = dict(u.execute(sa.select(A.c.status, sa.func.count()).group_by(A.c.status)).all())
        ikm = _ikm(u.execute(sa.select(*sums)).one())
    return {"applications": {"total": sum(by_status.values()), "by_status": by_status}, "ikm": ikm}
