"""Indonesian catalogue search: normalisation, spelling variants, synonyms/abbreviations and ranking."""


import pytest

from mppi.indonesia.search import SearchIndex, canonical, concepts, normalize, tokens

CATALOGUE = [
    (
        "akta-kelahiran",
        {
            "name": "Akta Kelahiran",
            "category": "Kependudukan",
            "description": "Pencatatan kelahiran penduduk, gratis.",
        },
    ),
    (
        "akta-kematian",
        {"name": "Akta Kematian", "category": "Kependudukan", "description": "Pencatatan kematian."},
    ),
    ("kk-baru", {"name": "Kartu Keluarga Baru", "abbreviation": "KK", "category": "Kependudukan"}),
    ("kia", {"name": "Kartu Identitas Anak", "abbreviation": "KIA", "category": "Kependudukan"}),
    (
        "ktp-el-baru",
        {
            "name": "KTP-el baru",
            "category": "Kependudukan",
            "description": "Perekaman dan pencetakan KTP elektronik untuk penduduk berusia 17 tahun.",
        },
    ),
    (
        "ktp-el-rusak",
        {
            "name": "Penggantian KTP-el rusak",
            "category": "Kependudukan",
            "description": "Cetak ulang kartu yang rusak.",
        },
    ),
    (
        "pbg",
        {
            "name": "Persetujuan Bangunan Gedung (PBG)",
            "category": "Perizinan",
            "keywords": "pengganti IMB",
            "description": "Izin sebelum mendirikan atau mengubah bangunan.",
        },
    ),
    ("slf", {"name": "Sertifikat Laik Fungsi", "abbreviation": "SLF", "category": "Perizinan"}),
    (
        "reklame",
        {"name": "Izin Reklame", "category": "Perizinan", "description": "Izin pemasangan papan reklame."},
    ),
    ("sip-dokter", {"name": "Surat Izin Praktik Dokter", "category": "Perizinan"}),
    ("ak1", {"name": "Kartu Pencari Kerja (AK/I)", "category": "Ketenagakerjaan"}),
    ("sktm", {"name": "Surat Keterangan Tidak Mampu", "category": "Sosial"}),
    (
        "skck",
        {"name": "Surat Keterangan Catatan Kepolisian", "abbreviation": "SKCK", "category": "Kepolisian"},
    ),
    (
        "pbb",
        {
            "name": "Pembayaran PBB-P2",
            "category": "Pajak Daerah",
            "description": "Pajak bumi dan bangunan perdesaan dan perkotaan.",
        },
    ),
]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex(CATALOGUE)


def ids(results):
    return [doc_id for doc_id, _ in results]


# --- normalisation ------------------------------------------------------------------------------------


def test_normalize_casefolds_strips_accents_and_punctuation():
    assert normalize("PÉRIZINAN") == "perizinan"
    assert normalize("  Persetujuan   Bangunan-Gedung (PBG)! ") == "persetujuan bangunan gedung pbg"
    assert normalize("Jum'at") == "jumat"
    assert normalize("AK/I") == "ak i"
    assert normalize("") == ""


def test_tokens_use_the_official_spelling():
    assert tokens("Perijinan") == ["perizinan"]
    assert tokens("ijin reklame") == ["izin", "reklame"]
    assert tokens("diijinkan") == ["diizinkan"]
    assert tokens("akte kelahiran") == ["akta", "kelahiran"]
    assert tokens("eKTP") == ["e", "ktp"]


def test_canonical_gives_one_cache_key_per_spelling():
    assert canonical("PERIJINAN  Bangunan") == canonical("perizinan bangunan") == "perizinan bangunan"


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("ktp", "ktp"),
        ("KTP-el", "ktp"),
        ("e-KTP", "ktp"),
        ("kartu tanda penduduk", "ktp"),
        ("akta lahir", "akta_kelahiran"),
        ("akte kematian", "akta_kematian"),
        ("IMB", "pbg"),
        ("izin bangunan", "pbg"),
        ("kk", "kk"),
        ("kartu identitas anak", "kia"),
        ("SKTM", "sktm"),
        ("akta mati", "akta_kematian"),
        ("sertifikat laik fungsi", "slf"),
        ("AK1", "ak1"),
        ("AK/I", "ak1"),
        ("kartu kuning", "ak1"),
        ("PBB-P2", "pbb"),
        ("skck", "skck"),
    ],
)
def test_synonyms_and_abbreviations_map_to_one_concept(text, concept):
    assert concept in concepts(tokens(text))


# --- ranking ------------------------------------------------------------------------------------------


def test_ktp_finds_ktp_el_baru_first(index):
    results = ids(index.search("ktp"))
    assert results[0] == "ktp-el-baru"
    assert "ktp-el-rusak" in results
    assert "kia" not in results


def test_full_name_of_ktp_finds_ktp_el(index):
    assert ids(index.search("kartu tanda penduduk"))[0] == "ktp-el-baru"


def test_izin_bangunan_finds_pbg(index):
    assert ids(index.search("izin bangunan"))[0] == "pbg"
    assert ids(index.search("IMB"))[0] == "pbg"


def test_akta_lahir_finds_akta_kelahiran(index):
    results = ids(index.search("akta lahir"))
    assert results[0] == "akta-kelahiran"
    assert results.index("akta-kelahiran") < results.index("akta-kematian")


def test_perijinan_finds_the_perizinan_category(index):
    results = ids(index.search("perijinan"))
    assert results
    perizinan = {doc_id for doc_id, fields in CATALOGUE if fields["category"] == "Perizinan"}
    assert set(results) == perizinan


def test_accents_and_case_do_not_matter(index):
    assert index.search("PÉRIZINAN") == index.search("perizinan")
    assert index.search("Akta KELAHIRAN") == index.search("akta kelahiran")


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("kk", "kk-baru"),
        ("kia", "kia"),
        ("sktm", "sktm"),
        ("akta mati", "akta-kematian"),
        ("slf", "slf"),
        ("kartu kuning", "ak1"),
        ("ak1", "ak1"),
        ("pajak bumi bangunan", "pbb"),
        ("skck", "skck"),
        ("surat izin praktek dokter", "sip-dokter"),
    ],
)
def test_abbreviations_and_colloquial_names_find_the_service(index, query, first):
    assert ids(index.search(query))[0] == first


def test_last_token_matches_as_a_prefix(index):
    assert ids(index.search("akta kelah"))[0] == "akta-kelahiran"
    assert ids(index.search("rekl"))[0] == "reklame"


def test_results_are_ordered_by_score_then_doc_id(index):
    results = index.search("kependudukan")
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)
    assert results == sorted(results, key=lambda r: (-r[1], r[0]))


def test_limit_and_empty_queries(index):
    assert len(index.search("kependudukan", limit=2)) == 2
    assert index.search("") == []
    assert index.search("  !!  ") == []
    assert index.search("kependudukan", limit=0) == []
    assert index.search("zzzz") == []


def test_name_weighs_more_than_description():
    index = SearchIndex([("a", {"name": "Reklame"}), ("b", {"name": "Lain", "description": "reklame"})])
    assert ids(index.search("reklame")) == ["a", "b"]


def test_duplicate_document_ids_are_refused():
    with pytest.raises(ValueError):
        SearchIndex([("a", {"name": "x"}), ("a", {"name": "y"})])


def test_an_index_of_ten_thousand_documents_still_ranks_correctly():
    words = [
        "izin",
        "surat",
        "kartu",
        "akta",
        "pajak",
        "layanan",
        "pendaftaran",
        "usaha",
        "praktik",
        "sekolah",
    ]
    docs = [
        (
            f"doc-{i:05d}",
            {
                "name": f"{words[i % 10]} {words[(i // 10) % 10]} nomor{i}",
                "category": words[(i // 100) % 10],
                "description": f"{words[(i * 7) % 10]} layanan publik daerah {i}",
            },
        )
        for i in range(10_000)
    ]
    # speed is measured by `make bench`, not asserted here: this checks a large index still answers correctly
    index = SearchIndex(docs)
    assert len(index) == 10_000
    for query in ("izin usaha", "kartu", "akta kelahiran"):
        assert index.search(query)
    assert index.search("nomor1234")[0][0] == "doc-01234"
