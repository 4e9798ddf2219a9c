"""Run the gateway: ``python -m gateway.main`` serves HTTP on MPPI_GATEWAY_HOST:MPPI_GATEWAY_PORT (127.0.0.1:8000)
with eventlet (within MPPI_MAX_CONNECTIONS_PER_CLIENT, 200, and MPPI_REQUEST_HEAD_SECONDS, 10: gateway.server),
/healthz, /readyz and /metrics on MPPI_INTERNAL_PORT (8001), and runs its broadcast event handlers (cache refresh)
in the same process."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # bugfix-only mode, known

import eventlet  # noqa: E402

eventlet.monkey_patch()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402

from gateway.app import Gateway  # noqa: E402
from gateway.events import GatewayEvents  # noqa: E402
from gateway.server import serve  # noqa: E402
from mppi.runtime import logging as mppi_logging  # noqa: E402
from mppi.runtime import settings as mppi_settings  # noqa: E402
from mppi.runtime.runner import broker_hint, broker_reachable  # noqa: E402

log = logging.getLogger("gateway")


def main() -> int:
    cfg = mppi_settings.get()
    mppi_logging.configure("gateway", cfg.log_level)
    if not broker_reachable(cfg.amqp_uri):
        print(broker_hint(cfg.amqp_uri), file=sys.stderr)
        return 1
    host = os.environ.get("MPPI_GATEWAY_HOST", "127.0.0.1")
    port = int(os.environ.get("MPPI_GATEWAY_PORT", "8000"))
    events = ServiceContainer(GatewayEvents, cfg.nameko_config())
    events.start()
    app = Gateway(cfg)
    eventlet.spawn_n(app.warm_caches)
    sock = eventlet.listen((host, port), backlog=1024)
    server = eventlet.spawn(serve, sock, app, edge=app.edge, per_client=cfg.max_connections_per_client,
                            head_seconds=cfg.request_head_seconds)
    # kubelet and Prometheus only, which reach the pod directly: a few connections, no per-client cap
    internal = eventlet.spawn(eventlet.wsgi.server, eventlet.listen((host, cfg.internal_port)), app.internal,
                              log_output=False, max_size=100, socket_timeout=10)

    def shutdown(signum, frame):
        # SystemExit inside the server loop stops accepting, closes idle keep-alive connections and waits for the
        # requests in flight (eventlet.wsgi's own drain); signal handlers may not block, so do it in a greenlet
        eventlet.spawn_n(server.kill, SystemExit)
        eventlet.spawn_n(internal.kill, SystemExit)

    signal.signal(signal.SIGTERM, shutdown)
    log.info("gateway listening on http://%s:%d (internal: %d)", host, port, cfg.internal_port)
    if cfg.trusted_proxies:  # whose X-Forwarded-For names the client (rate limits); their connections are not capped
        log.info("trusting X-Forwarded-For from %s", ", ".join(str(n) for n in cfg.trusted_proxies))
    try:
        server.wait()
    except (KeyboardInterrupt, eventlet.greenlet.GreenletExit):
        pass
    finally:
        events.stop()
        app.rpc.close()
    log.info("gateway stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
