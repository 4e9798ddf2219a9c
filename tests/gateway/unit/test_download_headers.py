"""A download's Content-Disposition: always an attachment, the full name in any script through RFC 5987's
``filename*``, and an ASCII ``filename`` that no name can break out of."""
import re
from urllib.parse import unquote

import pytest

from gateway.application_routes import attachment


def parts(header: str) -> tuple[str, str]:
    found = re.fullmatch(r"attachment; filename=\"([^\"\\\\]*)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)", header)
    assert found, header
    return found.group(1), unquote(found.group(2), errors="strict")


@pytest.mark.parametrize(("name", "plain"), [
    ("akta-kelahiran-ñ-β-中文.pdf", "akta-kelahiran-n-_-_.pdf"),
    ("KTP Siti Ṣāliḥ.jpg", "KTP Siti Salih.jpg"),
    ("Surat Keterangan Usaha (SKU).pdf", "Surat Keterangan Usaha (SKU).pdf"),
    ("中文.png", "_.png"),
])
def test_a_name_in_any_script_is_sent_whole_and_as_ascii(name, plain):
    assert parts(attachment(name)) == (plain, name)


@pytest.mark.parametrize("name", ['kk".pdf', "kk\\\\\".pdf", "kk\r\nSet-Cookie: a=b.pdf", "kk;filename=x.exe.pdf",
                                  "../../x.pdf", "kk\x00.pdf", ""])
def test_no_name_breaks_out_of_the_header(name):
    header = attachment(name)
    assert "\r" not in header and "\n" not in header and header.isascii()
    plain, full = parts(header)
    assert "/" not in full and "\\" not in full and "\x00" not in full
    assert plain and full
