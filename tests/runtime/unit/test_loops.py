"""The background loop of the outbox relay and the sender: a wake that finds the loop idle runs a round at once;
wakes streaming in while rounds run are gathered into fewer rounds."""
import threading
import time

from mppi.runtime.loops import WakeableLoop


def _started(gather: float, quiet: float = 0.3):
    rounds: list[float] = []

    def round_() -> bool:  # a round takes 15 ms, as one with a database and a broker would
        time.sleep(0.015)
        rounds.append(time.monotonic())
        return False

    loop = WakeableLoop(round_, interval=60, name="test", gather=gather)
    threading.Thread(target=loop.run, daemon=True).start()
    time.sleep(quiet)  # the first round has run and the loop is quiet
    return loop, rounds


def _wait_for(rounds: list, n: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while len(rounds) < n and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_wake_that_finds_the_loop_idle_runs_a_round_at_once():
    loop, rounds = _started(gather=0.5, quiet=1.0)  # quiet for longer than the gather
    try:
        before, woken = len(rounds), time.monotonic()
        loop.wake()
        _wait_for(rounds, before + 1)
        assert len(rounds) == before + 1 and rounds[-1] - woken < 0.4  # not held back by the gather
    finally:
        loop.stop()


def test_wakes_streaming_in_are_gathered_into_fewer_rounds():
    loop, rounds = _started(gather=0.2)
    try:
        before = len(rounds)
        for _ in range(80):  # a commit every 5 ms for 0.4 s
            loop.wake()
            time.sleep(0.005)
        time.sleep(0.5)
        assert 1 <= len(rounds) - before <= 8, len(rounds) - before  # without gathering: one every 15 ms, ~27
    finally:
        loop.stop()
