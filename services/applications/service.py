"""The applications nameko service: thin entrypoints over the use cases in ``handlers``."""
from __future__ import annotations

import logging
import os
import time

from nameko.extensions import DependencyProvider
from nameko.timer import timer
from prometheus_client import Counter

from mppi.contracts import applications as c
from mppi.contracts.errors import MppiError, parse
from mppi.contracts.events import ServiceArchived, ServicePublished
from mppi.runtime import settings
from mppi.runtime.blobstore import STAGING, STAGING_MAX_AGE
from mppi.runtime.database import new_id
from mppi.runtime.events import event_handler
from mppi.runtime.procpool import ProcessPoolProvider
from mppi.runtime.providers import Blobs, Database, Observability
from mppi.runtime.rpc import rpc
from services.applications import handlers, orm
from services.applications.handlers import Actor

SLA_CHECK_SECONDS = float(os.environ.get("MPPI_SLA_CHECK_SECONDS", "60"))
log = logging.getLogger(__name__)
# what the operators' dashboard shows per region (deploy/k8s/components/monitoring): deadlines passed, and the SKM
# answers from which IKM = 25 x points / (9 x responses) over any range
SLA_BREACHES = Counter("applications_sla_breaches_total", "Applications that passed their service deadline", ["tenant"])
SURVEYS = Counter("applications_survey_responses_total", "SKM surveys answered", ["tenant"])
SURVEY_POINTS = Counter("applications_survey_points_total", "The nine SKM answers (1-4) of every survey, summed",
                        ["tenant"])


class Signing(DependencyProvider):
    def setup(self) -> None:
        cfg = settings.get()
        self.secret, self.public_url = cfg.signing_secret(), cfg.public_url

    def get_dependency(self, worker_ctx):
        return self


class ApplicationsService:
    name = "applications"

    observability = Observability()
    uow = Database(orm.metadata)
    blobs = Blobs()
    pool = ProcessPoolProvider(max_workers=2)  # PDF rendering holds the GIL: off the hub, in processes
    signing = Signing()

    def _issuer(self) -> handlers.Issuer:
        return handlers.Issuer(pool=self.pool, blobs=self.blobs, secret=self.signing.secret,
                               public_url=self.signing.public_url)

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc(expected_exceptions=MppiError)
    def get_service_version(self, tenant: str, service_id: str, version: int | None = None) -> dict | None:
        return handlers.get_service_version(tenant, service_id, version, uow=self.uow)

    # request_key: what a redelivered request (or a client's retry) is known by; a gateway of the release before
    # sends none while a rolling upgrade runs, and its requests get a fresh one
    @rpc(expected_exceptions=MppiError)
    def submit_application(self, tenant: dict, data: dict, files: list[dict], actor: dict,
                           request_key: str | None = None) -> dict:
        return handlers.submit_application(tenant, parse(c.SubmissionData, data),
                                           [parse(c.FileRef, f, loc=("files",)) for f in files],
                                           actor=Actor.of(actor), request_key=request_key or new_id(),
                                           uow=self.uow, blobs=self.blobs)

    @rpc(expected_exceptions=MppiError)
    def act(self, tenant: dict, application_id: str, payload: dict, actor: dict,
            resubmission: dict | None = None, request_key: str | None = None) -> dict:
        extra = None
        if resubmission is not None:
            extra = (resubmission.get("form"), [parse(c.FileRef, f, loc=("files",))
                                                for f in resubmission.get("files", [])])
        return handlers.act(tenant, application_id, parse(c.ActionRequest, payload), actor=Actor.of(actor),
                            request_key=request_key or new_id(), uow=self.uow, issuer=self._issuer(),
                            resubmission=extra)

    @rpc(expected_exceptions=MppiError)
    def get_application(self, tenant: str, application_id: str, actor: dict) -> dict:
        return handlers.get_application(tenant, application_id, actor=Actor.of(actor), uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def inbox(self, tenant: str, actor: dict, status: str | None = None, service_id: str | None = None,
              limit: int = 20, cursor: str | None = None) -> dict:
        return handlers.inbox(tenant, actor=Actor.of(actor), status=status, service_id=service_id, limit=limit,
                              cursor=cursor, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def my_applications(self, actor: dict, limit: int = 20, cursor: str | None = None) -> dict:
        return handlers.my_applications(actor=Actor.of(actor), limit=limit, cursor=cursor, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def track(self, tracking_number: str) -> dict:
        return handlers.track(tracking_number, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def verify(self, code: str, tenant: dict | None = None) -> dict:
        return handlers.verify(code, secret=self.signing.secret, uow=self.uow, tenant=tenant)

    @rpc(expected_exceptions=MppiError)
    def document(self, tenant: str, application_id: str, key: str, actor: dict) -> dict:
        return handlers.document(tenant, application_id, key, actor=Actor.of(actor), uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def output(self, tenant: str, application_id: str, actor: dict) -> dict:
        return handlers.output(tenant, application_id, actor=Actor.of(actor), uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def submit_survey(self, tenant: str, application_id: str, payload: dict, actor: dict,
                      request_key: str | None = None) -> dict:
        answered, new = handlers.submit_survey(tenant, application_id, parse(c.SurveyAnswers, payload),
                                               actor=Actor.of(actor), request_key=request_key or new_id(),
                                               uow=self.uow)
        if new:
            SURVEYS.labels(tenant).inc()
            SURVEY_POINTS.labels(tenant).inc(sum(int(v) for v in answered["answers"].values()))
        return answered

    @rpc(expected_exceptions=MppiError)
    def stats(self, tenant: str, period: str | None = None, timezone: str = "Asia/Jakarta") -> dict:
        return handlers.stats(tenant, uow=self.uow, period=period, timezone=timezone)

    @rpc(expected_exceptions=MppiError)
    def national_stats(self) -> dict:
        return handlers.national_stats(uow=self.uow)

    @timer(interval=SLA_CHECK_SECONDS)
    def check_sla(self) -> None:
        for tenant in handlers.check_sla(uow=self.uow):
            SLA_BREACHES.labels(tenant).inc()

    @timer(interval=3600)
    def sweep_staging(self) -> None:
        swept = self.blobs.sweep(STAGING, older_than=time.time() - STAGING_MAX_AGE)
        if swept:
            log.info("swept %d abandoned uploads from staging", swept)

    @event_handler("catalog", ServicePublished.type)
    def on_service_published(self, payload: dict) -> None:
        handlers.keep_published_version(parse(ServicePublished, payload), handler="on_service_published",
                                        uow=self.uow)

    @event_handler("catalog", ServiceArchived.type)
    def on_service_archived(self, payload: dict) -> None:
        handlers.close_service(parse(ServiceArchived, payload), handler="on_service_archived", uow=self.uow)
