"""Broker credentials for regional subscribers of the public event feed, made through RabbitMQ's management HTTP API.

The platform publishes the feed on the topic exchange ``mppi.public`` of its own vhost (with RPC and internal
events). Subscribers never connect there. Each region with AMQP subscribers has a feed vhost of its own,
``<prefix><tenant>`` (:meth:`BrokerUsers.feed_vhost`), holding only its own ``mppi.public`` exchange, fed by a
dynamic shovel from a durable queue ``feed.<tenant>`` on the platform's vhost bound to ``<tenant>.#``. So a
subscriber cannot reach, bind, purge or even passively declare anything of another region or of the platform (a
passive declare needs no permission before RabbitMQ 4.2.6: a vhost of its own is the only wall that holds on every
version), and one region's queues count against its own limits only.

Each AMQP subscription gets its own RabbitMQ user, on its region's feed vhost only. What it may do (API.md, "Public
event feed" and "What this part changes in the first"):

- declare, bind, consume and delete queues named ``sub.<tenant>.<sid8>.…`` (durable or exclusive), nothing else;
- bind them to ``mppi.public`` only with keys that start with ``<tenant>.`` (a topic permission: ``t1`` may bind
  ``t1.#`` but not ``t2.#``, ``#`` or ``t1x.#``);
- publish nowhere: ``mppi.public`` and the default exchange are outside its write permission, and its topic write
  permission on ``mppi.public`` admits no routing key;
- within limits: connections and channels per user, queues and connections per feed vhost, and a policy bounding
  every subscriber queue (length, bytes, expiry when unused) so a subscriber that stops reading cannot fill the
  broker.

Revoking deletes the user and every queue and exchange under its prefix (the only names it could make); the region's
last AMQP subscription revoked, its feed vhost, shovel and ``feed.<tenant>`` queue go too.

RabbitMQ permissions are regular expressions on resource *names* (queues and exchanges alike), so every name taken
from input is passed through :func:`re.escape`. Standard library and ``requests`` only; no nameko, nothing connects
at import time.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests

TENANT_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SUBSCRIPTION_SHORT = re.compile(r"^[a-z0-9]{1,8}$")
SHOVEL = "mppi-feed"
QUEUE_POLICY = "mppi-feed-subscriber-queues"
SOURCE_POLICY = "mppi-feed-sources"


@dataclass(frozen=True)
class FeedLimits:
    """What one subscriber and one region's feed may hold (``MPPI_FEED_LIMITS``, see :func:`parse_limits`)."""

    user_connections: int = 10
    user_channels: int = 50
    vhost_connections: int = 100
    vhost_queues: int = 100
    queue_length: int = 100_000
    queue_bytes: int = 256 * 1024 * 1024
    queue_expires_days: float = 14
    source_length: int = 1_000_000  # feed.<tenant> on the platform's vhost, should the shovel stop

    def subscriber_policy(self) -> dict[str, Any]:
        # drop-head: a subscriber that falls behind loses its oldest events, never holds up the shovel or the others
        return {"max-length": self.queue_length, "max-length-bytes": self.queue_bytes, "overflow": "drop-head",
                "expires": int(self.queue_expires_days * 86_400_000)}


def parse_limits(spec: str) -> FeedLimits:
    """``"user_connections=5,vhost_queues=50"`` → :class:`FeedLimits` (the rest default); unknown names refused."""
    values: dict[str, Any] = {}
    fields = FeedLimits.__dataclass_fields__
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in fields:
            raise ValueError(f"MPPI_FEED_LIMITS: unknown limit {name!r} (known: {', '.join(fields)})")
        values[name] = float(value) if name == "queue_expires_days" else int(value)
    return FeedLimits(**values)


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
    """A small client of the RabbitMQ management API for the public feed's vhosts, shovels and subscriber users.

    ``management_url`` is the management root (``http://host:15672``); credentials may be given in it
    (``http://user:pass@host:15672``) or with ``auth``; that user must be an administrator (it makes vhosts, limits,
    policies and shovels). ``vhost`` is the platform's own vhost, where notifications publishes ``mppi.public``;
    ``feed_prefix`` names the regions' feed vhosts (default: ``<vhost>.feed.``, or ``feed.`` for ``/``).
    """

    def __init__(self, management_url: str, vhost: str, *, feed_prefix: str | None = None,
                 amqp_host: str = "127.0.0.1", amqp_port: int = 5672, public_exchange: str = "mppi.public",
                 limits: FeedLimits | None = None, timeout: float = 10, auth: tuple[str, str] | None = None,
                 session: requests.Session | None = None):
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
        self.feed_prefix = feed_prefix if feed_prefix is not None else ("feed." if vhost == "/" else f"{vhost}.feed.")
        if self.feed_prefix == "" or self.feed_prefix == vhost:
            raise ValueError("the feed vhosts need a prefix of their own")
        self.amqp_host = amqp_host
        self.amqp_port = amqp_port
        self.public_exchange = public_exchange
        self.limits = limits or FeedLimits()
        self.timeout = timeout
        self.http = session or requests.Session()
        self.admin_user = auth[0] if auth is not None else None
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

    def feed_vhost(self, tenant: str) -> str:
        """The vhost of one region's feed: its subscribers' only vhost."""
        return f"{self.feed_prefix}{_check_tenant(tenant)}"

    def source_queue(self, tenant: str) -> str:
        """The queue on the platform's vhost that collects the region's feed for its shovel."""
        return f"feed.{_check_tenant(tenant)}"

    def ensure_exchange(self) -> None:
        """Declare the durable topic exchange of the public feed on the platform's vhost (idempotent)."""
        self._declare_exchange(self.vhost)

    def _declare_exchange(self, vhost: str) -> None:
        self._call("PUT", f"/exchanges/{_q(vhost)}/{_q(self.public_exchange)}",
                   json={"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}},
                   what=f"declare exchange {self.public_exchange} on {vhost}")

    def ensure_feed(self, tenant: str) -> str:
        """Make (or repair) a region's feed: its vhost with its limits, policy and exchange, the source queue on the
        platform's vhost and the shovel between them. Every step is an idempotent PUT; returns the feed vhost."""
        feed, source = self.feed_vhost(tenant), self.source_queue(tenant)
        f, v = _q(feed), _q(self.vhost)
        lim = self.limits
        self._call("PUT", f"/vhosts/{f}", json={"description": f"MPPI public feed of {tenant}", "tags": "mppi-feed"},
                   what=f"create vhost {feed}")
        if self.admin_user:
            self._call("PUT", f"/permissions/{f}/{_q(self.admin_user)}",
                       json={"configure": ".*", "write": ".*", "read": ".*"},
                       what=f"let the platform manage {feed}")
        self._call("PUT", f"/vhost-limits/{f}/max-queues", json={"value": lim.vhost_queues},
                   what=f"limit the queues of {feed}")
        self._call("PUT", f"/vhost-limits/{f}/max-connections", json={"value": lim.vhost_connections},
                   what=f"limit the connections of {feed}")
        self._call("PUT", f"/policies/{f}/{QUEUE_POLICY}",
                   json={"pattern": r"^sub\.", "apply-to": "queues", "priority": 10,
                         "definition": lim.subscriber_policy()},
                   what=f"bound the subscriber queues of {feed}")
        self._declare_exchange(feed)
        self.ensure_exchange()
        self._call("PUT", f"/policies/{v}/{SOURCE_POLICY}",
                   json={"pattern": r"^feed\.", "apply-to": "queues", "priority": 5,
                         "definition": {"max-length": lim.source_length, "overflow": "drop-head"}},
                   what=f"bound the feed source queues of {self.vhost}")
        self._call("PUT", f"/queues/{v}/{_q(source)}", json={"durable": True, "auto_delete": False, "arguments": {}},
                   what=f"declare queue {source}")
        self._call("POST", f"/bindings/{v}/e/{_q(self.public_exchange)}/q/{_q(source)}",
                   json={"routing_key": f"{tenant}.#", "arguments": {}}, what=f"bind {source}")
        # direct connections inside the broker (amqp:///<vhost>): no password kept in the shovel's definition.
        # on-confirm: an event leaves feed.<tenant> only once the feed vhost's exchange has taken it
        self._call("PUT", f"/parameters/shovel/{f}/{SHOVEL}", json={"value": {
            "src-protocol": "amqp091", "src-uri": f"amqp:///{_q(self.vhost)}", "src-queue": source,
            "dest-protocol": "amqp091", "dest-uri": f"amqp:///{f}", "dest-exchange": self.public_exchange,
            "ack-mode": "on-confirm", "dest-add-forward-headers": False, "src-delete-after": "never",
            "reconnect-delay": 1}}, what=f"shovel the feed of {tenant}")
        return feed

    def remove_feed(self, tenant: str) -> None:
        """Delete a region's feed vhost (with all in it: the shovel, every queue and exchange) and its source queue."""
        self._call("DELETE", f"/vhosts/{_q(self.feed_vhost(tenant))}", ok=(200, 204, 404),
                   what=f"delete vhost {self.feed_vhost(tenant)}")
        self._call("DELETE", f"/queues/{_q(self.vhost)}/{_q(self.source_queue(tenant))}", ok=(200, 204, 404),
                   what=f"delete queue {self.source_queue(tenant)}")

    def permissions_for(self, tenant: str, subscription_id: str) -> dict[str, dict[str, str]]:
        """The vhost and topic permissions :meth:`create` grants on the feed vhost (regular expressions)."""
        own = f"^{re.escape(queue_prefix_for(tenant, subscription_id))}"
        return {
            # configure: declare/delete own queues; write: bind own queues (queue.bind needs write on the queue);
            # the exchange is deliberately not in write, so publishing to it is refused.
            "vhost": {"configure": own, "write": own,
                      # read: consume own queues, and bind to the exchange (queue.bind needs read on the exchange).
                      "read": f"^({re.escape(queue_prefix_for(tenant, subscription_id))}"
                              f"|{re.escape(self.public_exchange)}$)"},
            "topic": {"exchange": self.public_exchange, "read": f"^{re.escape(tenant)}\\.", "write": "^$"},
        }

    def create(self, tenant: str, subscription_id: str) -> dict[str, str]:
        """Make the user of one AMQP subscription on its region's feed (made first if need be); returns what the
        subscriber needs (API.md ``amqp`` object).

        Refuses (``BrokerUsersError`` with ``status == 409``) when the user already exists, rather than resetting
        another subscription's password. If a later step fails, the new user is deleted again.
        """
        username = username_for(tenant, subscription_id)
        perms = self.permissions_for(tenant, subscription_id)
        user_path = f"/users/{_q(username)}"
        existing = self._call("GET", user_path, ok=(200, 404), what=f"look up user {username}")
        if existing.status_code == 200:
            raise BrokerUsersError(f"broker user {username} already exists", status=409)
        feed = self.ensure_feed(tenant)
        password = secrets.token_urlsafe(32)
        self._call("PUT", user_path, json={"password": password, "tags": ""}, what=f"create user {username}")
        try:
            self.grant(tenant, subscription_id, perms=perms, feed=feed)
        except BaseException:
            try:
                self.delete(username)
            except BrokerUsersError:
                pass  # the first error is the one worth reporting
            raise
        return self._answer(tenant, subscription_id, password)

    def grant(self, tenant: str, subscription_id: str, *, perms: dict | None = None, feed: str | None = None) -> None:
        """Set the user's limits and its permissions on its region's feed vhost (idempotent: also repairs them)."""
        username = username_for(tenant, subscription_id)
        perms = perms or self.permissions_for(tenant, subscription_id)
        f, u = _q(feed or self.feed_vhost(tenant)), _q(username)
        self._call("PUT", f"/user-limits/{u}/max-connections", json={"value": self.limits.user_connections},
                   what=f"limit the connections of {username}")
        self._call("PUT", f"/user-limits/{u}/max-channels", json={"value": self.limits.user_channels},
                   what=f"limit the channels of {username}")
        self._call("PUT", f"/permissions/{f}/{u}", json=perms["vhost"],
                   what=f"set permissions of {username} on vhost {unquote(f)}")
        self._call("PUT", f"/topic-permissions/{f}/{u}", json=perms["topic"],
                   what=f"set topic permissions of {username} on {self.public_exchange}")

    def reset_password(self, tenant: str, subscription_id: str) -> dict[str, str]:
        """A new password for the user of one subscription (its permissions stay); answers as :meth:`create`."""
        username = username_for(tenant, subscription_id)
        password = secrets.token_urlsafe(32)
        self._call("PUT", f"/users/{_q(username)}", json={"password": password, "tags": ""},
                   what=f"set a new password for {username}")
        return self._answer(tenant, subscription_id, password)

    def _answer(self, tenant: str, subscription_id: str, password: str) -> dict[str, str]:
        username = username_for(tenant, subscription_id)
        url = (f"amqp://{_q(username)}:{_q(password)}@{self.amqp_host}:{self.amqp_port}/"
               f"{_q(self.feed_vhost(tenant))}")
        return {"url": url, "username": username, "password": password, "exchange": self.public_exchange,
                "vhost": self.feed_vhost(tenant), "routing_key_prefix": f"{tenant}.",
                "queue_prefix": queue_prefix_for(tenant, subscription_id)}

    def delete(self, username: str) -> None:
        """Remove the user (a missing user is fine). RabbitMQ closes the user's open connections itself.

        What the user made stays (its durable queues may hold undelivered events); :meth:`delete_made` removes it
        when the subscription is gone for good.
        """
        self._call("DELETE", f"/users/{_q(username)}", ok=(200, 204, 404), what=f"delete user {username}")

    def delete_made(self, tenant: str, queue_prefix: str) -> list[str]:
        """Delete every queue and exchange of the region's feed vhost named under ``queue_prefix`` (the only names
        its user could make: on revoking, so nothing it made goes on collecting the region's events). Returns the
        names deleted."""
        if not queue_prefix.startswith(f"sub.{_check_tenant(tenant)}.") or not queue_prefix.endswith("."):
            raise ValueError(f"not a subscriber queue prefix of {tenant}: {queue_prefix!r}")
        f = _q(self.feed_vhost(tenant))
        deleted = []
        for kind in ("queues", "exchanges"):
            r = self._call("GET", f"/{kind}/{f}", ok=(200, 404), params={"columns": "name"},
                           what=f"list {kind} of {self.feed_vhost(tenant)}")
            names = [x["name"] for x in r.json() if x.get("name", "").startswith(queue_prefix)] \
                if r.status_code == 200 else []
            for name in names:
                self._call("DELETE", f"/{kind}/{f}/{_q(name)}", ok=(200, 204, 404), what=f"delete {name}")
            deleted += names
        return deleted

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BrokerUsers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
