"""Kemendagri region lookups: kinds, time zones and code validation against the packaged list."""

import pytest

from mppi.indonesia import regions
from mppi.indonesia.regions import (
    PAPUA_PROVINCES,
    district_exists,
    get_regency,
    is_valid_code,
    list_districts,
    list_provinces,
    list_regencies,
    province_timezone,
    regency_kind,
)


def test_kabupaten_sinjai_is_a_kabupaten_in_wita():
    region = get_regency("73.07")
    assert region is not None
    assert (region.name, region.kind, region.timezone) == ("Kabupaten Sinjai", "kabupaten", "Asia/Makassar")
    assert (region.province_code, region.province_name) == ("73", "Sulawesi Selatan")


def test_kota_jayapura_is_a_kota_in_wit():
    region = get_regency("91.71")
    assert region is not None
    assert (region.name, region.kind, region.timezone) == ("Kota Jayapura", "kota", "Asia/Jayapura")


def test_bengkulu_tengah_is_in_wib():
    region = get_regency("17.09")
    assert region is not None
    assert (region.name, region.kind, region.timezone) == (
        "Kabupaten Bengkulu Tengah",
        "kabupaten",
        "Asia/Jakarta",
    )


def test_regency_part_71_or_more_is_a_kota():
    assert get_regency("32.73").kind == "kota"
    assert regency_kind("32.73") == "kota"
    assert regency_kind("32.71") == "kota"
    assert regency_kind("32.70") == "kabupaten"
    assert regency_kind("73.07") == "kabupaten"


def test_regency_kind_refuses_malformed_codes():
    with pytest.raises(ValueError):
        regency_kind("3273")


@pytest.mark.parametrize("code", ["99.99", "73.7", "7307", "73.07.01", "", "aa.bb"])
def test_unknown_or_malformed_regency_is_none(code):
    assert get_regency(code) is None


@pytest.mark.parametrize(
    ("province", "zone"),
    [
        ("11", "Asia/Jakarta"),
        ("21", "Asia/Jakarta"),
        ("36", "Asia/Jakarta"),
        ("61", "Asia/Jakarta"),
        ("62", "Asia/Jakarta"),
        ("51", "Asia/Makassar"),
        ("63", "Asia/Makassar"),
        ("65", "Asia/Makassar"),
        ("76", "Asia/Makassar"),
        ("81", "Asia/Jayapura"),
        ("82", "Asia/Jayapura"),
        ("96", "Asia/Jayapura"),
    ],
)
def test_province_time_zones_follow_wib_wita_wit(province, zone):
    assert province_timezone(province) == zone


def test_every_listed_province_has_a_time_zone():
    for province in list_provinces():
        assert province_timezone(province.code) in {"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"}


def test_unknown_province_time_zone_raises_key_error():
    with pytest.raises(KeyError):
        province_timezone("99")


def test_lists_have_the_official_counts():
    assert len(list_provinces()) == 38
    assert len(list_regencies()) == 514
    assert [r.code for r in list_regencies("17")][:2] == ["17.01", "17.02"]
    assert list_regencies("99") == []


def test_list_districts_of_a_regency_is_ordered_by_code():
    districts = list_districts("17.09")
    assert districts[0].code == "17.09.01"
    assert [d.code for d in districts] == sorted(d.code for d in districts)
    assert all(d.regency_code == "17.09" for d in districts)
    assert list_districts("99.99") == []


def test_is_valid_code_checks_existence_at_each_level():
    assert is_valid_code("73")
    assert is_valid_code("73.07")
    assert is_valid_code("17.09.01")
    assert is_valid_code("73", "province")
    assert is_valid_code("73.07", "regency")
    assert is_valid_code("17.09.01", "district")
    assert not is_valid_code("73.07", "province")
    assert not is_valid_code("73", "district")
    assert not is_valid_code("99")
    assert not is_valid_code("17.09.99")
    assert not is_valid_code("17-09")


def test_is_valid_code_rejects_an_unknown_level():
    with pytest.raises(ValueError):
        is_valid_code("73", "village")


def test_district_exists():
    assert district_exists("17.09.01")
    assert not district_exists("99.99.99")
    assert not district_exists("170901")


def test_papua_provinces_are_the_six_post_2022_provinces():
    assert PAPUA_PROVINCES == {"91", "92", "93", "94", "95", "96"}
    assert get_regency("93.01").name == "Kabupaten Merauke"
    assert get_regency("91.01") is None  # Merauke's old code, renumbered in 2022


def test_data_is_loaded_once():
    regions._data.cache_clear()
    get_regency("73.07")
    get_regency("91.71")
    assert regions._data.cache_info().misses == 1


def test_historic_regency_codes_name_the_new_province_and_its_law():
    from mppi.indonesia.regions import historic_codes_of

    tarakan = historic_codes_of("64.73")
    assert (tarakan.moved_to, tarakan.year, tarakan.basis) == ("65", 2012, "UU 20/2012")
    assert historic_codes_of("73.20").moved_to == "76"
    assert historic_codes_of("32.20").moved_to == "36"
    assert historic_codes_of("14.74").moved_to == "21"
    assert historic_codes_of("64.07") is None  # Kutai Barat never left Kalimantan Timur
    assert historic_codes_of("bad") is None
