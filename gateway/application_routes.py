"""The /api/v1 application routes: submit with documents (streamed into the caller's staging folder of the blob
store, within its allowance; only references go to the applications service, and whatever is not handed over is
deleted at once), act on the workflow, read, track, verify, download (an attachment with a safe name), answer the
survey, statistics."""
from __future__ import annotations

import re
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Response

from gateway import cache
from gateway.api import Access, PageOf
from gateway.auth import require
from gateway.context import Ctx, parse_json, read_json, request_key
from gateway.routes import api, staff_tenant, tenant_or_404
from mppi.contracts import applications as c
from mppi.contracts.applications import ChannelsConfig, SubscriptionCreate, TemplateOverride
from mppi.contracts.errors import (
    BadRequest,
    FileTooLarge,
    Forbidden,
    PayloadTooLarge,
    StorageFull,
    ValidationFailed,
    field_error,
    parse,
)
from mppi.contracts.tenants import STAFF_ROLES
from mppi.runtime import settings as mppi_settings
from mppi.runtime.blobstore import STAGING, STAGING_MAX_AGE, BlobStore, BlobTooLarge, staging_of
from mppi.runtime.rpc import RpcClient

MAX_UPLOAD = 60 * 1024 * 1024  # the whole multipart request (a longer Content-Length is refused before reading)
MAX_FILE = 25 * 1024 * 1024  # a hard cap while streaming, above any field's max_size_mb
MIB = 1024 * 1024
# what a download may be served as: the types the applications service recognises by content (never markup)
_SERVED = re.compile(r"application/(pdf|zip)|image/(jpeg|png|gif|webp|tiff)")


class StagingFull(FileTooLarge):
    """The caller's uploads not yet sent fill its staging allowance (MPPI_STAGING_QUOTA_MB, _FILES)."""


class _StagedTotal:
    """What every account's uploads not yet sent hold together: read from the store (a walk or listing of the whole
    staging area) at most every ``every`` seconds, plus what this process staged since."""

    def __init__(self, every: float = 2.0):
        self.every = every
        self._read_at = -every
        self._bytes = 0

    def __call__(self, blobs: BlobStore) -> int:
        now = time.monotonic()
        if now - self._read_at >= self.every:
            _, self._bytes = blobs.usage(STAGING, newer_than=time.time() - STAGING_MAX_AGE)
            self._read_at = now
        return self._bytes

    def add(self, size: int) -> None:
        self._bytes += size


_staged_total = _StagedTotal()


def _actor(ctx: Ctx) -> dict[str, Any]:
    p = require(ctx.principal)
    return {"id": p.account_id, "roles": list(p.roles), "tenant": p.tenant}


def _applicant(actor: dict[str, Any], rpc: RpcClient) -> dict[str, Any]:
    """The actor of a submission with the name the application keeps (asked of tenants once: never in the token)."""
    name = cache.names.get(actor["id"], lambda account_id: rpc.call("tenants", "get_me", account_id)["full_name"])
    return {**actor, "name": name}


def new_batch(account_id: str) -> str:
    """A fresh name for one request's (or one web form's) uploads, in the account's own staging folder."""
    return staging_of(account_id) + uuid.uuid4().hex


def _multipart(ctx: Ctx) -> tuple[Any, list[dict[str, Any]]]:
    """Parse a multipart submission: the JSON ``data`` part, and each file part streamed into staging."""
    try:
        _, form, files = parse_form_data(ctx.request.environ, max_content_length=MAX_UPLOAD,
                                         max_form_memory_size=512 * 1024, max_form_parts=100)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"a submission may be at most {MAX_UPLOAD // 2**20} MB") from None
    raw = form.get("data")
    if raw is None:
        raise BadRequest("the multipart body needs a data part holding the JSON")
    data = parse_json(raw, "the data part")
    refs: list[dict[str, Any]] = []
    account = require(ctx.principal).account_id
    batch = new_batch(account)
    with discarded_on_failure(ctx, refs):
        for key, storage in files.items(multi=True):
            refs.append(_stage(ctx.blobs, account, batch, key, storage))
    return data, refs


def _stage(blobs: BlobStore, account_id: str, batch: str, key: str, storage: FileStorage) -> dict[str, Any]:
    """Stream one uploaded file into ``batch`` (a name from ``new_batch``) within the account's staging allowance:
    the files and bytes of its uploads not yet sent (those older than the sweep's age count for nobody)."""
    folder = staging_of(account_id)
    if not batch.startswith(folder):  # a web form begun before uploads were kept by account
        batch = folder + uuid.uuid4().hex
    cfg = mppi_settings.get()
    count, used = blobs.usage(folder, newer_than=time.time() - STAGING_MAX_AGE)
    room = cfg.staging_quota_bytes - used
    if count >= cfg.staging_quota_files or room <= 0:
        raise _full(key, cfg)
    # and every account's together, so that many accounts made by one client do not multiply the allowance
    platform_room = cfg.staging_quota_total_bytes - _staged_total(blobs)
    if platform_room <= 0:
        raise _paused(key)
    safe_key = "".join(ch for ch in key if ch.isalnum() or ch == "_")[:40] or "file"
    try:  # "<batch>-<field>-<random>": one folder per account, not one per submission
        ref = blobs.put(f"{batch}-{safe_key}-{uuid.uuid4().hex[:6]}", storage.stream,
                        content_type=storage.mimetype or "application/octet-stream",
                        max_size=min(MAX_FILE, room, platform_room))
    except BlobTooLarge:
        if platform_room < min(MAX_FILE, room):
            raise _paused(key) from None
        if room < MAX_FILE:
            raise _full(key, cfg) from None
        raise PayloadTooLarge(f"a file may be at most {MAX_FILE // MIB} MB") from None
    _staged_total.add(ref.size)
    return {"field": key[:40], "key": ref.key, "filename": _filename(storage.filename, key), "size": ref.size,
            "sha256": ref.sha256, "content_type": ref.content_type[:100]}


def _full(key: str, cfg: mppi_settings.Settings) -> StagingFull:
    limit = f"{cfg.staging_quota_bytes / MIB:g} MB or {cfg.staging_quota_files} files"
    msg = (f"your uploads not yet sent would pass the {limit} one account may hold at once: send or remove the "
           "files of forms you have not finished (they expire after two days)")
    return StagingFull(msg, [field_error(["body", "files", key[:40]], msg)])


def _paused(key: str) -> StorageFull:
    msg = ("uploads are paused: the files citizens uploaded and have not sent yet fill the platform's room for them; "
           "try again in a few minutes")
    return StorageFull(msg, [field_error(["body", "files", key[:40]], msg)])


def _filename(raw: str | None, fallback: str) -> str:
    """A client's file name as a name only, never a path: its last part, without control or formatting characters
    (NUL, line breaks, right-to-left overrides); the applications service cleans it further before keeping it."""
    name = "".join(ch for ch in raw or "" if not unicodedata.category(ch).startswith("C"))
    return re.split(r"[/\\]", name)[-1].strip()[:255] or fallback[:40] or "file"


@contextmanager
def discarded_on_failure(ctx: Ctx, refs: list[dict[str, Any]]) -> Iterator[None]:
    """Staged files a request does not hand over are deleted at once: refused here before the service saw them,
    refused by it (it deletes what it refused as well), or never answered."""
    try:
        yield
    except BaseException:
        for ref in refs:
            ctx.blobs.delete(ref["key"])
        raise


def _call_with_files(ctx: Ctx, refs: list[dict], method: str, *args, **kwargs):
    with discarded_on_failure(ctx, refs):
        return ctx.rpc.call("applications", method, *args, **kwargs)


def _is_multipart(ctx: Ctx) -> bool:
    return (ctx.request.mimetype or "").startswith("multipart/")


@api.route("POST", "/api/v1/tenants/<slug>/applications", response=c.ApplicationPublic, status=201, auth=True,
           tag="applications", multipart=c.SubmissionData, errors=(400, 403, 404, 409, 413, 415),
           headers=("Idempotency-Key",),
           summary="Apply: multipart (part data = JSON {service_id, form}, one file part per file field) or JSON",
           access=Access.CITIZEN)
def submit_application(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant = tenant_or_404(ctx, slug)
    actor = _actor(ctx)
    if "citizen" not in actor["roles"]:
        raise Forbidden("applications are made by citizens")
    actor = _applicant(actor, ctx.rpc)
    key = request_key(ctx.request)
    if _is_multipart(ctx):
        data, refs = _multipart(ctx)
    else:
        data, refs = read_json(ctx.request), []
    with discarded_on_failure(ctx, refs):
        parse(c.SubmissionData, data)  # a clear 422 before anything is sent on
        return ctx.rpc.call("applications", "submit_application", tenant, data, refs, actor, request_key=key)


@api.route("POST", "/api/v1/tenants/<slug>/applications/<application_id>/actions", response=c.ApplicationPublic,
           auth=True, tag="applications", multipart=c.ActionRequest, errors=(400, 403, 404, 409),
           headers=("Idempotency-Key",),
           summary="Act on the workflow: {action, note}; resubmit may be multipart with a changed form and files",
           access=Access.WORKFLOW)
def act(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant = tenant_or_404(ctx, slug)
    actor = _actor(ctx)
    key = request_key(ctx.request)
    multipart = _is_multipart(ctx)
    data, refs = _multipart(ctx) if multipart else (read_json(ctx.request), [])
    with discarded_on_failure(ctx, refs):
        if multipart and not isinstance(data, dict):
            raise BadRequest("the data part must be a JSON object")
        resubmission = None
        if multipart or (isinstance(data, dict) and "form" in data):
            resubmission = {"form": data.pop("form", None), "files": refs}
        parse(c.ActionRequest, data)
        return ctx.rpc.call("applications", "act", tenant, ctx.params["application_id"], data, actor,
                            resubmission=resubmission, request_key=key)


@api.route("GET", "/api/v1/tenants/<slug>/applications/<application_id>", response=c.ApplicationPublic, auth=True,
           tag="applications", errors=(404,), summary="An application, to its applicant and the region's staff",
           access=Access.APPLICANT_OR_STAFF)
def get_application(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant_or_404(ctx, slug)
    return ctx.rpc.call("applications", "get_application", slug, ctx.params["application_id"], _actor(ctx))


@api.route("GET", "/api/v1/tenants/<slug>/applications", response=PageOf(c.ApplicationSummary), auth=True,
           tag="applications", errors=(403, 404), summary="The staff inbox, earliest due first",
           query={"status": "one status", "service_id": "", "limit": "1-100", "cursor": ""}, access=Access.STAFF)
def inbox(ctx: Ctx):
    slug = staff_tenant(ctx, STAFF_ROLES)["slug"]
    status = ctx.request.args.get("status")
    if status is not None and status not in c.STATUSES:
        raise ValidationFailed("unknown status", [field_error(["query", "status"], "unknown status")])
    return ctx.rpc.call("applications", "inbox", slug, _actor(ctx), status=status,
                        service_id=ctx.request.args.get("service_id"), limit=ctx.limit(),
                        cursor=ctx.request.args.get("cursor"))


@api.route("GET", "/api/v1/me/applications", response=PageOf(c.ApplicationSummary), auth=True, tag="applications",
           summary="The caller's applications in every region", query={"limit": "1-100", "cursor": ""},
           access=Access.SIGNED_IN)
def my_applications(ctx: Ctx):
    return ctx.rpc.call("applications", "my_applications", _actor(ctx), limit=ctx.limit(),
                        cursor=ctx.request.args.get("cursor"))


def attachment(filename: str) -> str:
    """A Content-Disposition that saves the file as ``filename`` in any script (RFC 6266 with RFC 5987's
    ``filename*=UTF-8''...``), with a plain ASCII ``filename`` for clients that read only that one."""
    name = "".join("_" if ch in "/\\" else ch for ch in filename if not unicodedata.category(ch).startswith("C"))
    name = name.strip()[:150] or "file"
    plain = "".join(ch if ch.isascii() and (ch.isalnum() or ch in " .-_()") else "_"
                    for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    plain = re.sub(r"_{2,}", "_", plain).strip(" ") or "file"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _stream(ctx: Ctx, ref: dict[str, Any]) -> Response:
    """A document as an attachment: the type the service found in its content (never markup), the name it gave."""
    kind = ref["content_type"] if _SERVED.fullmatch(ref.get("content_type") or "") else "application/octet-stream"
    headers = {"Content-Disposition": attachment(ref["filename"]), "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, no-store"}
    if ref.get("size") is not None:
        headers["Content-Length"] = str(ref["size"])
    return Response(ctx.blobs.open(ref["blob"]), content_type=kind, headers=headers, direct_passthrough=True)


@api.route("GET", "/api/v1/tenants/<slug>/applications/<application_id>/documents/<key>", auth=True,
           tag="applications", errors=(404,), summary="A document of the application, as an attachment",
           access=Access.APPLICANT_OR_STAFF)
def document(ctx: Ctx):
    slug = ctx.params["slug"]
    ref = ctx.rpc.call("applications", "document", slug, ctx.params["application_id"], ctx.params["key"],
                       _actor(ctx))
    return _stream(ctx, ref)


@api.route("GET", "/api/v1/tenants/<slug>/applications/<application_id>/output", auth=True, tag="applications",
           errors=(404,), summary="The issued PDF, once completed, with its verification QR code",
           access=Access.APPLICANT_OR_STAFF)
def output(ctx: Ctx):
    slug = ctx.params["slug"]
    ref = ctx.rpc.call("applications", "output", slug, ctx.params["application_id"], _actor(ctx))
    return _stream(ctx, ref)


@api.route("POST", "/api/v1/tenants/<slug>/applications/<application_id>/survey", body=c.SurveyAnswers, status=201,
           auth=True, tag="applications", errors=(400, 404, 409), headers=("Idempotency-Key",),
           summary="The SKM survey (nine elements u1..u9, 1-4), once the application has ended (completed or "
                   "rejected)",
           access=Access.APPLICANT)
def survey(ctx: Ctx, body: c.SurveyAnswers):
    slug = ctx.params["slug"]
    return ctx.rpc.call("applications", "submit_survey", slug, ctx.params["application_id"],
                        body.model_dump(mode="json", exclude_none=True), _actor(ctx),
                        request_key=request_key(ctx.request))


@api.route("GET", "/api/v1/track/<tracking_number>", response=c.TrackingPublic, tag="applications", errors=(404,),
           summary="Track an application by its number: no personal data", access=Access.ANYONE)
def track(ctx: Ctx):
    return ctx.rpc.call("applications", "track", ctx.params["tracking_number"][:30])


@api.route("GET", "/api/v1/verify/<code>", response=c.VerifyPublic, tag="applications", errors=(404,),
           summary="Check an issued document's QR code: what its receipt prints (holder and details masked), to "
                   "compare with the paper", access=Access.ANYONE)
def verify(ctx: Ctx):
    code = ctx.params["code"][:80]
    found = ctx.rpc.call("applications", "verify", code)
    if found["timezone"] is None:  # a legacy code: its document kept no region, so the service is sent the region's
        tenant = ctx.tenants.get(found["tenant"])  # config, as submissions and actions are
        if tenant is not None:
            found = ctx.rpc.call("applications", "verify", code, tenant=tenant)
    return found


@api.route("GET", "/api/v1/tenants/<slug>/stats", tag="applications", errors=(404, 422),
           summary="A region's volumes and SLA on time, and its IKM per service for one SKM reporting period (no "
                   "personal data)", access=Access.ANYONE,
           query={"period": "a year (2026) or a quarter (2026-Q3); the current year when absent"})
def stats(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant = tenant_or_404(ctx, slug)
    period = ctx.request.args.get("period")
    return ctx.rpc.call("applications", "stats", slug, period=None if period is None else period[:20],
                        timezone=tenant["timezone"])


@api.route("GET", "/api/v1/me/notifications", auth=True, tag="notifications",
           summary="The caller's in-app notifications, newest first, in the language asked",
           query={"limit": "1-100", "cursor": ""}, access=Access.SIGNED_IN)
def my_notifications(ctx: Ctx):
    lang = ctx.lang if ctx.lang in ("id", "en") else "id"
    return ctx.rpc.call("notifications", "list_notifications", require(ctx.principal).account_id, lang=lang,
                        limit=ctx.limit(), cursor=ctx.request.args.get("cursor"))


@api.route("POST", "/api/v1/me/notifications/<notification_id>/read", auth=True, tag="notifications",
           errors=(404,), summary="Mark a notification read", access=Access.OWNER)
def read_notification(ctx: Ctx):
    return ctx.rpc.call("notifications", "mark_read", require(ctx.principal).account_id,
                        ctx.params["notification_id"][:64])


# -- subscriptions of regional systems ------------------------------------------------------------------------------

@api.route("POST", "/api/v1/tenants/<slug>/subscriptions", body=SubscriptionCreate, status=201, auth=True,
           tag="subscriptions", errors=(400, 403, 404), headers=("Idempotency-Key",),
           summary='{"kind": "amqp"} → broker credentials for the feed; {"kind": "webhook", "url"} → the secret, once '
                   '(a retry with the same Idempotency-Key: the same subscription, an AMQP password set anew)',
           access=Access.TENANT_ADMIN)
def create_subscription(ctx: Ctx, body: SubscriptionCreate):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "create_subscription", slug, body.model_dump(mode="json", exclude_none=True),
                        request_key=request_key(ctx.request))


@api.route("GET", "/api/v1/tenants/<slug>/subscriptions", auth=True, tag="subscriptions", errors=(403, 404),
           summary="The region's subscriptions", access=Access.TENANT_ADMIN)
def list_subscriptions(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "list_subscriptions", slug)


@api.route("DELETE", "/api/v1/tenants/<slug>/subscriptions/<subscription_id>", status=204, auth=True,
           tag="subscriptions", errors=(403, 404), summary="Revoke: the broker user is deleted, webhooks stop",
           access=Access.TENANT_ADMIN)
def revoke_subscription(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    ctx.rpc.call("notifications", "revoke_subscription", slug, ctx.params["subscription_id"][:64])


@api.route("GET", "/api/v1/tenants/<slug>/subscriptions/<subscription_id>/deliveries", auth=True,
           tag="subscriptions", errors=(403, 404), summary="A webhook's delivery log: every attempt, the next try",
           access=Access.TENANT_ADMIN)
def subscription_deliveries(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "subscription_deliveries", slug, ctx.params["subscription_id"][:64])


@api.route("PUT", "/api/v1/tenants/<slug>/notification-templates/<type_>/<language>", body=TemplateOverride,
           auth=True, tag="notifications", errors=(403, 404),
           summary="The region's own wording of a message (Jinja2), checked when saved", access=Access.TENANT_ADMIN)
def save_notification_template(ctx: Ctx, body: TemplateOverride):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "save_template", slug, ctx.params["type_"][:40], ctx.params["language"][:2],
                        body.title, body.body)


@api.route("PUT", "/api/v1/tenants/<slug>/notification-channels", body=ChannelsConfig, auth=True,
           tag="notifications", errors=(403, 404),
           summary="The region's channels: email on/off, SMS and WhatsApp HTTP providers (tokens are not shown again)",
           access=Access.TENANT_ADMIN)
def save_channels(ctx: Ctx, body: ChannelsConfig):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "save_channels", slug, body.model_dump(mode="json"))


@api.route("GET", "/api/v1/tenants/<slug>/notification-channels", auth=True, tag="notifications", errors=(403, 404),
           summary="The region's channels, tokens masked", access=Access.TENANT_ADMIN)
def get_channels(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "get_channels", slug)


_national: tuple[float, dict] | None = None


@api.route("GET", "/api/v1/stats", tag="applications",
           summary="National figures: regions live, services published, applications, IKM (at most 30 s old)",
           access=Access.ANYONE)
def national_stats(ctx: Ctx):
    global _national
    now = time.monotonic()
    if _national is None or now - _national[0] > 30:  # aggregates over millions of rows: not on every request
        figures = ctx.rpc.call("applications", "national_stats")
        _national = (now, figures)
    regions, services = len(ctx.tenants.summaries()), ctx.catalog.counts()[1]
    return {"regions_live": regions, "services_published": services, **_national[1]}
