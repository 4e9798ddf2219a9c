"""The national template library: it loads, it is broad enough, its content is real, and broken copies of its
templates are refused with the place of the problem named."""

import copy
import json

import pytest

from mppi.contracts.catalog import CATEGORIES, TemplateSummary
from mppi.contracts.errors import ValidationFailed
from services.catalog.domain.definition import validate_definition
from services.catalog.templates import FOLDER, load_folder, load_templates, template_summary

DUKCAPIL = "Dinas Kependudukan dan Pencatatan Sipil"
REQUIRED_CODES = {
    "akta-kelahiran", "akta-kematian", "kartu-keluarga-baru", "kartu-keluarga-perubahan", "ktp-el-baru",
    "ktp-el-penggantian", "kartu-identitas-anak", "surat-pindah", "pbg", "slf", "sip-dokter", "sip-bidan",
    "sip-perawat", "sip-apoteker", "izin-reklame", "izin-operasional-paud", "izin-operasional-sekolah",
    "izin-penelitian", "tdup", "nib-risiko-rendah", "kartu-pencari-kerja", "legalisir-ijazah", "sktm",
    "pbb-p2-objek-baru", "skck", "samsat-pengesahan-stnk", "paspor", "pendaftaran-tanah-pertama-kali",
    "pencatatan-nikah", "pbi-jk-daerah",
}


@pytest.fixture(scope="module")
def library():
    return load_templates()


def raw(code: str) -> dict:
    """A fresh, editable copy of a template as stored in its file."""
    for path in FOLDER.glob("*.json"):
        for item in json.loads(path.read_text(encoding="utf-8")):
            if item["code"] == code:
                return copy.deepcopy(item)
    raise LookupError(code)


def refused(data: dict) -> list[dict]:
    with pytest.raises(ValidationFailed) as exc:
        validate_definition(data)
    return exc.value.errors


def locs(errors: list[dict]) -> list[list]:
    return [e["loc"] for e in errors]


def both_languages(text) -> bool:
    return isinstance(text, dict) and bool(text.get("id", "").strip()) and bool(text.get("en", "").strip())


# --- the library as a whole


def test_library_loads_and_is_cached(library):
    assert library is load_templates()
    assert all(code == t.code for code, t in library.items())


def test_library_has_at_least_30_templates_in_at_least_6_categories(library):
    assert len(library) >= 30
    assert len({t.category for t in library.values()}) >= 6


def test_library_holds_the_services_every_region_offers(library):
    assert REQUIRED_CODES <= set(library)


def test_library_is_ordered_by_category_then_code(library):
    keys = [(t.category, t.code) for t in library.values()]
    assert keys == sorted(keys)


def test_every_file_is_named_after_a_known_category_and_holds_only_it():
    for path in FOLDER.glob("*.json"):
        assert path.stem in CATEGORIES
        assert {item["category"] for item in json.loads(path.read_text(encoding="utf-8"))} == {path.stem}


def test_summary_carries_the_list_fields(library):
    s = template_summary(library["skck"])
    assert set(s) == {"code", "name", "category", "agency", "description", "sla_days", "fee"}
    assert s["fee"] == 30000 and s["category"] == "kepolisian"
    TemplateSummary(**s)


# --- every template


def test_every_template_has_indonesian_and_english_name_and_description(library):
    for t in library.values():
        assert both_languages(t.name), t.code
        assert both_languages(t.description), t.code
        assert both_languages(t.standard.output), t.code
        assert both_languages(t.standard.complaints), t.code


def test_every_label_requirement_and_step_is_bilingual(library):
    for t in library.values():
        for f in t.form.fields:
            assert both_languages(f.label), (t.code, f.key)
            for o in f.options or []:
                assert both_languages(o.label), (t.code, f.key, o.value)
        for r in t.standard.requirements:
            assert both_languages(r.name), t.code
        for p in t.standard.procedure:
            assert both_languages(p), t.code
        for s in t.workflow.steps:
            assert both_languages(s.label), (t.code, s.key)


def test_every_document_requirement_with_a_file_field_points_at_it(library):
    for t in library.values():
        files = {f.key for f in t.form.fields if f.type == "file"}
        linked = {r.field_key for r in t.standard.requirements if r.field_key}
        assert linked <= files, t.code
        assert files <= linked, (t.code, files - linked)  # no upload without the requirement it serves
        for r in t.standard.requirements:
            if r.field_key:
                assert r.document, (t.code, r.field_key)


def test_every_file_field_limits_type_and_size(library):
    for t in library.values():
        for f in t.form.fields:
            if f.type == "file":
                assert f.accept and set(f.accept) <= {"application/pdf", "image/jpeg", "image/png"}, t.code
                assert 1 <= f.max_size_mb <= 5, (t.code, f.key)


def test_every_template_asks_for_a_nik(library):
    for t in library.values():
        assert any(f.type == "nik" for f in t.form.fields), t.code


def test_dukcapil_forms_ask_for_the_nik_of_each_person_involved(library):
    expected = {
        "akta-kelahiran": {"nik_ibu", "nik_ayah", "nik_pelapor"},
        "akta-kematian": {"nik_almarhum", "nik_pelapor"},
        "kartu-identitas-anak": {"nik_anak", "nik_orang_tua"},
        "akta-perkawinan": {"nik_suami", "nik_istri"},
    }
    for t in library.values():
        if t.agency != DUKCAPIL:
            continue
        niks = {f.key for f in t.form.fields if f.type == "nik"}
        assert niks, t.code
        assert expected.get(t.code, set()) <= niks, t.code


def test_every_fee_states_its_basis(library):
    for t in library.values():
        fee = t.standard.fee
        assert fee.currency == "IDR"
        if fee.amount > 0:
            assert fee.basis is not None, t.code
        assert both_languages(fee.basis), t.code  # free services say why, too


def test_dukcapil_services_are_free_by_law(library):
    dukcapil = [t for t in library.values() if t.agency == DUKCAPIL]
    assert len(dukcapil) >= 8
    for t in dukcapil:
        assert t.category == "kependudukan"
        assert t.standard.fee.amount == 0, t.code
        assert "79A" in t.standard.fee.basis["id"], t.code
        assert 1 <= t.standard.sla_days <= 3, t.code


def test_complaints_name_sp4n_lapor(library):
    for t in library.values():
        assert "lapor.go.id" in t.standard.complaints["id"], t.code


def test_internal_components_are_filled(library):
    for t in library.values():
        s = t.standard
        assert s.legal_basis, t.code
        for part in (s.facilities, s.staff_competence, s.internal_oversight, s.service_guarantee,
                     s.safety_guarantee, s.performance_evaluation):
            assert both_languages(part), t.code
        assert s.staff_count and s.staff_count > 0, t.code


def test_workflow_steps_have_bilingual_labels_and_end_in_complete(library):
    for t in library.values():
        assert "complete" in t.workflow.steps[-1].actions, t.code
        assert t.workflow.steps[0].roles, t.code


def test_every_template_has_search_keywords(library):
    for t in library.values():
        assert t.keywords, t.code
        assert all(k == k.lower() for k in t.keywords), t.code


# --- content spot checks


def test_akta_kelahiran_asks_for_the_birth_statement_or_its_sptjm_and_no_witnesses(library):
    # Perpres 96/2018: a birth statement from the doctor, midwife or health facility, or else an SPTJM on the truth
    # of the birth data; witnesses are no fixed requirement
    t = library["akta-kelahiran"]
    names = " | ".join(r.name["id"].lower() for r in t.standard.requirements)
    assert "surat keterangan kelahiran dari dokter, bidan" in names
    assert "sptjm kebenaran data kelahiran" in names
    assert "kartu keluarga" in names
    assert "96/2018" in " ".join(b["id"] for b in t.standard.legal_basis)
    assert "saksi" not in names and "2 saksi" not in json.dumps(raw("akta-kelahiran"), ensure_ascii=False)
    assert not any("saksi" in f.key for f in t.form.fields)
    assert "akta lahir" in t.keywords
    assert t.standard.output["id"].lower().startswith("kutipan akta kelahiran")


# regulations that were repealed or replaced, and what replaced them
REPEALED = {
    "PP 5/2021": "PP 28/2025 (perizinan berusaha berbasis risiko)",
    "Government Regulation 5/2021": "Government Regulation 28/2025",
    "UU 38/2014": "UU 17/2023 (Kesehatan)",
    "Law 38/2014": "Law 17/2023",
    "UU 4/2019": "UU 17/2023 (Kesehatan)",
    "Law 4/2019": "Law 17/2023",
    "PMA 20/2019": "PMA 30/2024 (pencatatan pernikahan)",
    "Regulation 20/2019": "Religious Affairs Minister Regulation 30/2024",
}


def test_no_template_cites_a_repealed_regulation():
    for path in sorted(FOLDER.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            text = json.dumps(item, ensure_ascii=False)
            for old, new in REPEALED.items():
                assert old not in text, f"{item['code']} cites {old}: now {new}"


def test_risk_based_licensing_cites_pp_28_2025(library):
    for code in ("nib-risiko-rendah", "tdup", "spp-irt"):
        bases = " ".join(b["id"] for b in library[code].standard.legal_basis)
        assert "PP 28/2025 tentang Penyelenggaraan Perizinan Berusaha Berbasis Risiko" in bases, code


def test_practice_licences_rest_on_the_health_law_and_a_registration_valid_for_life(library):
    for code in ("sip-dokter", "sip-bidan", "sip-perawat", "sip-apoteker"):
        t = library[code]
        assert "UU 17/2023 tentang Kesehatan" in [b["id"] for b in t.standard.legal_basis], code
        text = json.dumps(raw(code), ensure_ascii=False)
        assert "STR berlaku seumur hidup" in text, code
        assert "STR) yang berlaku" not in text and "selama STR berlaku" not in text, code


def test_hajj_registration_is_with_the_ministry_of_hajj_and_umrah(library):
    t = library["pendaftaran-haji-reguler"]
    assert t.agency == "Kantor Kementerian Haji dan Umrah"
    assert any("UU 14/2025" in b["id"] for b in t.standard.legal_basis)
    assert "Kementerian Agama" not in json.dumps(raw("pendaftaran-haji-reguler"), ensure_ascii=False)


def test_marriage_registration_cites_pma_30_2024(library):
    assert "PMA 30/2024 tentang Pencatatan Pernikahan" in [
        b["id"] for b in library["pencatatan-nikah"].standard.legal_basis]


def test_pbg_workflow_has_a_technical_review_before_approval(library):
    t = library["pbg"]
    keys = [s.key for s in t.workflow.steps]
    assert keys.index("technical_review") < keys.index("approval")
    review = t.workflow.steps[keys.index("technical_review")]
    assert review.roles == ["verifier"]
    assert set(review.actions) == {"verify", "request_revision", "reject"}
    assert "imb" in t.keywords
    assert t.standard.sla_days <= 28


def test_ktp_el_templates_are_found_by_ktp(library):
    ktp = [t for t in library.values() if t.code.startswith("ktp-el")]
    assert len(ktp) == 2
    for t in ktp:
        assert "ktp" in t.keywords and "e-ktp" in t.keywords


def test_ktp_el_replacement_offers_the_reasons(library):
    reasons = next(f for f in library["ktp-el-penggantian"].form.fields if f.key == "alasan")
    assert {o.value for o in reasons.options} == {"hilang", "rusak", "perubahan_data"}


def test_national_fees_match_their_regulations(library):
    assert library["skck"].standard.fee.amount == 30000
    assert "76/2020" in library["skck"].standard.fee.basis["id"]
    assert library["paspor"].standard.fee.amount == 350000
    assert "28/2019" in library["paspor"].standard.fee.basis["id"]


def test_legalisir_is_a_two_step_workflow(library):
    steps = library["legalisir-ijazah"].workflow.steps
    assert [s.actions[0] for s in steps] == ["verify", "complete"]


def test_visit_services_explain_the_online_part(library):
    visits = [t for t in library.values() if t.mode == "visit"]
    assert {"paspor", "skck"} <= {t.code for t in visits}
    for t in visits:
        text = t.description["id"].lower()
        assert "daring" in text or "datang" in text or "langsung" in text, t.code


# --- broken copies are refused, with the place named


def test_duplicate_field_key_is_refused_at_that_field():
    data = raw("akta-kelahiran")
    data["form"]["fields"].append(copy.deepcopy(data["form"]["fields"][0]))
    errors = refused(data)
    at = len(data["form"]["fields"]) - 1
    assert ["body", "form", "fields", at, "key"] in locs(errors)


def test_workflow_without_complete_is_refused():
    data = raw("pbg")
    data["workflow"]["steps"] = data["workflow"]["steps"][:-1]
    assert ["body", "workflow", "steps"] in locs(refused(data))


def test_step_without_roles_is_refused_at_its_roles():
    data = raw("pbg")
    data["workflow"]["steps"][1]["roles"] = []
    assert ["body", "workflow", "steps", 1, "roles"] in locs(refused(data))


def test_unknown_field_type_is_refused_at_its_type():
    data = raw("ktp-el-baru")
    data["form"]["fields"][0]["type"] = "signature"
    assert ["body", "form", "fields", 0, "type"] in locs(refused(data))


def test_requirement_pointing_at_a_missing_field_is_refused():
    data = raw("skck")
    data["standard"]["requirements"][0]["field_key"] = "no_such_field"
    assert ["body", "standard", "requirements", 0, "field_key"] in locs(refused(data))


def test_fee_without_basis_is_refused():
    data = raw("paspor")
    data["standard"]["fee"]["basis"] = None
    assert ["body", "standard", "fee", "basis"] in locs(refused(data))


# --- the loader names what is wrong in the library's own files


def write(folder, name, items):
    (folder / name).write_text(json.dumps(items), encoding="utf-8")


def test_loader_names_the_file_and_index_of_an_invalid_template(tmp_path):
    broken = raw("skck")
    broken["workflow"]["steps"][0]["roles"] = []
    write(tmp_path, "kepolisian.json", [raw("izin-keramaian"), broken])
    with pytest.raises(ValueError, match=r"kepolisian\.json\[1\].*templates\.kepolisian\.json\.1\.workflow"):
        load_folder(tmp_path)


def test_loader_refuses_a_template_in_the_wrong_category_file(tmp_path):
    write(tmp_path, "sosial.json", [raw("skck")])
    with pytest.raises(ValueError, match="category 'kepolisian' does not match"):
        load_folder(tmp_path)


def test_loader_refuses_a_code_used_twice(tmp_path):
    twin = raw("sktm")
    twin["category"] = "umum"
    write(tmp_path, "sosial.json", [raw("sktm")])
    write(tmp_path, "umum.json", [twin])
    with pytest.raises(ValueError, match="code 'sktm' is already used"):
        load_folder(tmp_path)


def test_loader_refuses_an_unknown_category_file(tmp_path):
    write(tmp_path, "hiburan.json", [])
    with pytest.raises(ValueError, match="not a catalogue category"):
        load_folder(tmp_path)


def test_loader_refuses_a_file_that_is_not_an_array(tmp_path):
    (tmp_path / "umum.json").write_text('{"code": "x"}', encoding="utf-8")
    with pytest.raises(ValueError, match="JSON array"):
        load_folder(tmp_path)


def test_fees_worked_out_per_application_are_variable_not_free():
    templates = load_templates()
    for code in ("pbg", "paspor", "pencatatan-nikah"):
        fee = templates[code].standard.fee
        assert fee.kind == "variable" and fee.basis, code
    assert templates["akta-kelahiran"].standard.fee.kind == "fixed"
    assert templates["akta-kelahiran"].standard.fee.amount == 0
