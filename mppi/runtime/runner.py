"""Run one nameko service class as a process: ``python -m mppi.runtime.runner services.tenants.service:TenantsService``.

Patches eventlet first, logs JSON, says in one line when the broker cannot be reached, serves Prometheus metrics
on ``MPPI_METRICS_PORT`` and stops gracefully on SIGTERM or Ctrl-C (in-flight workers finish).
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # bugfix-only mode, known

import eventlet  # noqa: E402

eventlet.monkey_patch()

import errno  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from mppi.runtime import logging as mppi_logging  # noqa: E402
from mppi.runtime import settings as mppi_settings  # noqa: E402
from mppi.runtime import topology  # noqa: E402

log = logging.getLogger("mppi.runner")


def broker_reachable(amqp_uri: str) -> bool:
    try:
        with Connection(amqp_uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def broker_hint(amqp_uri: str) -> str:
    return (f"RabbitMQ is not reachable at {amqp_uri.split('@')[-1]}: start it with "
            "`rabbitmq-server -detached` (or set AMQP_URI)")


def main(argv: list[str]) -> int:
    cls = topology.load(argv[1])
    cfg = mppi_settings.get()
    mppi_logging.configure(cls.name, cfg.log_level)
    if not broker_reachable(cfg.amqp_uri):
        print(broker_hint(cfg.amqp_uri), file=sys.stderr)
        return 1
    if cfg.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(cfg.metrics_port, addr=os.environ.get("MPPI_METRICS_HOST", "127.0.0.1"))
    runner = ServiceRunner(cfg.nameko_config())
    runner.add_service(cls)

    def shutdown(signum, frame):
        # signal handlers run in the main loop and cannot use eventlet primitives: stop from a greenlet
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    runner.start()
    log.info("%s started", cls.name)
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        except KeyboardInterrupt:
            try:
                runner.stop()
            except KeyboardInterrupt:
                runner.kill()
        else:
            break
    log.info("%s stopped", cls.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
