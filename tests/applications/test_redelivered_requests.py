"""A request the applications service gets again, on the real PostgreSQL and a blob store on disk.

RabbitMQ delivers an RPC request again when the service that took it was killed before it answered (it acks after
the reply). What the killed attempt left behind is recreated here as it would be: the staged files already moved
to the application's documents but nothing committed, or everything committed but no answer sent. A client retrying
with the same ``Idempotency-Key`` is the same case. Either way the repeat answers with what the first made, and
nothing is stored, announced or lost twice."""
import copy
import io

import pytest
import sqlalchemy as sa
from support import MINIMAL_PDF

from devtools.platform import Databases
from mppi.contracts import applications as c
from mppi.contracts.catalog import DEFAULT_WORKFLOW
from mppi.contracts.errors import ValidationFailed
from mppi.contracts.events import ServicePublished
from mppi.runtime.blobstore import LocalBlobStore, staging_of
from mppi.runtime.database import id_for_request, make_engine, new_id, uow_factory
from mppi.runtime.migrations import upgrade
from services.applications import handlers, orm
from services.applications.handlers import Actor
from services.catalog.domain.service import new_service

TENANT = {"slug": "sinjai", "timezone": "Asia/Makassar",
          "office_hours": {"days": [0, 1, 2, 3, 4], "opens": "08:00", "closes": "16:00"}, "holidays": []}
DEFINITION = {
    "code": "surat-keterangan", "name": {"id": "Surat keterangan", "en": "Certificate"}, "category": "umum",
    "description": "Surat keterangan umum",
    "standard": {"requirements": [{"name": "KTP-el", "field_key": "ktp"}], "procedure": ["Ajukan", "Ambil"],
                 "sla_days": 3, "fee": {"amount": 0, "basis": "Gratis"}, "output": "Surat", "complaints": "LAPOR!"},
    "form": {"fields": [{"key": "keperluan", "label": "Keperluan", "type": "text"},
                        {"key": "ktp", "label": "KTP", "type": "file", "accept": ["application/pdf"],
                         "max_size_mb": 2}]},
    "workflow": {"steps": copy.deepcopy(DEFAULT_WORKFLOW)},
}
CITIZEN = Actor(id=new_id(), roles=frozenset({"citizen"}), tenant=None, name="Warga")
VERIFIER = Actor(id=new_id(), roles=frozenset({"verifier"}), tenant="sinjai", name="Verifikator")


@pytest.fixture(scope="module")
def uow():
    dbs = Databases(services=("applications",))
    dbs.create()
    url = dbs.urls["applications"]
    upgrade("applications", url)
    engine = make_engine(url, pool_size=4)
    try:
        yield uow_factory(engine, source="applications", metadata=orm.metadata)
    finally:
        engine.dispose()
        dbs.drop()


@pytest.fixture(scope="module")
def service_id(uow) -> str:
    service = new_service(tenant="sinjai", service_id=new_id(), definition=DEFINITION, template_code=None)
    service.publish()
    event = ServicePublished(tenant="sinjai", service=service.view(service.published))
    handlers.keep_published_version(event, handler="on_service_published", uow=uow)
    return service.id


@pytest.fixture
def blobs(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def stage(blobs: LocalBlobStore, field: str = "ktp") -> c.FileRef:
    made = blobs.put(f"{staging_of(CITIZEN.id)}{new_id()}-{field}", io.BytesIO(MINIMAL_PDF),
                     content_type="application/pdf")
    return c.FileRef(field=field, key=made.key, filename="ktp.pdf", size=made.size, sha256=made.sha256,
                     content_type="application/pdf")


def submit(uow, blobs, service_id, files, key):
    cmd = c.SubmissionData(service_id=service_id, form={"keperluan": "Melamar kerja"})
    return handlers.submit_application(TENANT, cmd, files, actor=CITIZEN, request_key=key, uow=uow, blobs=blobs)


def counts(uow, app_id: str) -> tuple[int, int]:
    """(rows of this application, outbox events about it)."""
    with uow() as u:
        rows = u.execute(sa.select(sa.func.count()).select_from(orm.applications)
                         .where(orm.applications.c.id == app_id)).scalar()
        events = u.execute(sa.select(sa.func.count()).select_from(orm.outbox)
                           .where(orm.outbox.c.payload.contains(app_id))).scalar()
    return rows, events


def staged(blobs: LocalBlobStore) -> list[str]:
    folder = blobs.root / staging_of(CITIZEN.id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_request_redelivered_after_its_files_moved_but_before_the_commit_is_made_once(uow, blobs, service_id):
    ref = stage(blobs)
    key = new_id()
    # what the killed attempt did before the kill: the file moved to where the application keeps it, no commit
    app_id = id_for_request("sinjai", CITIZEN.id, service_id, key)
    blobs.move(ref.key, f"documents/sinjai/{app_id}/ktp")

    app = submit(uow, blobs, service_id, [ref], key)  # the redelivery, with the same references

    assert app["id"] == app_id and app["status"] == "submitted"
    assert app["documents"][0]["sha256"] == ref.sha256
    assert b"".join(blobs.open(f"documents/sinjai/{app_id}/ktp")) == MINIMAL_PDF
    assert counts(uow, app_id) == (1, 1)


def test_a_request_redelivered_after_its_commit_answers_with_what_it_made(uow, blobs, service_id):
    ref = stage(blobs)
    key = new_id()
    first = submit(uow, blobs, service_id, [ref], key)  # committed; the answer was lost with the kill
    again = submit(uow, blobs, service_id, [ref], key)  # the redelivery: its staged file is gone (moved)

    assert again["id"] == first["id"] and again["tracking_number"] == first["tracking_number"]
    assert counts(uow, first["id"]) == (1, 1), "stored once, announced once"
    assert blobs.exists(f"documents/sinjai/{first['id']}/ktp")


def test_a_client_retry_with_the_same_key_deletes_the_files_it_staged_again(uow, blobs, service_id):
    key = new_id()
    first = submit(uow, blobs, service_id, [stage(blobs)], key)
    retry = submit(uow, blobs, service_id, [stage(blobs)], key)

    assert retry["id"] == first["id"] and counts(uow, first["id"]) == (1, 1)
    assert staged(blobs) == [], "the retry's upload is not left in staging"
    other = submit(uow, blobs, service_id, [stage(blobs)], new_id())
    assert other["id"] != first["id"], "another key is another application"


def test_a_staged_file_that_is_gone_is_a_clear_422_and_nothing_is_stored(uow, blobs, service_id):
    ref = stage(blobs)
    blobs.delete(ref.key)  # e.g. the gateway gave up on the call and deleted what it had staged
    key = new_id()
    with pytest.raises(ValidationFailed) as err:
        submit(uow, blobs, service_id, [ref], key)
    assert err.value.errors[0]["loc"] == ["body", "files", "ktp"]
    assert counts(uow, id_for_request("sinjai", CITIZEN.id, service_id, key)) == (0, 0)


def test_an_action_redelivered_after_its_commit_is_not_taken_twice(uow, blobs, service_id):
    app = submit(uow, blobs, service_id, [stage(blobs)], new_id())
    issuer = handlers.Issuer(pool=None, blobs=blobs, secret=b"s" * 32, public_url="http://127.0.0.1:8000")
    key = new_id()

    def verify():
        return handlers.act(TENANT, app["id"], c.ActionRequest(action="verify"), actor=VERIFIER, request_key=key,
                            uow=uow, issuer=issuer)

    first = verify()
    again = verify()  # without the request key this is a 409: the application moved on to approval

    assert first["status"] == again["status"] == "in_review"
    assert [h["action"] for h in again["history"]] == ["submit", "verify"]
    with uow() as u:
        changed = u.execute(sa.select(sa.func.count()).select_from(orm.outbox).where(
            orm.outbox.c.payload.contains(app["id"]), orm.outbox.c.event_type == "application_status_changed")).scalar()
    assert changed == 1
