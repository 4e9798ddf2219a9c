"""Settings from environment variables, with working local defaults; nothing connects at import time."""
from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SERVICES = ("tenants", "catalog", "applications", "notifications")


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    public_url: str
    amqp_uri: str
    rabbit_management_url: str
    database_urls: dict[str, str]
    token_ttl_seconds: int
    rpc_timeout_seconds: float
    rate_limits: str
    admin_email: str | None
    admin_password: str | None
    outbox_relay: bool
    log_level: str
    metrics_port: int
    max_workers: int
    # the ingress / load balancer addresses whose X-Forwarded-For the gateway believes (empty: nobody's)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # what one account's uploads not yet sent (a web form half-way) may hold in the blob store's staging area
    staging_quota_bytes: int = 200 * 1024 * 1024
    staging_quota_files: int = 50
    # what every account's uploads not yet sent may hold together (the first limit is per account: many accounts made
    # by one client must not multiply it)
    staging_quota_total_bytes: int = 10 * 1024 * 1024 * 1024
    # what the gateway's rendered answers (gateway.rendered) may cost, every region together
    rendered_cache_bytes: int = 64 * 1024 * 1024
    # the gateway's internal port (/healthz, /readyz, /metrics), the connections one client address may hold open
    # and the seconds a connection has to send its request head (gateway.server)
    internal_port: int = 8001
    max_connections_per_client: int = 200
    request_head_seconds: float = 10
    # how long a sent outbox row and the claim of a handled event or request are kept (mppi.runtime.retention)
    outbox_keep_days: float = 7
    claims_keep_days: float = 30
    # the regions' feed vhosts are named <prefix><tenant> (None: "<platform vhost>.feed."); what a subscriber and a
    # region's feed may hold (services.notifications.broker_users.FeedLimits)
    feed_vhost_prefix: str | None = None
    feed_limits: str = ""

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    @property
    def blob_dir(self) -> Path:
        return self.var_dir / "blobs"

    def nameko_config(self) -> dict:
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "parent_calls_tracked": 10,
            # heartbeats keep a dead broker connection from hanging a worker forever
            "HEARTBEAT": 30,
        }

    def signing_secret(self) -> bytes:
        """The key that signs issued documents' verification codes."""
        env = os.environ.get("MPPI_SIGNING_SECRET")
        if env:
            return _given("MPPI_SIGNING_SECRET", env)
        return self._generated("MPPI_SIGNING_SECRET", "signing.key")

    def token_secret(self) -> bytes:
        env = os.environ.get("MPPI_TOKEN_SECRET")
        if env:
            return _given("MPPI_TOKEN_SECRET", env)
        return self._generated("MPPI_TOKEN_SECRET", "token.key")

    def data_keys(self) -> list[bytes]:
        """The keys that seal secrets kept in databases (webhook secrets, SMS / WhatsApp provider tokens):
        MPPI_DATA_KEY, comma-separated when rotating (the first seals, any of them opens)."""
        env = os.environ.get("MPPI_DATA_KEY")
        if env:
            return [_given("MPPI_DATA_KEY", key.strip()) for key in env.split(",") if key.strip()]
        return [self._generated("MPPI_DATA_KEY", "data.key")]

    def _generated(self, name: str, filename: str) -> bytes:
        """A key generated once under the var dir, for a platform on one machine. A public https URL means replicas
        on several machines, each of which would generate a key of its own: the setting is required there."""
        if self.public_url.startswith("https://"):
            raise SystemExit(f"{name} must be set when MPPI_PUBLIC_URL is https (every replica needs the same key)")
        return _shared_secret(self.var_dir / filename)


MIN_SECRET_BYTES = 32


def _given(name: str, value: str) -> bytes:
    """A secret from the environment, refused (the process does not start) when it is a deploy template's
    placeholder or shorter than 32 bytes: a guessable key signs tokens anyone could make."""
    if "REPLACE_ME" in value:
        raise SystemExit(f"{name} is still the placeholder of the deploy template: set a real secret "
                         f"(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise SystemExit(f"{name} must be at least {MIN_SECRET_BYTES} bytes (it has {len(secret)})")
    return secret


def _shared_secret(path: Path) -> bytes:
    """Read the key kept under var/, creating it once; safe when several processes start together."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # atomic: the first process to link wins, the others read its key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_bytes().strip()


def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7"`` → networks; a wrong entry stops the process at start, not at the first request."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def load(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    var_dir = Path(env.get("MPPI_VAR_DIR", "var")).resolve()
    urls = {}
    for service in SERVICES:
        key = f"{service.upper()}_DATABASE_URL"
        urls[service] = env.get(key) or f"sqlite:///{var_dir / (service + '.db')}"
    return Settings(
        var_dir=var_dir,
        public_url=env.get("MPPI_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        amqp_uri=env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        rabbit_management_url=env.get("RABBIT_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672"),
        database_urls=urls,
        token_ttl_seconds=int(env.get("MPPI_TOKEN_TTL_SECONDS", "3600")),
        rpc_timeout_seconds=float(env.get("MPPI_RPC_TIMEOUT_SECONDS", "10")),
        rate_limits=env.get("MPPI_RATE_LIMITS", "auth=60/60,account=10/300,api=600/60"),
        admin_email=env.get("MPPI_ADMIN_EMAIL") or None,
        admin_password=env.get("MPPI_ADMIN_PASSWORD") or None,
        outbox_relay=_bool(env.get("MPPI_OUTBOX_RELAY"), True),
        log_level=env.get("MPPI_LOG_LEVEL", "INFO"),
        metrics_port=int(env.get("MPPI_METRICS_PORT", "0")),
        max_workers=int(env.get("MPPI_MAX_WORKERS", "10")),
        trusted_proxies=_networks(env.get("MPPI_TRUSTED_PROXIES", "")),
        staging_quota_bytes=int(float(env.get("MPPI_STAGING_QUOTA_MB", "200")) * 1024 * 1024),
        staging_quota_files=int(env.get("MPPI_STAGING_QUOTA_FILES", "50")),
        staging_quota_total_bytes=int(float(env.get("MPPI_STAGING_QUOTA_TOTAL_MB", "10240")) * 1024 * 1024),
        rendered_cache_bytes=int(float(env.get("MPPI_RENDERED_CACHE_MB", "64")) * 1024 * 1024),
        internal_port=int(env.get("MPPI_INTERNAL_PORT", "8001")),
        max_connections_per_client=int(env.get("MPPI_MAX_CONNECTIONS_PER_CLIENT", "200")),
        request_head_seconds=float(env.get("MPPI_REQUEST_HEAD_SECONDS", "10")),
        outbox_keep_days=float(env.get("MPPI_OUTBOX_KEEP_DAYS", "7")),
        claims_keep_days=float(env.get("MPPI_CLAIMS_KEEP_DAYS", "30")),
        feed_vhost_prefix=env.get("MPPI_FEED_VHOST_PREFIX") or None,
        feed_limits=env.get("MPPI_FEED_LIMITS", ""),
    )


@cache
def get() -> Settings:
    """The process-wide settings, read once on first use."""
    return load()
