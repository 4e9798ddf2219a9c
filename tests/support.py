"""Helpers for tests: a plain HTTP client for the gateway and polling with a deadline."""
import time

import requests


class Client:
    """A plain HTTP client for the gateway (nameko's web_session breaks on Werkzeug 3)."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.token = token
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, email: str, password: str) -> "Client":
        r = self.post("/api/v1/auth/token", json={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return Client(self.base_url, r.json()["access_token"])


def wait_for(predicate, *, timeout: float = 15, interval: float = 0.1, message: str = "condition"):
    """Poll until ``predicate()`` is truthy (never a bare sleep to wait for a message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
               b"3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
REGION_BY_LEVEL = {"province": "73", "regency": "73.07", "district": "73.07.01", None: "73.07"}


def fill_form(fields: list[dict], *, nik: str = "7307014501900001") -> tuple[dict, dict]:
    """A valid answer to a service's form: (form values, files {key: (filename, bytes, content type)})."""
    form, files = {}, {}
    for f in fields:
        t = f["type"]
        if t == "file":
            files[f["key"]] = (f"{f['key']}.pdf", MINIMAL_PDF, "application/pdf")
        elif t == "nik":
            form[f["key"]] = nik
        elif t == "date":
            form[f["key"]] = "2024-01-15"
        elif t == "region":
            form[f["key"]] = REGION_BY_LEVEL[f.get("level")]
        elif t == "select":
            form[f["key"]] = f["options"][0]["value"]
        elif t == "checkbox":
            form[f["key"]] = True
        elif t == "email":
            form[f["key"]] = "warga@example.id"
        elif t == "phone":
            form[f["key"]] = "081234567890"
        elif t == "number":
            form[f["key"]] = max(1, int(f.get("min") or 1))
        else:
            form[f["key"]] = "Contoh isian"
    return form, files


def multipart(data: dict, files: dict) -> dict:
    """requests' keyword arguments for a submission: the JSON data part and one part per file."""
    import json

    return {"files": {"data": (None, json.dumps(data), "application/json"), **files}}
