"""Start the whole platform as separate processes, isolated on its own RabbitMQ vhost and PostgreSQL databases:
used by the integration tests and by ``make bench``."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from mppi.runtime.settings import SERVICES
from mppi.runtime.topology import SERVICE_CLASSES

ROOT = Path(__file__).resolve().parents[1]
MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672")
PG_ADMIN = os.environ.get("MPPI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Vhost:
    """A RabbitMQ vhost of its own, made through the management API and deleted afterwards."""

    def __init__(self, name: str | None = None):
        self.name = name or f"mppi-test-{uuid.uuid4().hex[:8]}"
        self.api = MANAGEMENT.rstrip("/") + "/api"

    def create(self) -> str:
        v = quote(self.name, safe="")
        requests.put(f"{self.api}/vhosts/{v}", timeout=10).raise_for_status()
        requests.put(f"{self.api}/permissions/{v}/guest", json={"configure": ".*", "write": ".*", "read": ".*"},
                     timeout=10).raise_for_status()
        return self.amqp_uri

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{quote(self.name, safe='')}"

    def delete(self) -> None:
        """The vhost, the regions' feed vhosts the platform made beside it, and their subscribers' users."""
        feeds = [v["name"] for v in requests.get(f"{self.api}/vhosts", timeout=30).json()
                 if v["name"].startswith(f"{self.name}.feed.")]
        for feed in feeds:
            for perm in requests.get(f"{self.api}/vhosts/{quote(feed, safe='')}/permissions", timeout=30).json():
                if perm["user"].startswith("sub-"):
                    requests.delete(f"{self.api}/users/{quote(perm['user'], safe='')}", timeout=30)
            requests.delete(f"{self.api}/vhosts/{quote(feed, safe='')}", timeout=30)
        requests.delete(f"{self.api}/vhosts/{quote(self.name, safe='')}", timeout=30)


class Databases:
    """One PostgreSQL database per service, named ``<prefix>_<service>``, dropped afterwards."""

    def __init__(self, prefix: str | None = None, services=SERVICES):
        self.prefix = prefix or f"mppi_t_{uuid.uuid4().hex[:8]}"
        self.services = services

    def _admin(self):
        import psycopg2

        conn = psycopg2.connect(PG_ADMIN)
        conn.autocommit = True
        return conn

    def create(self) -> dict[str, str]:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                for s in self.services:
                    cur.execute(f'CREATE DATABASE "{self.prefix}_{s}"')
        finally:
            conn.close()
        return self.urls

    @property
    def urls(self) -> dict[str, str]:
        base = PG_ADMIN.rsplit("/", 1)[0]
        return {s: f"{base}/{self.prefix}_{s}" for s in self.services}

    def drop(self) -> None:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                for s in self.services:
                    cur.execute(f'DROP DATABASE IF EXISTS "{self.prefix}_{s}" WITH (FORCE)')
        finally:
            conn.close()


@dataclass
class Platform:
    var_dir: Path
    amqp_uri: str
    database_urls: dict[str, str]
    gateway_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    internal_ports: dict[int, int] = field(default_factory=dict)  # each gateway's internal port, by its public one

    admin_email: str = "admin@mppi.test"
    admin_password: str = "admin-password-1"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def internal_url(self, base_url: str | None = None) -> str:
        """Where the gateway serving ``base_url`` (the platform's own by default) answers /readyz and /metrics."""
        port = int((base_url or self.base_url).rsplit(":", 1)[1].split("/")[0])
        return f"http://127.0.0.1:{self._internal_port(port)}"

    def _internal_port(self, port: int) -> int:
        return self.internal_ports.setdefault(port, free_port())

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "MPPI_VAR_DIR": str(self.var_dir), "AMQP_URI": self.amqp_uri, "MPPI_PUBLIC_URL": self.base_url,
            "MPPI_ADMIN_EMAIL": self.admin_email, "MPPI_ADMIN_PASSWORD": self.admin_password,
            # no gateway buckets (tests send many requests from one address), but the tenants service counts failed
            # sign-ins per account and network as in production (a test's wrong password or two is far below it)
            "MPPI_RATE_LIMITS": "account=10/600", "MPPI_WEBHOOK_ALLOW_PRIVATE": "true", "PYTHONWARNINGS": "ignore",
            "MPPI_LOG_LEVEL": "INFO", "MPPI_SLA_CHECK_SECONDS": "1",
        })
        for s, url in self.database_urls.items():
            env[f"{s.upper()}_DATABASE_URL"] = url
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def migrate(self) -> None:
        subprocess.run([sys.executable, "-m", "mppi.runtime.migrations"], env=self.env(), cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        logs = self.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process for its lifetime
        proc = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start_service(self, name: str, *, instance: str | None = None, **env: str) -> subprocess.Popen:
        """Start service ``name``; ``instance`` names a further replica of it (as a second pod would be)."""
        proc_name = instance or name
        port = self.metrics_ports.setdefault(proc_name, free_port())
        return self._spawn(proc_name, ["-m", "mppi.runtime.runner", SERVICE_CLASSES[name]],
                           self.env(MPPI_METRICS_PORT=str(port), **env))

    def start_gateway(self, name: str = "gateway", port: int | None = None, **env: str) -> subprocess.Popen:
        port = port or self.gateway_port
        return self._spawn(name, ["-m", "gateway.main"], self.env(
            MPPI_GATEWAY_PORT=str(port), MPPI_INTERNAL_PORT=str(self._internal_port(port)), **env))

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                return proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait()
        return proc.returncode

    def kill(self, name: str) -> None:
        self.stop(name, signal.SIGKILL)

    def start(self, *, timeout: float = 60, migrate: bool = True) -> Platform:
        if migrate:
            self.migrate()
        for s in SERVICES:
            self.start_service(s)
        self.start_gateway()
        self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float = 60, base_url: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        url = self.internal_url(base_url) + "/readyz"
        last = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: see {self.var_dir}/logs/{name}.log")
            try:
                r = requests.get(url, timeout=5)
                if r.status_code == 200:
                    return
                last = r.text
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.2)
        raise TimeoutError(f"platform not ready after {timeout}s: {last}")

    @contextmanager
    def running(self) -> Iterator[Platform]:
        """The platform started for a ``with`` block and stopped after it; when it fails to start, the end of each
        process's log is printed (pytest shows it beside the error)."""
        try:
            try:
                self.start()
            except Exception:
                for name in list(self.procs):
                    print(f"---- {name} ----\n{self.log(name)[-3000:]}")
                raise
            yield self
        finally:
            self.stop_all()

    @classmethod
    @contextmanager
    def isolated(cls, var_dir: Path, **extra_env: str) -> Iterator[Platform]:
        """A platform on a RabbitMQ vhost and PostgreSQL databases of its own, started for a ``with`` block; the vhost
        and the databases are deleted after it."""
        vhost, databases = Vhost(), Databases()
        vhost.create()
        databases.create()
        try:
            with cls(var_dir=var_dir, amqp_uri=vhost.amqp_uri, database_urls=databases.urls,
                     extra_env=dict(extra_env)).running() as p:
                yield p
        finally:
            databases.drop()
            vhost.delete()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.var_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
