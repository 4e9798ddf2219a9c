"""Helpers for tests: a plain HTTP client for the gateway, every item of a paged list, polling with a deadline, and a
local HTTP endpoint standing in for a webhook or an SMS provider (sample form answers come from
``devtools.sample_forms``, shared with the bench)."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from devtools.sample_forms import MINIMAL_PDF, fill_form, multipart  # noqa: F401


class Client:
    """A plain HTTP client for the gateway (nameko's web_session breaks on Werkzeug 3)."""

    def __init__(self, base_url: str, token: str | None = None, credentials: tuple[str, str] | None = None):
        self.base_url = base_url
        self.token = token
        self.credentials = credentials  # what login() signed in with: fresh() signs in again
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

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, email: str, password: str) -> "Client":
        r = self.post("/api/v1/auth/token", json={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return Client(self.base_url, r.json()["access_token"], credentials=(email, password))

    def fresh(self) -> "Client":
        """The same caller with a token of its own (one a test may sign out); anonymous stays anonymous."""
        return Client(self.base_url).login(*self.credentials) if self.credentials else Client(self.base_url)


def all_items(client: Client, path: str) -> list[dict]:
    """Every item of a paged list (``?limit=&cursor=``, answered ``{items, next_cursor}``)."""
    items, cursor = [], ""
    while True:
        page = client.get(f"{path}?limit=100&cursor={cursor}").json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


class HttpReceiver:
    """A local HTTP endpoint (a region's webhook, an SMS provider): keeps every POST as (path, headers with lower-case
    names, body) and answers ``statuses`` in turn, then 204."""

    def __init__(self, statuses: tuple[int, ...] = ()):
        self.calls: list[tuple[str, dict[str, str], bytes]] = []
        receiver, answers = self, list(statuses)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(answers.pop(0) if answers else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.calls if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate, *, timeout: float = 15, interval: float = 0.1, message: str = "condition"):
    """Poll until ``predicate()`` is truthy (never a bare sleep to wait for a message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")



class Browser:
    """A browser without JavaScript for the web pages: keeps cookies, sends each form's CSRF token."""

    def __init__(self, base_url: str, signed_in_as: Client | None = None):
        self.base_url = base_url
        self.http = requests.Session()
        if signed_in_as is not None:  # the session cookie holds the same bearer token the API takes
            self.http.cookies.set("mppi_session", signed_in_as.token)

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=30, **kw)

    def csrf(self) -> str:
        token = self.http.cookies.get("mppi_csrf")
        if token is None:
            self.get("/static/site.css")
            token = self.http.cookies.get("mppi_csrf")
        return token

    def post(self, path: str, data: dict | list | None = None, files=None, **kw) -> requests.Response:
        """Submit a form as a browser would; redirects are followed (``allow_redirects=False`` to see them)."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        fields.append(("csrf", self.csrf()))
        return self.http.post(self.base_url + path, data=fields, files=files, timeout=30, **kw)
