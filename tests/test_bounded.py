"""harness.bounded: the killable worker pool behind the math scorer's symbolic comparison."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import harness.bounded as bounded
from harness.bounded import BoundedCallError, BoundedPool, BoundedTimeout, BoundedUnavailable
from tests import bounded_fns as fns

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def pool():
    # a generous wall cap: on a saturated test machine only the CPU bound may decide
    p = BoundedPool(warm="tests.bounded_fns:ready", size=2, wall_factor=500)
    yield p
    p.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_then_next_calls_succeed_and_replacement_is_eager(pool: BoundedPool) -> None:
    assert pool.call(fns.echo, "é\udce9\x00", cpu_timeout=1) == "é\udce9\x00"  # lone surrogate, NUL travel
    with pytest.raises(BoundedTimeout) as err:
        pool.call(fns.spin, 30, cpu_timeout=0.3)
    assert err.value.why == "cpu"
    # the replacement was started by the kill itself, before any new call asked for it
    deadline = time.monotonic() + 60
    while pool.stats["starts"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    # ... as a fork of the warm template, not a new interpreter
    assert pool.stats == {"calls": 2, "kills": 1, "starts": 3, "retries": 0, "templates": 1}
    assert [pool.call(fns.echo, i, cpu_timeout=1) for i in range(5)] == list(range(5))


def test_bound_is_cpu_time_so_a_loaded_machine_does_not_time_out(pool: BoundedPool) -> None:
    pool.call(fns.echo, 0, cpu_timeout=1)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        # 0.15 s of CPU under a 0.3 s bound, with 3 busy loops on the machine's cores
        start = time.monotonic()
        used = pool.call(fns.spin, 0.15, cpu_timeout=0.3)
        wall = time.monotonic() - start
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert used >= 0.15
    print(f"0.15 s CPU took {wall:.2f} s wall under load")  # informative: the bound did not count it


def test_start_up_never_counts_against_the_call(monkeypatch) -> None:
    monkeypatch.setattr(bounded, "MIN_WALL", 0.6)
    p = BoundedPool(warm="tests.bounded_fns:slow_ready", size=1, wall_factor=1.0)
    try:
        # the template needs 1 s to start; the call's bounds are 0.1 s CPU, 0.6 s wall
        assert p.call(fns.echo, "ok", cpu_timeout=0.1) == "ok"
        assert p.stats["retries"] == 0
    finally:
        p.close()


def test_stuck_or_dying_worker_is_retried_once_then_reported(pool: BoundedPool, monkeypatch) -> None:
    monkeypatch.setattr(bounded, "MIN_WALL", 0.3)
    pool.wall_factor = 1.0
    with pytest.raises(BoundedTimeout) as err:
        pool.call(fns.nap, 30, cpu_timeout=0.3)
    assert err.value.why == "wall" and "twice" in str(err.value)
    with pytest.raises(BoundedTimeout) as err:
        pool.call(fns.die, cpu_timeout=1)
    assert err.value.why == "died"
    assert pool.stats["retries"] == 2 and pool.stats["kills"] == 4
    assert pool.call(fns.echo, 1, cpu_timeout=1) == 1


def test_errors_and_memory(pool: BoundedPool) -> None:
    with pytest.raises(BoundedCallError, match="ValueError: bad input"):
        pool.call(fns.boom, cpu_timeout=1)
    with pytest.raises(BoundedTimeout) as err:
        pool.call(fns.hog_memory, cpu_timeout=5)
    assert err.value.why == "memory"
    with pytest.raises(TypeError, match="module-level"):
        pool.call(lambda: 1, cpu_timeout=1)
    with pytest.raises(TypeError):
        pool.call(fns.echo, object(), cpu_timeout=1)  # cannot travel as JSON: caller's error
    assert pool.call(fns.echo, [1, "a"], cpu_timeout=1) == [1, "a"]


@pytest.mark.parametrize("warm,expected", [
    ("tests.bounded_fns:not_ready", "returned False"),
    ("no_such_module_xyz:fn", "ModuleNotFoundError"),
])
def test_no_worker_can_start_is_one_clear_error(warm: str, expected: str) -> None:
    p = BoundedPool(warm=warm, size=2)
    try:
        with pytest.raises(BoundedUnavailable, match=expected) as err:
            p.call(fns.echo, 1, cpu_timeout=1)
        assert "could not start 3 times in a row" in str(err.value)
        with pytest.raises(BoundedUnavailable):  # later calls fail at once, the same way
            p.call(fns.echo, 1, cpu_timeout=1)
    finally:
        p.close()


def test_busy_pool_forks_more_workers_so_others_do_not_queue() -> None:
    """One worker per core is the base; queued calls get extra forked workers (bounded by
    BURST), so a hostile call does not make every other call wait for it."""
    pool = BoundedPool(warm="tests.bounded_fns:ready", size=1)
    try:
        pool.call(fns.echo, 0, cpu_timeout=1)
        # a call that holds its worker (up to the 30 s wall cap) without using CPU
        hostile = threading.Thread(target=lambda: pytest.raises(Exception, pool.call, fns.nap, 60, cpu_timeout=1),
                                   daemon=True)
        hostile.start()
        time.sleep(0.2)
        assert [pool.call(fns.echo, i, cpu_timeout=1) for i in range(10)] == list(range(10))
        assert hostile.is_alive()  # all 10 were answered by a burst worker meanwhile
        assert pool.stats["templates"] == 1 and pool.stats["starts"] == 2
    finally:
        pool.close()  # kills the busy worker too; its caller gets an error, not a hang
    hostile.join(10)
    assert not hostile.is_alive()


def test_long_calls_are_reniced_and_do_not_block_quick_ones(monkeypatch) -> None:
    """Past LONG_CALL s of CPU a call's worker is reniced and no longer counts against the
    burst cap, so a quick call arriving behind it gets a worker at once."""
    monkeypatch.setattr(bounded, "BURST", 1)  # without the long-call rule: one worker, no burst
    pool = BoundedPool(warm="tests.bounded_fns:ready", size=1, wall_factor=500)
    try:
        pool.call(fns.echo, 0, cpu_timeout=1)
        hostile = threading.Thread(target=lambda: pytest.raises(BoundedTimeout, pool.call, fns.spin, 30, cpu_timeout=0.6),
                                   daemon=True)
        hostile.start()
        assert pool.call(fns.echo, "quick", cpu_timeout=1) == "quick"
        assert hostile.is_alive()  # answered while the long call still ran
        [long_worker] = [w for w in pool._workers.values() if w.long]
        assert os.getpriority(os.PRIO_PROCESS, long_worker.pid) == 15
        hostile.join(60)
        assert pool.stats["kills"] == 1
    finally:
        pool.close()


def test_workers_do_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import sys, threading, time
        from harness.bounded import BoundedPool
        from tests import bounded_fns as fns
        p = BoundedPool(warm="tests.bounded_fns:ready", size=2)
        idle = p.call(fns.pid, cpu_timeout=1)
        # busy inside one C call that holds the GIL: no thread of the worker can run
        threading.Thread(target=p.call, args=(fns.big_power,), kwargs={"cpu_timeout": 900}, daemon=True).start()
        time.sleep(0.3)
        print(idle, flush=True)
        time.sleep(600)
    """))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    idle_pid = int(proc.stdout.readline())
    [template] = _children(proc.pid)
    workers = _children(template)
    assert idle_pid in workers and len(workers) == 2  # one idle, one busy
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the template sees end of input and exits; the kernel then kills its workers
    everything = [template, *workers]
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in everything) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in everything)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_a_forked_child_gets_its_own_workers(pool: BoundedPool) -> None:
    """A process forked after the pool started must not talk to the parent's workers."""
    pool.call(fns.pid, cpu_timeout=1)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.write(w, str(pool.call(fns.pid, cpu_timeout=5)).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    child_worker = int(os.read(r, 100) or 0)
    os.close(r)
    assert child_worker and child_worker not in {w.pid for w in pool._workers.values()}
    assert pool.call(fns.echo, "still mine", cpu_timeout=1) == "still mine"
