"""Functions the bounded-pool tests run inside worker processes (imported there by name)."""

from __future__ import annotations

import os
import time


def ready() -> bool:
    return True


def slow_ready() -> bool:
    time.sleep(1.0)  # a slow start (SymPy's imports on a loaded machine)
    return True


def not_ready() -> bool:
    return False


def echo(x: object) -> object:
    return x


def pid() -> int:
    return os.getpid()


def spin(cpu_seconds: float) -> float:
    """Burn this much CPU time (a legitimate slow call, or a runaway one)."""
    start = time.process_time()
    while time.process_time() - start < cpu_seconds:
        pass
    return time.process_time() - start


def nap(seconds: float) -> str:
    time.sleep(seconds)  # takes wall time but no CPU: a stuck worker
    return "woke"


def boom() -> None:
    raise ValueError("bad input")


def die() -> None:
    os._exit(3)


def hog_memory() -> int:
    return len(bytearray(8 * 2**30))


def big_power() -> int:
    """Minutes of CPU inside one C call that holds the GIL (as SymPy on 9^{9^{9^{9}}})."""
    return (9 ** (9**10)).bit_length()
