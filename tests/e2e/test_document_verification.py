"""An issued receipt's QR code attests the paper it is printed on (issue 16): the verify page and its JSON show
what the receipt prints (holder and details masked, the time in the region's zone, the Kemendagri name of the
region) so a genuine code copied onto an edited receipt is caught; facts altered where they are kept no longer
match their code; a code issued before codes were bound still verifies, with what the application says."""
import datetime
import hashlib
import html
import io
import json

import psycopg2
import pypdfium2
import pytest
import zxingcpp
from journeys import apply, make_region, new_citizen, work_through
from support import wait_for

from services.applications.domain.verification import legacy_code

HOLDER = "Andi Makkasau"  # every journeys.new_citizen is called so
WITA = datetime.timedelta(hours=8)


@pytest.fixture(scope="module")
def region(admin):
    """Kabupaten Kolaka (74.01, Sulawesi Tenggara: WITA), renamed by its own admin."""
    region = make_region(admin, "74.01")
    slug = region["slug"]
    r = region["tenant_admin"].patch(f"/api/v1/tenants/{slug}", json={"name": "Kolaka Juara Sejahtera"})
    assert r.status_code == 200, r.text
    wait_for(lambda: admin.get(f"/api/v1/tenants/{slug}").json()["name"] == "Kolaka Juara Sejahtera",
             message="the gateway's copy of the renamed region")
    return region


@pytest.fixture(scope="module")
def issued(anon, region) -> dict:
    """A completed application of the region, its receipt's PDF bytes and the code its QR code carries."""
    citizen = new_citizen(anon)[0]
    r = apply(citizen, region)
    assert r.status_code == 201, r.text
    done = work_through(region, r.json())
    pdf = citizen.get(done["output"]["url"])
    assert pdf.status_code == 200, pdf.text
    document = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
    text = " ".join(document[0].get_textpage().get_text_range().split())
    codes = [c.text for page in document for c in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
    document.close()
    assert len(codes) == 1, codes
    return {"app": done, "pdf": pdf.content, "text": text, "code": codes[0].rsplit("/", 1)[1]}


def _output(platform, tracking_number: str, change=None) -> dict:
    """The applications service's record of the issued document (``change`` rewrites it)."""
    db = psycopg2.connect(platform.database_urls["applications"])
    with db, db.cursor() as cur:
        cur.execute("SELECT output FROM applications WHERE tracking_number = %s", (tracking_number,))
        output = cur.fetchone()[0]
        if change is not None:
            output = change(dict(output))
            cur.execute("UPDATE applications SET output = %s WHERE tracking_number = %s",
                        (json.dumps(output), tracking_number))
    db.close()
    return output


def test_the_receipt_prints_the_kemendagri_name_and_the_regions_time_not_its_display_name(issued):
    text = issued["text"]
    assert "Kabupaten Kolaka" in text and "Juara" not in text, text
    assert "WITA" in text and "WIB" not in text


def test_a_genuine_code_shows_what_its_receipt_prints_so_an_edited_paper_is_caught(anon, region, issued):
    app, code = issued["app"], issued["code"]
    r = anon.get(f"/api/v1/verify/{code}")
    assert r.status_code == 200, r.text
    found = r.json()
    # the documented fields stay
    assert found["valid"] is True and found["tracking_number"] == app["tracking_number"]
    assert found["tenant"] == region["slug"] and found["service_name"] == app["service"]["name"]
    issued_at = datetime.datetime.fromisoformat(found["issued_at"])
    assert issued_at.utcoffset() == WITA, found["issued_at"]  # RFC 3339 with the region's offset
    # and what a reader compares with the paper
    assert (found["region_code"], found["region_name"]) == ("74.01", "Kabupaten Kolaka")
    assert (found["timezone"], found["timezone_label"]) == ("Asia/Makassar", "WITA")
    assert found["holder"] == "A*** M*******"
    assert found["output_name"] and f"atas layanan: {found['output_name']}" in issued["text"]
    assert found["details"], "the receipt's detail rows"
    for row in found["details"]:
        assert row["label"] in issued["text"], row
        assert "*" in row["value"] or len(row["value"]) == 1, row  # masked: never an answer as typed
    assert found["content_bound"] is True
    assert found["document_sha256"] == hashlib.sha256(issued["pdf"]).hexdigest()
    assert HOLDER not in r.text and "Juara" not in r.text

    page = anon.get(f"/verify/{code}")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    for expected in (app["tracking_number"], "Kabupaten Kolaka", "A*** M*******", found["output_name"],
                     f"{issued_at:%d-%m-%Y %H:%M} WITA", *(row["value"] for row in found["details"])):
        assert expected in shown, expected
    assert "WIB" not in shown and HOLDER not in shown and "Juara" not in shown


def test_facts_altered_where_they_are_kept_no_longer_match_their_code(platform, anon, region):
    citizen = new_citizen(anon)[0]
    done = work_through(region, apply(citizen, region).json())
    code = _output(platform, done["tracking_number"])["code"]
    assert anon.get(f"/api/v1/verify/{code}").status_code == 200

    def other_holder(output: dict) -> dict:
        return {**output, "facts": {**output["facts"], "holder": "Budi Santoso"}}

    _output(platform, done["tracking_number"], other_holder)
    r = anon.get(f"/api/v1/verify/{code}")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", r.text
    assert anon.get(f"/verify/{code}").status_code == 404


def test_a_code_issued_before_codes_were_bound_still_verifies_with_what_the_application_says(platform, anon, region):
    citizen = new_citizen(anon)[0]
    done = work_through(region, apply(citizen, region).json())
    secret = (platform.env().get("MPPI_SIGNING_SECRET") or "").encode() or \
        (platform.var_dir / "signing.key").read_bytes().strip()
    code = legacy_code(secret, done["tracking_number"])
    utc = datetime.datetime(2026, 11, 30, 1, 30, tzinfo=datetime.UTC)

    def as_before(output: dict) -> dict:  # the record an issue of the release before left
        return {"blob": output["blob"], "code": code, "issued_at": utc.isoformat()}

    _output(platform, done["tracking_number"], as_before)
    found = anon.get(f"/api/v1/verify/{code}").json()
    assert found["valid"] is True and found["tracking_number"] == done["tracking_number"]
    assert found["content_bound"] is False and found["details"] == [] and found["document_sha256"] is None
    assert found["holder"] == "A*** M*******" and found["region_name"] == "Kabupaten Kolaka"
    assert found["issued_at"] == "2026-11-30T09:30:00+08:00" and found["timezone_label"] == "WITA"
    page = html.unescape(anon.get(f"/verify/{code}").text)
    assert "30-11-2026 09:30 WITA" in page and "A*** M*******" in page and "versi lama" in page
