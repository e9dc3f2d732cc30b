"""Judge-output parsers under thousands of hostile inputs: crashes, CPU time, verdict errors.

Usage: ``python bench/judge_fuzz.py [N]`` (default 2000 hypothesis cases per parser), from
any folder. Every parser of ``tests/test_judge_fuzz.py``'s table (web judge lenient / strict
and the injected-grade case, self-play ``<Score>`` tags and the injected-score case,
Challenger instructions, the AlpacaEval logprob / text verdict, the win-rate counts) gets N
generated inputs up to 1 MB (regex bait after every anchor, unicode tricks, lone
surrogates, NaN/inf logprobs), then the deterministic sweep: every anchor followed by a
run of every bait character that fills the window the parser reads, in a 1 MB input.

Prints one row per parser: calls, crashes (an exception out of the parser), max and mean
CPU seconds per call (``time.thread_time``), calls over 1 s, and verdict errors (a
verdict that disagrees with the test's independent oracle, or an injected verdict that
won), with the first error of each kind. Exit status 1 if any crash, slow call or error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchjson import default_out, write_result  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from tabulate import tabulate  # noqa: E402

from tests.test_judge_fuzz import BAIT_SWEEP, CHECKS, bait_floods  # noqa: E402

LIMIT_S = 1.0
"""The acceptance bound: no parser call above 1 s of CPU on inputs up to 1 MB."""


class Tally:
    def __init__(self) -> None:
        self.calls = self.crashes = self.slow = self.errors = 0
        self.cpu: list[float] = []
        self.first: list[str] = []

    def add(self, run) -> None:  # run: () -> list[Outcome]
        try:
            outcomes = run()
        except Exception as ex:  # noqa: BLE001 - a crash of the parser (or of its check) is what we count
            self.calls += 1
            self.crashes += 1
            self.first.append(f"crash {type(ex).__name__}: {str(ex)[:160]}")
            return
        for o in outcomes:
            self.calls += 1
            self.cpu.append(o.cpu)
            self.slow += o.cpu > LIMIT_S
            if o.error is not None:
                self.errors += 1
                self.first.append(o.error[:200])

    def row(self, name: str) -> list[object]:
        cpu = self.cpu or [0.0]
        return [name, self.calls, self.crashes, f"{max(cpu):.4f}", f"{sum(cpu) / len(cpu) * 1e3:.3f}", self.slow, self.errors]


def _fuzz(strategy, check, tally: Tally, n: int) -> None:
    # a closure per parser: hypothesis refuses @given on a function with default arguments
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value) -> None:
        tally.add(lambda: [check(value)])

    run()


def main(n: int, out: str) -> int:
    load_start = os.getloadavg()[0]
    rows, problems = [], []
    start = time.perf_counter()
    for name, (strategy, check) in CHECKS.items():
        tally = Tally()
        _fuzz(strategy, check, tally, n)
        rows.append(tally.row(name))
        problems += [f"{name}: {e}" for e in tally.first[:3]]
    for kind, checks in BAIT_SWEEP.items():
        tally = Tally()
        for text in bait_floods(kind):
            tally.add(lambda checks=checks, text=text: checks(text))
        rows.append(tally.row(f"sweep: {kind} anchors x bait, 1 MB"))
        problems += [f"sweep {kind}: {e}" for e in tally.first[:3]]
    print(tabulate(rows, headers=["parser", "calls", "crashes", "max CPU s", "mean CPU ms", f"> {LIMIT_S:g} s", "verdict errors"],
                   tablefmt="github"))
    print(f"\n{sum(r[1] for r in rows)} calls in {time.perf_counter() - start:.0f} s wall")
    for p in problems:
        print("  ", p)
    bad = any(r[2] or r[5] or r[6] for r in rows)
    write_result(out, {"cases_per_parser": n, "limit_s": LIMIT_S, "wall_s": time.perf_counter() - start,
                       "parsers": [{"parser": r[0], "calls": r[1], "crashes": r[2], "max_cpu_s": float(r[3]),
                                    "mean_cpu_ms": float(r[4]), "slow": r[5], "verdict_errors": r[6]} for r in rows],
                       "problems": problems}, load_start)
    return 1 if bad else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", nargs="?", type=int, default=2000, help="hypothesis cases per parser")
    ap.add_argument("--out", default=default_out("judge_fuzz"))
    a = ap.parse_args()
    sys.exit(main(a.n, a.out))
