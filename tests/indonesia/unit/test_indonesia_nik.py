"""NIK rules from DOMAIN.md: length, district, birth date (women +40, century), serial, masking."""

import datetime

import pytest

from mppi.indonesia.nik import NikInfo, mask_nik, nik_problems, parse_nik

TODAY = datetime.date(2026, 3, 1)
# 17.09.01 is Karang Tinggi, Kabupaten Bengkulu Tengah.
DISTRICT = "170901"


def nik(ddmmyy: str, serial: str = "0001", district: str = DISTRICT) -> str:
    return district + ddmmyy + serial


def test_valid_male_nik_has_no_problems():
    assert nik_problems(nik("120590"), today=TODAY) == []


def test_valid_female_nik_parses_day_minus_40():
    info = parse_nik(nik("520590", "0042"), today=TODAY)
    assert info == NikInfo(district_code="17.09.01", birth_date=datetime.date(1990, 5, 12), sex="F", serial="0042")


def test_31_february_does_not_exist():
    problems = nik_problems(nik("310290"), today=TODAY)
    assert len(problems) == 1
    assert "31-02" in problems[0] and "does not exist" in problems[0]


def test_woman_day_71_is_the_31st_so_only_in_31_day_months():
    assert nik_problems(nik("710590"), today=TODAY) == []  # 31 May 1990
    assert parse_nik(nik("710590"), today=TODAY).birth_date == datetime.date(1990, 5, 31)
    problems = nik_problems(nik("710490"), today=TODAY)  # 31 April
    assert len(problems) == 1 and "31-04" in problems[0]


def test_day_72_is_refused():
    assert any("out of range" in p for p in nik_problems(nik("720590"), today=TODAY))


@pytest.mark.parametrize("day", ["00", "32", "35", "39", "40", "99"])
def test_days_between_the_male_and_female_ranges_are_refused(day):
    assert any("out of range" in p for p in nik_problems(nik(day + "0590"), today=TODAY))


@pytest.mark.parametrize("month", ["00", "13"])
def test_month_must_exist(month):
    assert any("month" in p for p in nik_problems(nik("12" + month + "90"), today=TODAY))


def test_29_february_only_in_leap_years_of_the_resolved_century():
    assert nik_problems(nik("290296"), today=TODAY) == []  # 1996 is a leap year
    assert nik_problems(nik("690200"), today=TODAY) == []  # woman, 2000 is a leap year
    problems = nik_problems(nik("290201"), today=TODAY)
    assert problems == ["birth date 29-02-2001 does not exist"]


def test_serial_0000_is_refused():
    assert nik_problems(nik("120590", "0000"), today=TODAY) == ["serial must not be 0000"]


def test_unknown_district_is_refused():
    assert nik_problems("999999" + "120590" + "0001", today=TODAY) == ["unknown district code 99.99.99"]
    # Existing regency, missing district.
    assert nik_problems("170999" + "120590" + "0001", today=TODAY) == ["unknown district code 17.09.99"]


def test_papua_nik_with_a_renumbered_regency_is_accepted():
    # Issued in Merauke before 2022, when it was 91.01 (now 93.01): 91.01.01 is no longer listed.
    info = parse_nik("910101" + "120385" + "0002", today=TODAY)
    assert info.district_code == "91.01.01"
    assert info.birth_date == datetime.date(1985, 3, 12)


def test_papua_rule_still_checks_the_birth_date_and_serial():
    assert len(nik_problems("910101" + "310285" + "0000", today=TODAY)) == 2


@pytest.mark.parametrize("value", ["", "170901120590000", "17090112059000011"])
def test_wrong_length_is_refused(value):
    assert nik_problems(value, today=TODAY) == [f"must be 16 digits, got {len(value)}"]


@pytest.mark.parametrize("value", ["1709011205900O01", "1709 0112 0590 0001", "170901120590000١", "-709011205900001"])
def test_non_digits_are_refused(value):
    assert nik_problems(value, today=TODAY) == ["must contain digits only"]


def test_year_above_this_years_two_digits_is_19yy():
    assert parse_nik(nik("120590"), today=TODAY).birth_date.year == 1990
    assert parse_nik(nik("010127"), today=TODAY).birth_date == datetime.date(1927, 1, 1)


def test_year_up_to_this_years_two_digits_is_20yy_when_in_the_past():
    assert parse_nik(nik("010126"), today=TODAY).birth_date == datetime.date(2026, 1, 1)
    assert parse_nik(nik("010326"), today=TODAY).birth_date == datetime.date(2026, 3, 1)  # born today
    assert parse_nik(nik("150610"), today=TODAY).birth_date == datetime.date(2010, 6, 15)


def test_a_date_later_this_year_is_put_in_the_previous_century_not_the_future():
    # 15 June 2026 would be in the future on 1 March 2026, so the century rule makes it 1926.
    info = parse_nik(nik("150626"), today=TODAY)
    assert info.birth_date == datetime.date(1926, 6, 15)
    assert info.birth_date <= TODAY


def test_parse_nik_raises_value_error_with_all_problems():
    with pytest.raises(ValueError, match="does not exist; serial must not be 0000"):
        parse_nik(nik("310290", "0000"), today=TODAY)


def test_problem_messages_never_contain_the_whole_nik():
    value = "999999" + "310290" + "0000"
    assert all(value not in p for p in nik_problems(value, today=TODAY))


def test_mask_keeps_first_and_last_four_digits():
    # DOMAIN.md shows 10 asterisks, a typo: a NIK has 16 digits, so 8 are hidden.
    assert mask_nik("1709015205900001") == "1709********0001"
    assert len(mask_nik("1709015205900001")) == 16


def test_mask_of_a_short_value_hides_everything():
    assert mask_nik("12345") == "*****"


# --- codes of regencies that moved or were renumbered: a NIK is valid for life -----------------------------------

@pytest.mark.parametrize("district", [
    "647301",  # Kota Tarakan under Kalimantan Timur before Kalimantan Utara (2012); now 65.71
    "640401",  # Bulungan, Malinau or Nunukan under Kalimantan Timur (64.04-64.06); now 65.01-65.03
    "641001",  # Tana Tidung under Kalimantan Timur; now 65.04
    "732101",  # a Sulawesi Selatan regency that moved to Sulawesi Barat (2004); now 76.xx
    "732501",
])
def test_a_nik_issued_before_its_regency_moved_to_a_new_province_stays_valid(district):
    info = parse_nik(nik("120590", district=district), today=TODAY)
    assert info.district_code == f"{district[:2]}.{district[2:4]}.{district[4:]}"


def test_a_banten_nik_issued_under_a_pre_2000_jawa_barat_code_stays_valid():
    # Before Banten (UU 23/2000) Jawa Barat had 20 kabupaten, Serang, Tangerang, Pandeglang and Lebak among them; it
    # now lists 32.01-32.18, so a Banten NIK issued as 32.20 (a code no regency holds today) is still a NIK.
    assert nik_problems(nik("120590", district="322001"), today=TODAY) == []
    assert nik_problems(nik("120590", district="321905"), today=TODAY) == []
    # Jawa Barat never had a 21st kabupaten, and 00 is no district
    assert nik_problems(nik("120590", district="322101"), today=TODAY) == ["unknown district code 32.21.01"]
    assert nik_problems(nik("120590", district="322000"), today=TODAY) == ["unknown district code 32.20.00"]


def test_a_kecamatan_that_moved_to_a_newer_regency_keeps_its_old_code_in_a_nik():
    # Kabupaten Serang's kecamatan 01-04 went to Kota Serang (2007): the list numbers Kabupaten Serang from 36.04.05.
    assert nik_problems(nik("120590", district="360401"), today=TODAY) == []


def test_district_digits_beyond_any_code_ever_issued_are_still_refused():
    assert nik_problems(nik("120590", district="647399"), today=TODAY) == ["unknown district code 64.73.99"]
    assert nik_problems(nik("120590", district="643001"), today=TODAY) == ["unknown district code 64.30.01"]
    assert nik_problems(nik("120590", district="360499"), today=TODAY) == ["unknown district code 36.04.99"]
