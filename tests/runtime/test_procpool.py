"""The process pool keeps the eventlet hub running while CPU-heavy work (PDF rendering) happens elsewhere.

The suite's conftest has already called ``eventlet.monkey_patch()``, as every nameko service does. The functions
sent to the pool come from real modules (children import them by module path).
"""
import os
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
