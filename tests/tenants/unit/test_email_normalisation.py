"""Full-width and other look-alike spellings of an e-mail address must not make a second account (pen-test, Low)."""
import pytest
from pydantic import ValidationError

from mppi.contracts.tenants import Register, normalize_email

BASE = {"nik": "7307014501900001", "full_name": "Andi Makkasau", "phone": "081234567890", "password": "rahasia-123"}


def test_full_width_and_case_fold_to_one_address():
    assert normalize_email("ａｄｍｉｎ@ＭＰＰＩ.local") == "admin@mppi.local"
    assert normalize_email("  Admin@MPPI.local ") == "admin@mppi.local"
    assert Register(**BASE, email="ａｎｄｉ@example.id").email == "andi@example.id"


@pytest.mark.parametrize("look_alike", ["аndi@example.id",  # Cyrillic а
                                        "andı@example.id"])  # dotless ı
def test_look_alikes_nfkc_does_not_fold_are_refused(look_alike):
    with pytest.raises(ValidationError):
        Register(**BASE, email=look_alike)


def test_an_internationalised_domain_is_kept_in_its_ascii_form():
    assert normalize_email("andi@bücher.example") == "andi@xn--bcher-kva.example"
