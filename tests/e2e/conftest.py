"""Shared fixtures of the API-wide tests (fuzzing, isolation matrix): a region filled with one real object of every
kind a path names, and the clients of everyone who may or may not see them."""
import io
import uuid

import pypdfium2
import pytest
import zxingcpp
from journeys import SERIALS, apply, make_region, new_citizen, work_through
from support import MINIMAL_PDF, Client, fill_form, multipart, wait_for

PASSWORD = "password-123"


class World:
    """A region (``slug``) with its published service, staff per role, an applicant ("citizen") and another citizen,
    a submitted and a completed application of the applicant, and a second region whose tenant admin is a stranger
    here. ``fresh_*`` make an object to be consumed (deleted, published, acted on) by one call; ``body_for`` a valid
    body for any route."""

    def __init__(self, platform, admin: Client, anon: Client, region_codes: tuple[str, str]):
        self.base_url = platform.base_url
        self.anon, self.admin = anon, admin
        self.region = make_region(admin, region_codes[0])
        self.other_region = make_region(admin, region_codes[1])
        self.slug, self.service_id = self.region["slug"], self.region["service_id"]
        self.template_code = self.region["definition"]["code"]
        self.citizen, self.citizen_email = new_citizen(anon)
        self.other_citizen, self.other_citizen_email = new_citizen(anon)
        self.application = self.fresh_application()
        self.document_key = self.application["documents"][0]["key"]
        self.completed = self.fresh_completed_application()
        self.verify_code = _verify_code(self.citizen, self.completed)
        self.subscription_id = self.fresh_subscription()
        self.notification_id = wait_for(lambda: self._first_notification(), message="the applicant's notification")
        self.staff_id = self.fresh_staff()
        self.first_step_roles = tuple(self.region["definition"]["workflow"]["steps"][0]["roles"])

    def clients(self) -> dict[str, Client]:
        """Everyone the isolation matrix asks, by name."""
        r = self.region
        return {"anonymous": self.anon, "citizen": self.citizen, "other_citizen": self.other_citizen,
                "other_region_staff": self.other_region["tenant_admin"], "tenant_admin": r["tenant_admin"],
                "verifier": r["verifier"], "approver": r["approver"], "operator": r["operator"],
                "platform_admin": self.admin}

    def _first_notification(self) -> str | None:
        items = self.citizen.get("/api/v1/me/notifications").json()["items"]
        return items[0]["id"] if items else None

    def body_for(self, route, *, spare_region: str = "36.01") -> dict:
        """requests' keyword arguments for a valid body of the route (fresh names where a name must be unique)."""
        model = route.body or route.multipart
        if model is None:
            return {}
        tag = uuid.uuid4().hex[:8]
        bodies = {
            "Register": lambda: {"nik": f"730701450190{next(SERIALS):04d}", "full_name": "Warga Baru",
                                 "email": f"w-{tag}@example.id", "phone": "081234567890", "password": "rahasia-123"},
            "TokenRequest": lambda: {"username": self.other_citizen_email, "password": "rahasia-123"},
            "TenantCreate": lambda: {"slug": f"m-{tag}", "region_code": spare_region},
            "TenantPatch": lambda: {"holidays": ["2026-12-24"]},
            "StaffCreate": lambda: {"email": f"s-{tag}@example.id", "full_name": "Staf", "password": "password-123",
                                    "roles": ["operator"]},
            "AgencyCreate": lambda: {"code": f"OPD-{tag}", "name": "Dinas Kependudukan"},
            "AdoptOrCreate": lambda: {"template_code": self.template_code, "code": f"s-{tag}"},
            "ServicePatch": lambda: {"description": "Diperbarui"},
            "ActionRequest": lambda: {"action": "verify"},
            "SurveyAnswers": lambda: {"answers": {f"u{i}": 4 for i in range(1, 10)}, "comment": "Cepat"},
            "SubscriptionCreate": lambda: {"kind": "webhook", "url": "http://127.0.0.1:9/hook"},
            "TemplateOverride": lambda: {"title": "Permohonan diterima", "body": "Terima kasih."},
            "ChannelsConfig": lambda: {"email": True},
        }
        if model.__name__ == "SubmissionData":
            form, files = fill_form(self.region["definition"]["form"]["fields"], file_bytes=MINIMAL_PDF)
            return multipart({"service_id": self.service_id, "form": form}, files)
        assert model.__name__ in bodies, f"{route.endpoint}: add a valid {model.__name__} body to World.body_for"
        return {"json": bodies[model.__name__]()}

    def fresh_application(self) -> dict:
        r = apply(self.citizen, self.region)
        assert r.status_code == 201, r.text
        return self.citizen.get(f"/api/v1/tenants/{self.slug}/applications/{r.json()['id']}").json()

    def fresh_completed_application(self) -> dict:
        return work_through(self.region, self.fresh_application())

    def fresh_staff(self) -> str:
        email = f"staff-{uuid.uuid4().hex[:8]}@example.id"
        r = self.region["tenant_admin"].post(f"/api/v1/tenants/{self.slug}/staff", json={
            "email": email, "full_name": "Staf", "password": PASSWORD, "roles": ["verifier"]})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def fresh_service(self, *, published: bool = False) -> str:
        r = self.region["tenant_admin"].post(f"/api/v1/tenants/{self.slug}/services", json={
            "template_code": self.template_code, "code": f"s-{uuid.uuid4().hex[:8]}"})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        if published:
            r = self.region["tenant_admin"].post(f"/api/v1/tenants/{self.slug}/services/{sid}/publish")
            assert r.status_code == 200, r.text
        return sid

    def fresh_subscription(self) -> str:
        r = self.region["tenant_admin"].post(f"/api/v1/tenants/{self.slug}/subscriptions",
                                             json={"kind": "webhook", "url": "http://127.0.0.1:9/hook"})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def _verify_code(citizen: Client, completed: dict) -> str:
    """The verification code printed as a QR code on the issued document."""
    pdf = citizen.get(completed["output"]["url"])
    assert pdf.status_code == 200, pdf.text
    document = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
    codes = [c for page in document for c in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
    document.close()
    assert codes, "no QR code on the issued document"
    return codes[0].text.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def world(platform, admin, anon) -> World:
    """One World for the fuzzing and the isolation matrix (built once: it takes a few dozen requests), on two
    regions no other test uses. Neither test relies on what the other may change in it."""
    return World(platform, admin, anon, ("33.01", "33.02"))
