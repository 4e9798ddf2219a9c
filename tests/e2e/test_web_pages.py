"""The first citizen pages: choose a region, see its services as it arranged them, read a service's standard."""
import re

from journeys import make_region
from support import Client


def test_a_citizen_finds_a_region_its_services_and_a_service_standard(anon, admin):
    region = make_region(admin, "16.08", template="ktp-el-baru")
    slug = region["slug"]
    home = anon.get("/")
    assert home.status_code == 200 and "text/html" in home.headers["Content-Type"]
    assert f'href="/r/{slug}"' in home.text
    assert f'href="/r/{slug}"' in anon.get("/", params={"q": "ogan komering ulu"}).text  # 16.08's name, any case

    page = anon.get(f"/r/{slug}")
    assert page.status_code == 200 and f"/r/{slug}/layanan/{region['service_id']}" in page.text
    found = anon.get(f"/r/{slug}", params={"q": "ktp"}).text
    assert f"/r/{slug}/layanan/{region['service_id']}" in found

    service = anon.get(f"/r/{slug}/layanan/{region['service_id']}")
    assert service.status_code == 200
    for heading in ("Persyaratan", "Prosedur", "Jangka waktu", "Biaya/tarif", "Produk pelayanan", "Pengaduan"):
        assert heading in service.text
    # a fresh browser: ?lang= is remembered in a cookie, and the shared client must stay Indonesian
    english = Client(anon.base_url).get(f"/r/{slug}/layanan/{region['service_id']}?lang=en").text
    assert "Requirements" in english and 'lang="en"' in english
    assert anon.get(f"/r/{slug}/layanan/nope").status_code == 404
    assert anon.get("/r/no-such-region").status_code == 404


def test_the_first_page_and_the_service_page_weigh_under_150_kb_with_their_css(anon, admin):
    region = make_region(admin, "16.09", template="akta-kelahiran")
    for path in ("/", f"/r/{region['slug']}/layanan/{region['service_id']}"):
        page = anon.get(path)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        weight = len(page.content) + sum(len(anon.get(a).content) for a in assets)
        assert assets and weight < 150 * 1024, (path, weight)
