"""The tenants domain without a broker or database: regions become tenants, NIKs gate registration."""
import pytest

from mppi.contracts.errors import UnknownRegion, ValidationFailed
from services.tenants.domain.accounts import check_nik
from services.tenants.domain.tenant import new_tenant


def test_a_tenant_takes_name_kind_and_timezone_from_the_region():
    t = new_tenant(slug="bengkulu-tengah", region_code="17.09")
    assert (t.name, t.kind, t.timezone) == ("Kabupaten Bengkulu Tengah", "kabupaten", "Asia/Jakarta")
    assert t.branding["display_name"] == "Kabupaten Bengkulu Tengah"
    assert [w["kind"] for w in t.dashboard] == ["announcement", "featured_services", "categories", "public_stats"]
    assert t.office_hours == {"days": [0, 1, 2, 3, 4], "opens": "08:00", "closes": "16:00"}


def test_a_kota_in_papua_is_on_eastern_time():
    t = new_tenant(slug="kota-jayapura", region_code="91.71")
    assert (t.kind, t.timezone) == ("kota", "Asia/Jayapura")


def test_an_explicit_name_and_timezone_win():
    t = new_tenant(slug="sinjai", region_code="73.07", name="Pemkab Sinjai", timezone="Asia/Jakarta")
    assert (t.name, t.timezone) == ("Pemkab Sinjai", "Asia/Jakarta")


@pytest.mark.parametrize("code", ["99.99", "73", "73.07.01", "11.99"])
def test_unknown_regions_are_refused(code):
    with pytest.raises(UnknownRegion) as err:
        new_tenant(slug="x-y-z", region_code=code)
    assert err.value.errors[0]["loc"] == ["body", "region_code"]


def test_a_patch_merges_branding_and_replaces_lists():
    t = new_tenant(slug="sinjai", region_code="73.07")
    t.apply_patch({"branding": {"primary_color": "#aa0000"}, "holidays": ["2026-12-31", "2026-01-02", "2026-12-31"],
                   "menu": []})
    assert t.branding == {"display_name": "Kabupaten Sinjai", "primary_color": "#aa0000", "logo_url": None}
    assert t.holidays == ["2026-01-02", "2026-12-31"] and t.menu == []


def test_registration_names_the_nik_field_when_it_is_invalid():
    with pytest.raises(ValidationFailed) as err:
        check_nik("7307010000000000")
    assert all(e["loc"] == ["body", "nik"] for e in err.value.errors)
    check_nik("7307014501900001")
