"""Broker credentials for regional subscribers of the public event feed, made through RabbitMQ's management HTTP API.

Each AMQP subscription gets its own RabbitMQ user on the feed's vhost. What it may do (API.md, "Public event feed"):

- declare, bind and consume queues named ``sub.<tenant>.<sid8>.…`` (durable) or server-named ones (``amq.gen-…``);
- bind them to the topic exchange ``mppi.public`` only with keys that start with ``<tenant>.`` (a topic permission:
  ``t1`` may bind ``t1.#`` but not ``t2.#``, ``#`` or ``t1x.#``);
- publish nowhere: ``mppi.public`` and the default exchange are outside its write permission, and its topic write
  permission on ``mppi.public`` admits no routing key.

RabbitMQ permissions are regular expressions on resource *names* (queues and exchanges alike), so every name taken
from input is passed through :func:`re.escape`. Standard library and ``requests`` only; no nameko, nothing connects
at import time.
"""
from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests

TENANT_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SUBSCRIPTION_SHORT = re.compile(r"^[a-z0-9]{1,8}$")
SERVER_NAMED = r"amq\.gen-"


class BrokerUsersError(RuntimeError):
    """A management API call failed (HTTP error, unexpected answer, or the broker could not be reached)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


def _q(name: str) -> str:
    return quote(name, safe="")


def username_for(tenant: str, subscription_id: str) -> str:
    """``sub-<tenant>-<first 8 characters of the subscription id>``."""
    return f"sub-{_check_tenant(tenant)}-{_short(subscription_id)}"


def queue_prefix_for(tenant: str, subscription_id: str) -> str:
    """``sub.<tenant>.<first 8 characters of the subscription id>.``."""
    return f"sub.{_check_tenant(tenant)}.{_short(subscription_id)}."


def _check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not TENANT_SLUG.match(tenant):
        raise ValueError(f"not a tenant slug: {tenant!r}")
    return tenant


def _short(subscription_id: str) -> str:
    short = str(subscription_id)[:8].lower()
    if not SUBSCRIPTION_SHORT.match(short):
        raise ValueError(f"the first 8 characters of a subscription id must be letters or digits: {subscription_id!r}")
    return short


class BrokerUsers:
    """A small client of the RabbitMQ management API for per-subscriber users of the public feed.

    ``management_url`` is the management root (``http://host:15672``); credentials may be given in it
    (``http://user:pass@host:15672``) or with ``auth``. ``vhost`` is the vhost of ``mppi.public``.
    """

    def __init__(self, management_url: str, vhost: str, *, amqp_host: str = "127.0.0.1", amqp_port: int = 5672,
                 public_exchange: str = "mppi.public", timeout: float = 10,
                 auth: tuple[str, str] | None = None, session: requests.Session | None = None):
        parts = urlsplit(management_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("management_url must be an http(s) URL")
        if parts.username is not None and auth is None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        base = urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
        self.api = base if base.endswith("/api") else base + "/api"  # never holds the password (error messages)
        self.vhost = vhost
        self.amqp_host = amqp_host
        self.amqp_port = amqp_port
        self.public_exchange = public_exchange
        self.timeout = timeout
        self.http = session or requests.Session()
        if auth is not None:
            self.http.auth = auth

    # -- the management API ---------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), what: str,
              **kwargs: Any) -> requests.Response:
        try:
            r = self.http.request(method, f"{self.api}{path}", timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise BrokerUsersError(f"{what}: management API unreachable ({type(exc).__name__})") from exc
        if r.status_code not in ok:
            reason = r.text[:300].strip()
            raise BrokerUsersError(f"{what}: {method} {path} answered {r.status_code} {reason}", status=r.status_code)
        return r

    def ensure_exchange(self) -> None:
        """Declare the durable topic exchange of the public feed (idempotent; fails if it exists with other args)."""
        self._call("PUT", f"/exchanges/{_q(self.vhost)}/{_q(self.public_exchange)}",
                   json={"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}},
                   what=f"declare exchange {self.public_exchange}")

    def permissions_for(self, tenant: str, subscription_id: str) -> dict[str, dict[str, str]]:
        """The vhost and topic permissions :meth:`create` grants (regular expressions, as RabbitMQ reads them)."""
        own = f"^({re.escape(queue_prefix_for(tenant, subscription_id))}|{SERVER_NAMED})"
        return {
            # configure: declare/delete own queues; write: bind own queues (queue.bind needs write on the queue);
            # the exchange is deliberately not in write, so publishing to it is refused.
            "vhost": {"configure": own, "write": own,
                      # read: consume own queues, and bind to the exchange (queue.bind needs read on the exchange).
                      "read": f"^({re.escape(queue_prefix_for(tenant, subscription_id))}|{SERVER_NAMED}"
                              f"|{re.escape(self.public_exchange)}$)"},
            "topic": {"exchange": self.public_exchange, "read": f"^{re.escape(tenant)}\\.", "write": "^$"},
        }

    def create(self, tenant: str, subscription_id: str) -> dict[str, str]:
        """Make the user of one AMQP subscription; returns what the subscriber needs (API.md ``amqp`` object).

        Refuses (``BrokerUsersError`` with ``status == 409``) when the user already exists, rather than resetting
        another subscription's password. If a later step fails, the new user is deleted again.
        """
        username = username_for(tenant, subscription_id)
        perms = self.permissions_for(tenant, subscription_id)
        user_path = f"/users/{_q(username)}"
        existing = self._call("GET", user_path, ok=(200, 404), what=f"look up user {username}")
        if existing.status_code == 200:
            raise BrokerUsersError(f"broker user {username} already exists", status=409)
        password = secrets.token_urlsafe(32)
        self._call("PUT", user_path, json={"password": password, "tags": ""}, what=f"create user {username}")
        try:
            v = _q(self.vhost)
            self._call("PUT", f"/permissions/{v}/{_q(username)}", json=perms["vhost"],
                       what=f"set permissions of {username} on vhost {self.vhost}")
            self._call("PUT", f"/topic-permissions/{v}/{_q(username)}", json=perms["topic"],
                       what=f"set topic permissions of {username} on {self.public_exchange}")
        except BaseException:
            try:
                self.delete(username)
            except BrokerUsersError:
                pass  # the first error is the one worth reporting
            raise
        return self._answer(tenant, subscription_id, password)

    def reset_password(self, tenant: str, subscription_id: str) -> dict[str, str]:
        """A new password for the user of one subscription (its permissions stay); answers as :meth:`create`."""
        username = username_for(tenant, subscription_id)
        password = secrets.token_urlsafe(32)
        self._call("PUT", f"/users/{_q(username)}", json={"password": password, "tags": ""},
                   what=f"set a new password for {username}")
        return self._answer(tenant, subscription_id, password)

    def _answer(self, tenant: str, subscription_id: str, password: str) -> dict[str, str]:
        username = username_for(tenant, subscription_id)
        url = (f"amqp://{_q(username)}:{_q(password)}@{self.amqp_host}:{self.amqp_port}/{_q(self.vhost)}")
        return {"url": url, "username": username, "password": password, "exchange": self.public_exchange,
                "routing_key_prefix": f"{tenant}.", "queue_prefix": queue_prefix_for(tenant, subscription_id)}

    def delete(self, username: str) -> None:
        """Remove the user (a missing user is fine). RabbitMQ closes the user's open connections itself.

        The subscriber's durable queues are left alone (they may hold undelivered events); delete them with
        :meth:`delete_queues` when the subscription is gone for good.
        """
        self._call("DELETE", f"/users/{_q(username)}", ok=(200, 204, 404), what=f"delete user {username}")

    def delete_queues(self, queue_prefix: str) -> list[str]:
        """Delete every queue of the vhost whose name starts with ``queue_prefix`` (e.g. on revoking a subscription,
        so its durable queue does not keep collecting the tenant's events). Returns the names deleted."""
        if not queue_prefix.startswith("sub.") or not queue_prefix.endswith("."):
            raise ValueError(f"not a subscriber queue prefix: {queue_prefix!r}")
        v = _q(self.vhost)
        r = self._call("GET", f"/queues/{v}", params={"columns": "name"}, what=f"list queues of {self.vhost}")
        names = [q["name"] for q in r.json() if q.get("name", "").startswith(queue_prefix)]
        for name in names:
            self._call("DELETE", f"/queues/{v}/{_q(name)}", ok=(200, 204, 404), what=f"delete queue {name}")
        return names

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BrokerUsers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
