"""nameko dependency providers of the notifications service: the mailer and the public feed publisher."""
from __future__ import annotations

import contextlib
import json
import os
import smtplib
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider

from mppi.runtime import settings
from mppi.runtime.confirms import ConfirmingChannel
from mppi.runtime.loops import WakeableLoop
from services.notifications.broker_users import BrokerUsers, parse_limits
from services.notifications.feed import CONTENT_TYPE, EXCHANGE


def message(*, sender: str, to: str, subject: str, body: str, message_id: str) -> MIMEText:
    """A plain-text UTF-8 email. (``email.message.EmailMessage`` builds the same five times slower: its header
    registry parses every header again; this is on the hot path of every application event.)"""
    msg = MIMEText(body, "plain", "utf-8")
    name, address = parseaddr(sender)
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = to
    subject = " ".join(subject.split())  # one line, whatever a region's template or a service name held
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # encoded words only when needed
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{message_id}@mppi>"
    return msg


class Mailer:
    """Email over SMTP (MPPI_SMTP_HOST / MPPI_SMTP_PORT); with no host, a file drop under MPPI_VAR_DIR/mail."""

    def __init__(self, *, host: str | None, port: int, sender: str, drop: Path):
        self.host, self.port, self.sender, self.drop = host, port, sender, drop
        self._smtp: smtplib.SMTP | None = None
        self._in_session = False

    @contextlib.contextmanager
    def session(self):
        """Messages sent inside share one SMTP connection, opened by the first (one sender at a time)."""
        self._in_session = True
        try:
            yield self
        finally:
            self._in_session = False
            self._close()

    def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        msg = message(sender=self.sender, to=to, subject=subject, body=body, message_id=message_id)
        if not self.host:
            self.drop.mkdir(parents=True, exist_ok=True)
            (self.drop / f"{message_id}.eml").write_bytes(msg.as_bytes())
            return
        if not self._in_session:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                smtp.send_message(msg)
            return
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=10)
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            raise  # this message's fault: the connection is fine for the next
        except (smtplib.SMTPException, OSError):
            self._close()  # the next message opens a new connection
            raise


class Outgoing(DependencyProvider):
    """Sends the due deliveries (email, SMS, WhatsApp, webhooks) in a loop of its own, woken as soon as a handler
    has committed new ones (``self.outgoing()`` in a worker), else every ``interval`` for retries: under load one
    round takes everything that piled up meanwhile, in three transactions instead of three per message.
    ``round_(uow, mailer) -> bool`` does one round and says whether it was full."""

    def __init__(self, round_, *, interval: float, gather: float):
        self.round_ = round_
        self.interval = interval
        self.gather = gather

    def setup(self) -> None:
        self.loop = WakeableLoop(self._round, interval=self.interval, name="notification sender", gather=self.gather)

    def _round(self) -> bool:
        deps = {d.attr_name: d for d in self.container.dependencies}
        return self.round_(deps["uow"].unit_of_work, deps["mailer"].mailer)

    def start(self) -> None:
        self.container.spawn_managed_thread(self.loop.run, identifier="notification_sender")

    def stop(self) -> None:
        self.loop.stop()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.loop.wake


class Mail(DependencyProvider):
    def setup(self) -> None:
        cfg = settings.get()
        self.mailer = Mailer(host=os.environ.get("MPPI_SMTP_HOST") or None,
                             port=int(os.environ.get("MPPI_SMTP_PORT", "25")),
                             sender=os.environ.get("MPPI_MAIL_FROM", "MPPI <noreply@mppi.local>"),
                             drop=cfg.var_dir / "mail")

    def get_dependency(self, worker_ctx):
        return self.mailer


class PublicFeed(DependencyProvider):
    """Publishes CloudEvents to ``mppi.public``: persistent, with publisher confirms, on a few confirming channels
    kept open (one per handler publishing at that moment). Raises when the broker did not take the event, so the
    handler fails and the event is retried."""

    def setup(self) -> None:
        self.amqp_uri = self.container.config["AMQP_URI"]
        self._idle: LightQueue = LightQueue()

    def publish(self, routing_key: str, event: dict) -> None:
        try:
            channel = self._idle.get_nowait()
        except Empty:
            channel = ConfirmingChannel(self.amqp_uri)
        try:
            body = json.dumps(event, ensure_ascii=False).encode()
            outcome = channel.publish([(event["id"], EXCHANGE, routing_key, body, {})], content_type=CONTENT_TYPE,
                                      mandatory=False)  # a feed nobody subscribes to yet is fine
        finally:
            self._idle.put(channel)  # it closed itself if it failed, and opens again when next used
        if event["id"] not in outcome.confirmed:
            raise RuntimeError(f"the broker did not take feed event {event['id']}")

    def stop(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except Empty:
                return

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.publish


class Broker(DependencyProvider):
    """The regions' feed vhosts and their subscribers' RabbitMQ users, through the management API (the platform's
    vhost is the service's own)."""

    def setup(self) -> None:
        cfg = settings.get()
        amqp = urlsplit(self.container.config["AMQP_URI"])
        vhost = unquote(amqp.path[1:]) if len(amqp.path) > 1 else "/"
        self.users = BrokerUsers(cfg.rabbit_management_url, vhost, feed_prefix=cfg.feed_vhost_prefix,
                                 limits=parse_limits(cfg.feed_limits), amqp_host=amqp.hostname or "127.0.0.1",
                                 amqp_port=amqp.port or 5672)

    def get_dependency(self, worker_ctx):
        return self.users
