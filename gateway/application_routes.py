"""The /api/v1 application routes: submit with documents (streamed into the blob store, only references go to the
applications service), act on the workflow, read, track, verify, download, answer the survey, statistics."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Response

from gateway.api import PageOf
from gateway.auth import require
from gateway.context import Ctx, read_json
from gateway.routes import api, staff_tenant, tenant_or_404
from mppi.contracts import applications as c
from mppi.contracts.applications import ChannelsConfig, SubscriptionCreate, TemplateOverride
from mppi.contracts.errors import BadRequest, Forbidden, PayloadTooLarge, ValidationFailed, field_error, parse
from mppi.contracts.tenants import STAFF_ROLES
from mppi.runtime.blobstore import BlobTooLarge

MAX_UPLOAD = 60 * 1024 * 1024  # the whole multipart request; each field's own limit is checked by applications
MAX_FILE = 25 * 1024 * 1024  # a hard cap while streaming, above any field's max_size_mb


def _actor(ctx: Ctx) -> dict[str, Any]:
    p = require(ctx.principal)
    return {"id": p.account_id, "roles": list(p.roles), "tenant": p.tenant, "name": p.name}


def _multipart(ctx: Ctx, slug: str) -> tuple[Any, list[dict[str, Any]]]:
    """Parse a multipart submission: the JSON ``data`` part, and each file part streamed into staging."""
    try:
        _, form, files = parse_form_data(ctx.request.environ, max_content_length=MAX_UPLOAD,
                                         max_form_memory_size=512 * 1024, max_form_parts=100)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"a submission may be at most {MAX_UPLOAD // 2**20} MB") from None
    raw = form.get("data")
    if raw is None:
        raise BadRequest("the multipart body needs a data part holding the JSON")
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadRequest("the data part is not valid JSON") from None
    refs = []
    staging = f"staging/{slug}/{uuid.uuid4().hex}"
    try:
        for key, storage in files.items(multi=True):
            refs.append(_stage(ctx, staging, key, storage))
    except BaseException:
        for ref in refs:
            ctx.blobs.delete(ref["key"])
        raise
    return data, refs


def _stage(ctx: Ctx, staging: str, key: str, storage: FileStorage) -> dict[str, Any]:
    safe_key = "".join(ch for ch in key if ch.isalnum() or ch == "_")[:40] or "file"
    try:  # "<staging>-<field>-<random>": one folder per region, not one per submission
        ref = ctx.blobs.put(f"{staging}-{safe_key}-{uuid.uuid4().hex[:6]}", storage.stream,
                            content_type=storage.mimetype or "application/octet-stream", max_size=MAX_FILE)
    except BlobTooLarge:
        raise PayloadTooLarge(f"a file may be at most {MAX_FILE // 2**20} MB") from None
    return {"field": key[:40], "key": ref.key, "filename": (storage.filename or key)[:255], "size": ref.size,
            "sha256": ref.sha256, "content_type": ref.content_type[:100]}


def _call_with_files(ctx: Ctx, refs: list[dict], method: str, *args, **kwargs):
    try:
        return ctx.rpc.call("applications", method, *args, **kwargs)
    except BaseException:
        # the service deletes what it refused; if it never answered, nobody else will
        for ref in refs:
            ctx.blobs.delete(ref["key"])
        raise


def _is_multipart(ctx: Ctx) -> bool:
    return (ctx.request.mimetype or "").startswith("multipart/")


@api.route("POST", "/api/v1/tenants/<slug>/applications", response=c.ApplicationPublic, status=201, auth=True,
           tag="applications", multipart=c.SubmissionData, errors=(403, 404, 409, 413, 415),
           summary="Apply: multipart (part data = JSON {service_id, form}, one file part per file field) or JSON")
def submit_application(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant = tenant_or_404(ctx, slug)
    actor = _actor(ctx)
    if "citizen" not in actor["roles"]:
        raise Forbidden("applications are made by citizens")
    if _is_multipart(ctx):
        data, refs = _multipart(ctx, slug)
    else:
        data, refs = read_json(ctx.request), []
    parse(c.SubmissionData, data)  # a clear 422 before anything is sent on
    return _call_with_files(ctx, refs, "submit_application", tenant, data, refs, actor)


@api.route("POST", "/api/v1/tenants/<slug>/applications/<application_id>/actions", response=c.ApplicationPublic,
           auth=True, tag="applications", multipart=c.ActionRequest, errors=(403, 404, 409),
           summary="Act on the workflow: {action, note}; resubmit may be multipart with a changed form and files")
def act(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant = tenant_or_404(ctx, slug)
    actor = _actor(ctx)
    refs: list[dict] = []
    resubmission = None
    if _is_multipart(ctx):
        data, refs = _multipart(ctx, slug)
        if not isinstance(data, dict):
            raise BadRequest("the data part must be a JSON object")
        resubmission = {"form": data.pop("form", None), "files": refs}
    else:
        data = read_json(ctx.request)
        if isinstance(data, dict) and "form" in data:
            resubmission = {"form": data.pop("form"), "files": []}
    parse(c.ActionRequest, data)
    return _call_with_files(ctx, refs, "act", tenant, ctx.params["application_id"], data, actor,
                            resubmission=resubmission)


@api.route("GET", "/api/v1/tenants/<slug>/applications/<application_id>", response=c.ApplicationPublic, auth=True,
           tag="applications", errors=(404,), summary="An application, to its applicant and the region's staff")
def get_application(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant_or_404(ctx, slug)
    return ctx.rpc.call("applications", "get_application", slug, ctx.params["application_id"], _actor(ctx))


@api.route("GET", "/api/v1/tenants/<slug>/applications", response=PageOf(c.ApplicationSummary), auth=True,
           tag="applications", errors=(403, 404), summary="The staff inbox, earliest due first",
           query={"status": "one status", "service_id": "", "limit": "1-100", "cursor": ""})
def inbox(ctx: Ctx):
    slug = staff_tenant(ctx, STAFF_ROLES)["slug"]
    status = ctx.request.args.get("status")
    if status is not None and status not in c.STATUSES:
        raise ValidationFailed("unknown status", [field_error(["query", "status"], "unknown status")])
    return ctx.rpc.call("applications", "inbox", slug, _actor(ctx), status=status,
                        service_id=ctx.request.args.get("service_id"), limit=ctx.limit(),
                        cursor=ctx.request.args.get("cursor"))


@api.route("GET", "/api/v1/me/applications", response=PageOf(c.ApplicationSummary), auth=True, tag="applications",
           summary="The caller's applications in every region", query={"limit": "1-100", "cursor": ""})
def my_applications(ctx: Ctx):
    return ctx.rpc.call("applications", "my_applications", _actor(ctx), limit=ctx.limit(),
                        cursor=ctx.request.args.get("cursor"))


def _stream(ctx: Ctx, ref: dict[str, Any]) -> Response:
    filename = "".join(ch for ch in ref["filename"] if ch.isprintable() and ch not in '"\\/')[:100] or "file"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"}
    if ref.get("size") is not None:
        headers["Content-Length"] = str(ref["size"])
    return Response(ctx.blobs.open(ref["blob"]), content_type=ref["content_type"], headers=headers,
                    direct_passthrough=True)


@api.route("GET", "/api/v1/tenants/<slug>/applications/<application_id>/documents/<key>", auth=True,
           tag="applications", errors=(404,), summary="A document of the application, as an attachment")
def document(ctx: Ctx):
    slug = ctx.params["slug"]
    ref = ctx.rpc.call("applications", "document", slug, ctx.params["application_id"], ctx.params["key"],
                       _actor(ctx))
    return _stream(ctx, ref)


@api.route("GET", "/api/v1/tenants/<slug>/applications/<application_id>/output", auth=True, tag="applications",
           errors=(404,), summary="The issued PDF, once completed, with its verification QR code")
def output(ctx: Ctx):
    slug = ctx.params["slug"]
    ref = ctx.rpc.call("applications", "output", slug, ctx.params["application_id"], _actor(ctx))
    return _stream(ctx, ref)


@api.route("POST", "/api/v1/tenants/<slug>/applications/<application_id>/survey", body=c.SurveyAnswers, status=201,
           auth=True, tag="applications", errors=(404, 409),
           summary="The SKM survey (nine elements u1..u9, 1-4), once the application is completed")
def survey(ctx: Ctx, body: c.SurveyAnswers):
    slug = ctx.params["slug"]
    return ctx.rpc.call("applications", "submit_survey", slug, ctx.params["application_id"],
                        body.model_dump(mode="json", exclude_none=True), _actor(ctx))


@api.route("GET", "/api/v1/track/<tracking_number>", response=c.TrackingPublic, tag="applications", errors=(404,),
           summary="Track an application by its number: no personal data")
def track(ctx: Ctx):
    return ctx.rpc.call("applications", "track", ctx.params["tracking_number"][:30])


@api.route("GET", "/api/v1/verify/<code>", response=c.VerifyPublic, tag="applications", errors=(404,),
           summary="Check an issued document's QR code")
def verify(ctx: Ctx):
    return ctx.rpc.call("applications", "verify", ctx.params["code"][:80])


@api.route("GET", "/api/v1/tenants/<slug>/stats", tag="applications", errors=(404,),
           summary="A region's volumes, SLA on time and IKM per service (no personal data)")
def stats(ctx: Ctx):
    slug = ctx.params["slug"]
    tenant_or_404(ctx, slug)
    return ctx.rpc.call("applications", "stats", slug)


@api.route("GET", "/api/v1/me/notifications", auth=True, tag="notifications",
           summary="The caller's in-app notifications, newest first, in the language asked",
           query={"limit": "1-100", "cursor": ""})
def my_notifications(ctx: Ctx):
    lang = ctx.lang if ctx.lang in ("id", "en") else "id"
    return ctx.rpc.call("notifications", "list_notifications", require(ctx.principal).account_id, lang=lang,
                        limit=ctx.limit(), cursor=ctx.request.args.get("cursor"))


@api.route("POST", "/api/v1/me/notifications/<notification_id>/read", auth=True, tag="notifications",
           errors=(404,), summary="Mark a notification read")
def read_notification(ctx: Ctx):
    return ctx.rpc.call("notifications", "mark_read", require(ctx.principal).account_id,
                        ctx.params["notification_id"][:64])


# -- subscriptions of regional systems ------------------------------------------------------------------------------

@api.route("POST", "/api/v1/tenants/<slug>/subscriptions", body=SubscriptionCreate, status=201, auth=True,
           tag="subscriptions", errors=(403, 404),
           summary='{"kind": "amqp"} → broker credentials for the feed; {"kind": "webhook", "url"} → the secret, once')
def create_subscription(ctx: Ctx, body: SubscriptionCreate):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "create_subscription", slug, body.model_dump(mode="json", exclude_none=True))


@api.route("GET", "/api/v1/tenants/<slug>/subscriptions", auth=True, tag="subscriptions", errors=(403, 404),
           summary="The region's subscriptions")
def list_subscriptions(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "list_subscriptions", slug)


@api.route("DELETE", "/api/v1/tenants/<slug>/subscriptions/<subscription_id>", status=204, auth=True,
           tag="subscriptions", errors=(403, 404), summary="Revoke: the broker user is deleted, webhooks stop")
def revoke_subscription(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    ctx.rpc.call("notifications", "revoke_subscription", slug, ctx.params["subscription_id"][:64])


@api.route("GET", "/api/v1/tenants/<slug>/subscriptions/<subscription_id>/deliveries", auth=True,
           tag="subscriptions", errors=(403, 404), summary="A webhook's delivery log: every attempt, the next try")
def subscription_deliveries(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "subscription_deliveries", slug, ctx.params["subscription_id"][:64])


@api.route("PUT", "/api/v1/tenants/<slug>/notification-templates/<type_>/<language>", body=TemplateOverride,
           auth=True, tag="notifications", errors=(403, 404),
           summary="The region's own wording of a message (Jinja2), checked when saved")
def save_notification_template(ctx: Ctx, body: TemplateOverride):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "save_template", slug, ctx.params["type_"][:40], ctx.params["language"][:2],
                        body.title, body.body)


@api.route("PUT", "/api/v1/tenants/<slug>/notification-channels", body=ChannelsConfig, auth=True,
           tag="notifications", errors=(403, 404),
           summary="The region's channels: email on/off, SMS and WhatsApp HTTP providers (tokens are not shown again)")
def save_channels(ctx: Ctx, body: ChannelsConfig):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "save_channels", slug, body.model_dump(mode="json"))


@api.route("GET", "/api/v1/tenants/<slug>/notification-channels", auth=True, tag="notifications", errors=(403, 404),
           summary="The region's channels, tokens masked")
def get_channels(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("notifications", "get_channels", slug)


_national: tuple[float, dict] | None = None


@api.route("GET", "/api/v1/stats", tag="applications",
           summary="National figures: regions live, services published, applications, IKM (at most 30 s old)")
def national_stats(ctx: Ctx):
    global _national
    now = time.monotonic()
    if _national is None or now - _national[0] > 30:  # aggregates over millions of rows: not on every request
        figures = ctx.rpc.call("applications", "national_stats")
        _national = (now, figures)
    regions, services = len(ctx.tenants.summaries()), ctx.catalog.counts()[1]
    return {"regions_live": regions, "services_published": services, **_national[1]}
