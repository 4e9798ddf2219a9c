"""Masking personal data for the public: a holder's name and a document's details, written once."""
import pytest

from mppi.indonesia.masking import mask_detail, mask_name
from mppi.indonesia.regions import timezone_label


@pytest.mark.parametrize(("name", "masked"), [
    ("Budi Santoso", "B*** S******"), ("Andi  Makkasau ", "A*** M*******"), ("Ni'mah", "N*****"),
    ("Łukasz Żółć", "Ł***** Ż***"), ("A", "A"), ("", ""),
])
def test_a_name_shows_each_words_first_letter_and_its_length(name, masked):
    assert mask_name(name) == masked


def test_a_detail_is_masked_like_a_name_but_a_nik_the_document_masked_stays_as_printed():
    assert mask_detail("1709********0001") == "1709********0001"
    assert mask_detail("1709014501900001") == "1***************"  # never a whole NIK
    assert mask_detail("Bukittinggi, 12 Oktober 2026") == "B*********** 1* O****** 2***"


def test_zones_are_labelled_as_indonesians_write_them():
    assert [timezone_label(z) for z in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Europe/Paris")] == \
        ["WIB", "WITA", "WIT", ""]
