"""The process pool keeps the eventlet hub running while CPU-heavy work (PDF rendering) happens elsewhere.

The suite's conftest has already called ``eventlet.monkey_patch()``, as every nameko service does. The functions
sent to the pool come from real modules (children import them by module path): the standard library's ``os``,
``time`` and ``sys`` give a test everything it needs to make a child sleep, crash, print or scribble on its pipe.
"""
import os
import struct
import sys
import time

import eventlet
import pytest

from mppi.runtime.procpool import ProcessPool, ProcessPoolProvider
from services.applications.documents import IssuedDocument, render_issued_document

DOCUMENTS = 12
TICK = 0.010
MAX_GAP = 0.250


def document(i: int) -> IssuedDocument:
    return IssuedDocument(
        region_name="Pemerintah Kabupaten Sinjai", primary_color="#1F3A5F", service_name="Perizinan Usaha",
        output_name="Nomor Induk Berusaha", applicant_name=f"Pemohon {i}", tracking_number=f"SNJ-26-{i:06d}",
        issued_at="29 November 2026 14:05 WITA", verify_url=f"https://mppi.example.go.id/verify/SNJ-26-{i:06d}.X",
        details=tuple((f"Baris {n}", "Isian " * 12) for n in range(8)),
    )


@pytest.fixture
def pool():
    p = ProcessPool(max_workers=2)
    yield p
    p.kill()


@pytest.fixture
def single():
    p = ProcessPool(max_workers=1)
    yield p
    p.kill()


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether process ``pid`` has exited and been reaped (no zombie left) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        eventlet.sleep(0.02)


def test_the_hub_keeps_ticking_while_documents_render_in_the_pool(pool):
    gaps: list[float] = []
    rendering = [True]

    def ticker():
        last = time.monotonic()
        while rendering[0]:
            eventlet.sleep(TICK)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    clock = eventlet.spawn(ticker)
    eventlet.sleep(0)
    started = time.monotonic()
    workers = [eventlet.spawn(pool.run, render_issued_document, document(i), timeout=120) for i in range(DOCUMENTS)]
    pdfs = [w.wait() for w in workers]
    elapsed = time.monotonic() - started
    rendering[0] = False
    clock.wait()

    assert len(pdfs) == DOCUMENTS and all(pdf.startswith(b"%PDF-") for pdf in pdfs)
    assert len({pdf for pdf in pdfs}) == DOCUMENTS  # each green thread got its own document back
    assert len(gaps) >= elapsed / (TICK * 4)  # the ticker really ran throughout
    assert max(gaps) < MAX_GAP, f"the hub stalled for {max(gaps) * 1000:.0f} ms"


def test_a_call_that_takes_too_long_raises_timeout_error_without_blocking(pool):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        pool.run(time.sleep, 5.0, timeout=1.0)
    assert time.monotonic() - started < 3.0


def test_the_work_really_happens_in_other_processes(pool):
    pids = {pool.run(os.getpid) for _ in range(4)}
    assert os.getpid() not in pids


def test_calls_one_after_another_are_served_by_the_same_long_lived_child(pool):
    pids = [pool.run(os.getpid) for _ in range(10)]
    assert len(set(pids)) == 1 and pids[0] != os.getpid()
    assert pool.pids() == pids[:1]


def test_no_more_than_max_workers_children_run_at_once_and_all_of_them_are_used(pool):
    most = [0]
    sampling = [True]

    def sampler():
        while sampling[0]:
            most[0] = max(most[0], len(pool.pids()))
            eventlet.sleep(0.02)

    clock = eventlet.spawn(sampler)
    started = time.monotonic()
    calls = [eventlet.spawn(pool.run, time.sleep, 0.4, timeout=30) for _ in range(6)]
    for call in calls:
        call.wait()
    elapsed = time.monotonic() - started
    sampling[0] = False
    clock.wait()

    assert most[0] == 2
    assert elapsed >= 3 * 0.4  # six calls, two at a time
    assert len(pool.pids()) == 2


def test_a_child_that_timed_out_is_killed_and_the_next_call_gets_a_fresh_one(single):
    first = single.run(os.getpid)
    with pytest.raises(TimeoutError):
        single.run(time.sleep, 30.0, timeout=0.5)
    assert gone(first)
    second = single.run(os.getpid)
    assert second != first and single.run(os.getpid) == second


def test_a_child_that_dies_mid_call_gives_a_runtime_error_and_the_next_call_works(single):
    first = single.run(os.getpid)
    with pytest.raises(RuntimeError, match=r"exited \(3\)"):
        single.run(os._exit, 3)
    assert gone(first)
    assert single.run(pow, 2, 10) == 1024
    assert single.run(os.getpid) != first


def test_a_child_that_answers_garbage_is_replaced(single):
    first = single.run(os.getpid)
    # fds 0-2 of a child are redirected; 3 and 4 are its private copies of the request and reply pipes
    with pytest.raises(RuntimeError, match="garbage"):
        single.run(os.write, 4, struct.pack(">Q", 5) + b"junk!")
    with pytest.raises(RuntimeError, match="announced"):
        single.run(os.write, 4, b"\xff" * 8)
    assert gone(first)
    assert single.run(abs, -7) == 7


def test_a_target_that_writes_to_stdout_does_not_corrupt_the_replies(single):
    assert single.run(os.write, 1, b"noise on stdout\n") == 16
    assert single.run(abs, -7) == 7


def test_a_child_is_replaced_after_max_calls():
    p = ProcessPool(max_workers=1, max_calls=3)
    try:
        pids = [p.run(os.getpid) for _ in range(7)]
    finally:
        p.kill()
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4] == pids[5] != pids[6]
    assert gone(pids[0]) and gone(pids[3])


def test_a_caller_s_own_timeout_is_not_mistaken_for_the_pool_s(single):
    with pytest.raises(eventlet.Timeout):
        with eventlet.Timeout(0.5):
            single.run(time.sleep, 30.0, timeout=60)
    assert single.run(abs, -7) == 7


def test_exit_in_the_target_reaches_the_caller_as_runtime_error_and_the_child_lives_on(single):
    first = single.run(os.getpid)
    with pytest.raises(RuntimeError, match="SystemExit"):
        single.run(sys.exit, 3)
    assert single.run(os.getpid) == first


def test_a_result_that_cannot_be_pickled_is_reported(single):
    with pytest.raises(RuntimeError, match="could not travel back"):
        single.run(open, os.devnull)
    assert single.run(abs, -7) == 7


def test_errors_raised_in_the_worker_reach_the_caller(pool):
    with pytest.raises(ValueError):
        pool.run(int, "not a number")


def test_the_pool_starts_lazily_and_refuses_work_once_closed():
    p = ProcessPool(max_workers=1)
    assert not p.started
    assert p.run(pow, 2, 10) == 1024
    assert p.started
    p.close()
    with pytest.raises(RuntimeError):
        p.run(pow, 2, 10)


def test_close_lets_running_calls_finish_and_ends_every_child():
    p = ProcessPool(max_workers=2)
    try:
        warm = [eventlet.spawn(p.run, time.sleep, 0.3) for _ in range(2)]
        for call in warm:
            call.wait()
        assert len(p.pids()) == 2
        running = eventlet.spawn(p.run, time.sleep, 1.0)
        eventlet.sleep(0.3)
        both = p.pids()
        p.close()
        assert len(p.pids()) == 1  # the idle one has ended
        busy = p.pids()[0]
        assert gone(next(pid for pid in both if pid != busy), within=0)
        assert running.wait() is None  # the running call finished normally
        assert gone(busy)  # and its child ended after it
        with pytest.raises(RuntimeError):
            p.run(abs, -5)
    finally:
        p.kill()


def test_kill_ends_idle_children():
    p = ProcessPool(max_workers=1)
    pid = p.run(os.getpid)
    p.kill()
    assert gone(pid)
    with pytest.raises(RuntimeError):
        p.run(abs, -5)


def test_kill_ends_a_running_child():
    p = ProcessPool(max_workers=1)
    runner = eventlet.spawn(p.run, time.sleep, 30.0, timeout=60)
    eventlet.sleep(0.5)
    started = time.monotonic()
    p.kill()
    with pytest.raises(RuntimeError):
        runner.wait()
    assert time.monotonic() - started < 5.0


def test_the_provider_builds_the_pool_without_starting_processes_and_closes_it():
    provider = ProcessPoolProvider(max_workers=3)
    provider.setup()
    pool = provider.get_dependency(worker_ctx=None)
    assert isinstance(pool, ProcessPool) and pool.max_workers == 3 and not pool.started
    assert pool.run(abs, -5) == 5
    provider.stop()
    with pytest.raises(RuntimeError):
        pool.run(abs, -5)
    provider.kill()  # idempotent after stop
