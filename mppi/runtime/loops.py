"""A background loop of a service that works in rounds: again at once after a full round, else when woken (a commit
brought new work) or after its interval, and with back-off while the broker or the database is away. The outbox
relay and the notifications' sender run on it: under load one round takes everything that piled up meanwhile. When
commits stream in (new work landed while a round ran) the loop first waits ``gather`` seconds, so the next round
takes several commits' work instead of one or two (each round costs a few round trips to the database and the
broker, whatever its size); a commit that finds the loop idle is taken at once."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class WakeableLoop:
    def __init__(self, round_: Callable[[], bool], *, interval: float, name: str, gather: float = 0.0):
        """``round_()`` does one round and says whether it was full (so there may be more waiting)."""
        self.round = round_
        self.interval = interval
        self.gather = gather
        self.name = name
        self._wake = threading.Event()
        self._running = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._running = False
        self._wake.set()

    def run(self) -> None:
        self._running = True
        failures = 0
        while self._running:
            self._wake.clear()  # before the round: work landing during it wakes the next one
            try:
                full = self.round()
                failures = 0
            except Exception:
                failures += 1
                log.warning("%s failed; retrying", self.name, exc_info=True)
                self._wake.wait(min(30.0, 0.5 * 2**failures))
                continue
            if full:
                continue
            if self._wake.is_set():  # work landed during the round: commits are streaming in
                if self.gather:
                    time.sleep(self.gather)
            else:
                self._wake.wait(self.interval)
