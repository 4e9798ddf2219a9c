"""Before `make run`: say in one line what is missing (the broker) and how to start it."""
import sys

from mppi.runtime import settings
from mppi.runtime.runner import broker_hint, broker_reachable

if __name__ == "__main__":
    cfg = settings.get()
    if not broker_reachable(cfg.amqp_uri):
        print(broker_hint(cfg.amqp_uri), file=sys.stderr)
        sys.exit(1)
