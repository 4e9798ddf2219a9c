"""A submission's form against the service version's form: every field type, required / optional / unknown keys,
file fields present or missing, and messages that name the field without repeating a NIK."""

import datetime

import pytest

from services.applications.domain.form import check_form
from services.catalog.templates import load_templates

TODAY = datetime.date(2026, 3, 1)
# 17.09.01 is Karang Tinggi, Kabupaten Bengkulu Tengah; the women's birth day is +40.
NIK_MOTHER = "1709015205900002"  # woman, born 12-05-1990
NIK_FATHER = "1709011004880003"
NIK_REPORTER = "1709012708750001"
BIRTH_FILES = {"surat_kelahiran", "kk_orang_tua", "ktp_ibu"}


def fields_of(code: str) -> list[dict]:
    return [f.model_dump() for f in load_templates()[code].form.fields]


@pytest.fixture(scope="module")
def birth():
    return fields_of("akta-kelahiran")


@pytest.fixture(scope="module")
def job_card():
    return fields_of("kartu-pencari-kerja")


def birth_form(**changes) -> dict:
    form = {
        "nama_anak": "  Putri Ayu Lestari ",
        "jenis_kelamin": "perempuan",
        "tanggal_lahir": "2026-02-14",
        "tempat_lahir": "17.09",
        "tempat_dilahirkan": "puskesmas",
        "jenis_kelahiran": "tunggal",
        "kelahiran_ke": 2,
        "penolong_kelahiran": "bidan_perawat",
        "berat_bayi_gram": "3150",
        "no_kk": "1709010101200001",
        "nik_ibu": NIK_MOTHER,
        "nik_ayah": NIK_FATHER,
        "nik_pelapor": NIK_REPORTER,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not ...}


def job_form(**changes) -> dict:
    form = {"nik": NIK_REPORTER, "status_perkawinan": "belum_kawin", "pendidikan": "s1_d4", "jurusan": "Akuntansi",
            "jabatan_diinginkan": "Staf administrasi", "email": "Budi.Santoso@Example.CO.ID",
            "telepon": "0812-3456-7890"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not ...}


def check(fields, form, uploaded=frozenset(), **kw):
    return check_form(fields, form, uploaded=set(uploaded), today=TODAY, **kw)


def locs(problems) -> list[list]:
    return [p["loc"] for p in problems]


def only_problem(problems) -> dict:
    assert len(problems) == 1, problems
    return problems[0]


# A form of every type, as a region might define it by hand.
EVERY_TYPE = [
    {"key": "nama", "label": "Nama", "type": "text", "required": True},
    {"key": "alamat", "label": "Alamat", "type": "textarea", "required": False},
    {"key": "luas_m2", "label": "Luas bangunan", "type": "number", "required": False, "min": 1, "max": 100000},
    {"key": "tanggal", "label": "Tanggal", "type": "date", "required": False},
    {"key": "email", "label": "Email", "type": "email", "required": False},
    {"key": "telepon", "label": "Telepon", "type": "phone", "required": False},
    {"key": "nik", "label": "NIK", "type": "nik", "required": False},
    {"key": "fungsi", "label": "Fungsi bangunan", "type": "select", "required": False,
     "options": [{"value": "hunian", "label": "Hunian"}, {"value": "usaha", "label": "Usaha"}]},
    {"key": "setuju", "label": "Saya menyatakan data benar", "type": "checkbox", "required": True},
    {"key": "berlangganan", "label": "Kirim kabar", "type": "checkbox", "required": False},
    {"key": "provinsi", "label": "Provinsi", "type": "region", "required": False, "level": "province"},
    {"key": "kabupaten", "label": "Kabupaten/kota", "type": "region", "required": False, "level": "regency"},
    {"key": "kecamatan", "label": "Kecamatan", "type": "region", "required": False, "level": "district"},
    {"key": "wilayah", "label": "Wilayah", "type": "region", "required": False},
    {"key": "denah", "label": "Denah", "type": "file", "required": False, "accept": ["application/pdf"],
     "max_size_mb": 5},
]


def one(key: str, value, **also):
    """Check one value of EVERY_TYPE's field ``key`` (with the required declaration ticked)."""
    return check(EVERY_TYPE, {"nama": "Siti", "setuju": True, key: value, **also})


# ---- a whole real form ----

def test_a_complete_birth_registration_passes_with_converted_values(birth):
    clean, problems = check(birth, birth_form(), BIRTH_FILES)
    assert problems == []
    assert clean["nama_anak"] == "Putri Ayu Lestari"
    assert clean["berat_bayi_gram"] == 3150 and isinstance(clean["berat_bayi_gram"], int)
    assert clean["kelahiran_ke"] == 2
    assert clean["tempat_lahir"] == "17.09"
    assert clean["nik_ibu"] == NIK_MOTHER
    assert set(clean) == set(birth_form()) and not set(clean) & BIRTH_FILES


def test_every_bad_field_gets_its_own_problem_naming_it(birth):
    form = birth_form(jenis_kelamin="L", tanggal_lahir="2026-02-30", kelahiran_ke=0, nik_ibu="1709013102900002")
    _, problems = check(birth, form, BIRTH_FILES)
    assert sorted(locs(problems)) == sorted([["body", "form", "jenis_kelamin"], ["body", "form", "tanggal_lahir"],
                                             ["body", "form", "kelahiran_ke"], ["body", "form", "nik_ibu"]])
    assert all(isinstance(p["msg"], str) and p["msg"] for p in problems)


def test_the_location_prefix_can_be_chosen_for_a_resubmission(birth):
    _, problems = check(birth, birth_form(jenis_kelamin="x"), BIRTH_FILES, loc=("body", "data", "form"))
    assert locs(problems) == [["body", "data", "form", "jenis_kelamin"]]


def test_a_form_that_is_not_an_object_is_one_problem(birth):
    clean, problems = check(birth, ["Putri"], BIRTH_FILES)
    assert clean == {} and locs(problems) == [["body", "form"]]


# ---- required, optional, unknown ----

def test_a_missing_required_field_is_reported_as_required(birth):
    _, problems = check(birth, birth_form(nama_anak=...), BIRTH_FILES)
    assert only_problem(problems) == {"loc": ["body", "form", "nama_anak"], "msg": "is required"}


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_a_required_field_left_empty_is_reported_as_required(birth, empty):
    _, problems = check(birth, birth_form(nik_pelapor=empty), BIRTH_FILES)
    assert only_problem(problems) == {"loc": ["body", "form", "nik_pelapor"], "msg": "is required"}


@pytest.mark.parametrize("empty", ["", " ", None, ...])
def test_an_optional_field_left_empty_is_dropped_from_the_clean_form(birth, empty):
    clean, problems = check(birth, birth_form(nik_ayah=empty, berat_bayi_gram=empty), BIRTH_FILES)
    assert problems == []
    assert "nik_ayah" not in clean and "berat_bayi_gram" not in clean


def test_an_optional_field_that_is_filled_in_is_still_checked(birth):
    _, problems = check(birth, birth_form(berat_bayi_gram=12000), BIRTH_FILES)
    assert only_problem(problems)["loc"] == ["body", "form", "berat_bayi_gram"]


def test_a_key_that_is_not_a_field_of_the_service_is_refused_naming_it(birth):
    clean, problems = check(birth, birth_form(golongan_darah="O", agama="islam"), BIRTH_FILES)
    assert sorted(locs(problems)) == [["body", "form", "agama"], ["body", "form", "golongan_darah"]]
    assert all("not a field" in p["msg"] for p in problems)
    assert "agama" not in clean


def test_a_file_field_sent_as_a_form_value_is_refused(birth):
    _, problems = check(birth, birth_form(ktp_ibu="ktp.pdf"), BIRTH_FILES)
    problem = only_problem(problems)
    assert problem["loc"] == ["body", "form", "ktp_ibu"] and "file" in problem["msg"]


# ---- file fields ----

def test_a_required_file_that_was_not_uploaded_is_reported_under_files(birth):
    _, problems = check(birth, birth_form(), BIRTH_FILES - {"ktp_ibu", "kk_orang_tua"})
    assert sorted(locs(problems)) == [["body", "files", "kk_orang_tua"], ["body", "files", "ktp_ibu"]]
    assert all("required" in p["msg"] for p in problems)


def test_an_optional_file_may_be_left_out_or_sent(birth):
    assert check(birth, birth_form(), BIRTH_FILES)[1] == []
    assert check(birth, birth_form(), BIRTH_FILES | {"ktp_ayah", "buku_nikah"})[1] == []


def test_a_file_uploaded_under_a_key_that_is_not_a_file_field_is_refused(birth):
    _, problems = check(birth, birth_form(), BIRTH_FILES | {"foto_bayi", "nama_anak"})
    assert sorted(locs(problems)) == [["body", "files", "foto_bayi"], ["body", "files", "nama_anak"]]


def test_a_service_without_file_fields_needs_no_upload():
    fields = [{"key": "nama", "label": "Nama", "type": "text", "required": True}]
    assert check(fields, {"nama": "Budi"}) == ({"nama": "Budi"}, [])


# ---- text and textarea ----

def test_text_is_trimmed():
    clean, problems = one("nama", "  Siti Aminah  ")
    assert problems == [] and clean["nama"] == "Siti Aminah"


def test_text_longer_than_the_fields_max_length_is_refused(birth):
    _, problems = check(birth, birth_form(nama_anak="A" * 101), BIRTH_FILES)
    assert only_problem(problems) == {"loc": ["body", "form", "nama_anak"], "msg": "must be at most 100 characters"}
    assert check(birth, birth_form(nama_anak="A" * 100), BIRTH_FILES)[1] == []


def test_text_without_max_length_is_limited_to_500_and_textarea_to_5000():
    assert one("nama", "x" * 500)[1] == []
    assert locs(one("nama", "x" * 501)[1]) == [["body", "form", "nama"]]
    assert one("alamat", "x" * 5000)[1] == []
    assert locs(one("alamat", "x" * 5001)[1]) == [["body", "form", "alamat"]]


def test_the_length_limit_counts_the_trimmed_text(birth):
    assert check(birth, birth_form(nama_anak=" " * 50 + "A" * 100 + " " * 50), BIRTH_FILES)[1] == []


@pytest.mark.parametrize("value", ["Siti\nAminah", "Siti\tAminah", "Siti\x00", "Siti\x1b[31m", "Siti\x7f"])
def test_text_with_a_line_break_or_control_character_is_refused(value):
    assert locs(one("nama", value)[1]) == [["body", "form", "nama"]]


def test_a_textarea_keeps_line_breaks_and_tabs_but_refuses_other_control_characters():
    clean, problems = one("alamat", "Jl. Merdeka No. 5\r\nRT 02/RW 03\tKel. Pasar")
    assert problems == [] and clean["alamat"] == "Jl. Merdeka No. 5\nRT 02/RW 03\tKel. Pasar"
    assert locs(one("alamat", "Jl. Merdeka\x00")[1]) == [["body", "form", "alamat"]]
    assert locs(one("alamat", "Jl.\x08 Merdeka")[1]) == [["body", "form", "alamat"]]


@pytest.mark.parametrize("value", [12, ["Siti"], {"id": "Siti"}, True])
def test_text_must_be_a_string(value):
    assert one("nama", value)[1] == [{"loc": ["body", "form", "nama"], "msg": "must be text"}]


def test_a_real_textarea_field_with_its_own_limit():
    fields = fields_of("kartu-keluarga-perubahan")
    form = {"alasan": fields[0]["options"][0]["value"], "no_kk": "1709010101200001",
            "nik_kepala_keluarga": NIK_FATHER, "uraian_perubahan": "Penambahan anggota keluarga:\nanak kedua"}
    clean, problems = check(fields, form)
    assert problems == [] and clean["uraian_perubahan"].count("\n") == 1
    _, problems = check(fields, {**form, "uraian_perubahan": "x" * 501})
    assert only_problem(problems)["msg"] == "must be at most 500 characters"


# ---- number ----

@pytest.mark.parametrize(("value", "expected"), [(12, 12), (12.5, 12.5), ("12", 12), ("12.5", 12.5), (" 40 ", 40),
                                                 ("+7", 7), (100000, 100000)])
def test_numbers_and_numeric_strings_are_accepted_and_converted(value, expected):
    clean, problems = one("luas_m2", value)
    assert problems == []
    assert clean["luas_m2"] == expected and type(clean["luas_m2"]) is type(expected)


@pytest.mark.parametrize("value", [True, False, "12,5", "dua belas", "1e3", "١٢", "12.", ".5", float("nan"),
                                   float("inf"), [12]])
def test_something_that_is_not_a_number_is_refused(value):
    assert one("luas_m2", value)[1] == [{"loc": ["body", "form", "luas_m2"], "msg": "must be a number"}]


def test_a_number_below_min_or_above_max_is_refused_naming_the_bound(birth):
    _, problems = check(birth, birth_form(kelahiran_ke=0), BIRTH_FILES)
    assert only_problem(problems) == {"loc": ["body", "form", "kelahiran_ke"], "msg": "must be at least 1"}
    _, problems = check(birth, birth_form(kelahiran_ke="31"), BIRTH_FILES)
    assert only_problem(problems) == {"loc": ["body", "form", "kelahiran_ke"], "msg": "must be at most 30"}
    assert check(birth, birth_form(kelahiran_ke=30), BIRTH_FILES)[1] == []


def test_zero_is_a_value_not_an_empty_field():
    fields = [{"key": "tanggungan", "label": "Jumlah tanggungan", "type": "number", "required": True, "min": 0}]
    assert check(fields, {"tanggungan": 0}) == ({"tanggungan": 0}, [])


# ---- date ----

def test_a_date_is_kept_as_yyyy_mm_dd():
    clean, problems = one("tanggal", "2024-02-29")
    assert problems == [] and clean["tanggal"] == "2024-02-29"


@pytest.mark.parametrize("value", ["2023-02-29", "2026-02-30", "2026-13-01", "2026-04-31"])
def test_a_date_that_does_not_exist_is_refused(value):
    assert one("tanggal", value)[1] == [{"loc": ["body", "form", "tanggal"], "msg": "is not a date that exists"}]


@pytest.mark.parametrize("value", ["14-02-2026", "2026/02/14", "2026-2-14", "14 Februari 2026", 20260214,
                                   "2026-02-14T10:00:00"])
def test_a_date_in_another_shape_is_refused(value):
    assert locs(one("tanggal", value)[1]) == [["body", "form", "tanggal"]]


# ---- email ----

def test_an_email_is_lowercased_and_trimmed(job_card):
    clean, problems = check(job_card, job_form(email="  Budi.Santoso@Example.CO.ID "), {"ktp", "ijazah", "pas_foto"})
    assert problems == [] and clean["email"] == "budi.santoso@example.co.id"


@pytest.mark.parametrize("value", ["budi", "budi@", "@example.com", "budi@example", "budi@@example.com",
                                   "budi santoso@example.com", "budi..s@example.com", ".budi@example.com",
                                   "budi@-example.com", "budi@example.c0m", 42])
def test_an_implausible_email_is_refused(value):
    assert locs(one("email", value)[1]) == [["body", "form", "email"]]


@pytest.mark.parametrize("value", ["siti+mppi@gmail.com", "a.b_c-d@disdukcapil.bengkuluten.go.id", "x@mail.id"])
def test_plausible_emails_are_accepted(value):
    assert one("email", value)[1] == []


# ---- phone ----

@pytest.mark.parametrize("value", ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", "081234567890",
                                   " +62-812-3456-7890 "])
def test_indonesian_phone_numbers_are_normalised_to_plus_62(value):
    clean, problems = one("telepon", value)
    assert problems == [] and clean["telepon"] == "+6281234567890"


def test_a_landline_with_an_area_code_is_accepted():
    assert one("telepon", "0736 21234")[0]["telepon"] == "+6273621234"


@pytest.mark.parametrize("value", ["812345678", "+1 202 555 0100", "0812-3456-789O", "0812.3456.7890",
                                   "0812345", "08123456789012345", "+6208123456789", 81234567890])
def test_a_phone_number_that_is_not_indonesian_or_has_a_wrong_length_is_refused(value):
    assert locs(one("telepon", value)[1]) == [["body", "form", "telepon"]]


def test_a_real_job_seeker_card_form_passes(job_card):
    pendidikan = next(f for f in job_card if f["key"] == "pendidikan")["options"][0]["value"]
    status = next(f for f in job_card if f["key"] == "status_perkawinan")["options"][0]["value"]
    form = job_form(pendidikan=pendidikan, status_perkawinan=status, jurusan="")
    clean, problems = check(job_card, form, {"ktp", "ijazah", "pas_foto"})
    assert problems == []
    assert clean["telepon"] == "+6281234567890" and "jurusan" not in clean


# ---- NIK ----

def test_a_valid_nik_is_accepted_with_spaces_removed():
    clean, problems = one("nik", " 1709 0152 0590 0002 ")
    assert problems == [] and clean["nik"] == NIK_MOTHER


def test_a_nik_with_an_impossible_birth_date_is_refused_naming_the_field(birth):
    bad = "1709013102900002"  # 31 February 1990
    _, problems = check(birth, birth_form(nik_ibu=bad), BIRTH_FILES)
    problem = only_problem(problems)
    assert problem["loc"] == ["body", "form", "nik_ibu"]
    assert "NIK" in problem["msg"] and "does not exist" in problem["msg"]
    assert bad not in problem["msg"]


@pytest.mark.parametrize("bad", ["1709991205900001", "1709011205900000", "170901120590000", "17090112059000011",
                                 "1709011205900O01", "1709017205900001"])
def test_no_message_about_a_nik_repeats_the_nik(birth, bad):
    _, problems = check(birth, birth_form(nik_pelapor=bad), BIRTH_FILES)
    problem = only_problem(problems)
    assert problem["loc"] == ["body", "form", "nik_pelapor"]
    assert bad not in problem["msg"] and bad not in str(problems)


def test_a_nik_from_an_old_papua_district_is_accepted():
    assert one("nik", "9101011205900001")[1] == []  # Merauke before the 2022 split


def test_a_nik_sent_as_a_json_number_is_refused():
    assert locs(one("nik", 1709011205900001)[1]) == [["body", "form", "nik"]]


# ---- select ----

def test_a_select_value_must_be_one_of_the_options(birth):
    _, problems = check(birth, birth_form(jenis_kelamin="Perempuan"), BIRTH_FILES)
    assert only_problem(problems) == {"loc": ["body", "form", "jenis_kelamin"],
                                      "msg": "must be one of: laki_laki, perempuan"}


def test_a_select_takes_the_option_value_not_its_label():
    assert one("fungsi", "usaha")[0]["fungsi"] == "usaha"
    assert locs(one("fungsi", "Usaha")[1]) == [["body", "form", "fungsi"]]
    assert locs(one("fungsi", ["usaha"])[1]) == [["body", "form", "fungsi"]]


# ---- checkbox ----

@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("true", True), ("false", False),
                                                 ("on", True), ("TRUE", True)])
def test_a_checkbox_is_a_bool_or_true_false_on(value, expected):
    clean, problems = one("berlangganan", value)
    assert problems == [] and clean["berlangganan"] is expected


@pytest.mark.parametrize("value", ["yes", 1, 0, "ya", ["on"]])
def test_a_checkbox_refuses_other_values(value):
    assert locs(one("berlangganan", value)[1]) == [["body", "form", "berlangganan"]]


@pytest.mark.parametrize("value", [False, "false"])
def test_a_required_checkbox_is_a_declaration_that_must_be_ticked(value):
    _, problems = check(EVERY_TYPE, {"nama": "Siti", "setuju": value})
    assert problems == [{"loc": ["body", "form", "setuju"], "msg": "must be checked"}]


def test_a_required_checkbox_that_is_missing_is_required():
    _, problems = check(EVERY_TYPE, {"nama": "Siti"})
    assert problems == [{"loc": ["body", "form", "setuju"], "msg": "is required"}]


# ---- region ----

@pytest.mark.parametrize(("key", "code"), [("provinsi", "17"), ("kabupaten", "17.09"), ("kecamatan", "17.09.01"),
                                           ("wilayah", "32"), ("wilayah", "32.73"), ("wilayah", "17.09.01")])
def test_a_region_code_at_the_fields_level_is_accepted(key, code):
    clean, problems = one(key, code)
    assert problems == [] and clean[key] == code


@pytest.mark.parametrize(("key", "code"), [("provinsi", "17.09"), ("kabupaten", "17"), ("kabupaten", "17.09.01"),
                                           ("kecamatan", "17.09")])
def test_a_region_code_of_another_level_is_refused_naming_the_level(key, code):
    problem = only_problem(one(key, code)[1])
    level = next(f["level"] for f in EVERY_TYPE if f["key"] == key)
    assert problem["loc"] == ["body", "form", key] and level in problem["msg"]


@pytest.mark.parametrize("code", ["99", "17.99", "17.09.99", "1709", "Bengkulu", 17])
def test_an_unknown_or_malformed_region_code_is_refused(code):
    assert locs(one("wilayah", code)[1]) == [["body", "form", "wilayah"]]


def test_a_birth_place_must_be_a_regency(birth):
    _, problems = check(birth, birth_form(tempat_lahir="17.09.01"), BIRTH_FILES)
    assert only_problem(problems)["loc"] == ["body", "form", "tempat_lahir"]


# ---- every type at once ----

def test_a_hand_made_form_of_every_type_converts_every_value():
    form = {"nama": " Siti ", "alamat": "Jl. Merdeka 5\nBengkulu", "luas_m2": "72.5", "tanggal": "2026-01-31",
            "email": "SITI@MAIL.ID", "telepon": "0736-21234", "nik": NIK_MOTHER, "fungsi": "hunian",
            "setuju": "on", "berlangganan": "false", "provinsi": "17", "kabupaten": "17.09",
            "kecamatan": "17.09.01", "wilayah": "91"}
    clean, problems = check(EVERY_TYPE, form, {"denah"})
    assert problems == []
    assert clean == {"nama": "Siti", "alamat": "Jl. Merdeka 5\nBengkulu", "luas_m2": 72.5, "tanggal": "2026-01-31",
                     "email": "siti@mail.id", "telepon": "+6273621234", "nik": NIK_MOTHER, "fungsi": "hunian",
                     "setuju": True, "berlangganan": False, "provinsi": "17", "kabupaten": "17.09",
                     "kecamatan": "17.09.01", "wilayah": "91"}
