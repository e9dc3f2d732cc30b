"""Fuzz every parser of model output with thousands of hostile inputs; report what broke.

Usage: ``python bench/parser_fuzz.py [-n 2000] [--only NAME,...] [--bombs 40]``

For each parser it prints: calls, crashes (exceptions escaping the parser), the largest
CPU time of one call (thread CPU, so a loaded machine does not inflate it), calls above
1 s of CPU, and verdict errors (a verdict the case says is wrong, e.g. a value-changing
answer scored correct). Exit status 1 when any crash, slow call or verdict error is seen.

The inputs are the hypothesis strategies of ``tests/test_math_fuzz.py`` (hostile text up
to 1 MB: regex bait, floods of ``\\boxed{``/braces/tags, unicode tricks, invalid UTF-8,
NaN/inf, numeric bombs, injection strings; value-changing and formatting-only answers).

Add a parser: append ``Parser(name, strategy, call, verdict_error)`` to ``PARSERS``;
``call(case)`` runs the parser on one drawn case, ``verdict_error(case, result)`` returns
a message when the result is a wrong verdict (or None).

``math.scorer.bombs`` sends numeric bombs (power towers, huge factorials) through the
whole scorer, where each one costs a worker kill and restart (about 1-2 s), so it runs
``--bombs`` cases (default 40), not ``-n``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.strategies import SearchStrategy  # noqa: E402

from benchjson import default_out, write_result  # noqa: E402
from harness.answers import extract_answer, integer_form  # noqa: E402
from scorers.math import MATH_POOL, Pending, check_math_answer, quick_math_score  # noqa: E402
from tests.test_math_fuzz import (  # noqa: E402
    HOSTILE_GOLD,
    formatting_only,
    hostile_completions,
    value_changing,
)

SLOW_S = 1.0


def _never_correct(case: Any, score: Any) -> str | None:
    if isinstance(score, Pending):
        return None
    return f"scored correct: {case!r}"[:300] if score.value == "C" else None


def _always_correct(case: Any, score: Any) -> str | None:
    if isinstance(score, Pending) or score.value != "C":
        return f"not correct: {case!r} -> {getattr(score, 'explanation', score)}"[:300]
    return None


BOMBS = [
    "9^{9^{9^{9}}}", "10^{10^{10^{10}}}", "2^{2^{2^{2^{2^{2}}}}}", "99^{99^{99}}", "(10^{100})^{10^{100}}",
    "9^{9^{9^{9}}} - 9^{9^{9^{9}}} + 33", "\\sqrt{10^{10^{10}}}", "\\frac{10^{10^{10}}}{3}",
    "\\binom{10^{10}}{10^{5}}", "(2^{10^{8}})^{2}", "3^{3^{3^{3}}}",
]


@st.composite
def bombs(draw) -> tuple[str, str]:
    bomb = draw(st.sampled_from(BOMBS))
    wrap = draw(st.sampled_from(["\\boxed{{{}}}", "ANSWER: {}", "<answer>{}</answer>", "$\\boxed{{{}}}$"]))
    return wrap.format(bomb), "33"


@dataclass
class Parser:
    name: str
    strategy: SearchStrategy[Any]
    call: Callable[[Any], Any]
    verdict_error: Callable[[Any, Any], str | None] = lambda case, result: None
    examples: int | None = None  # None: the -n option
    results: dict[str, Any] = field(default_factory=dict)


def _countdown() -> list[Parser]:
    try:
        from harness.benchmarks.countdown import check_countdown
    except ImportError:
        return []
    nums = st.lists(st.integers(0, 10**6), max_size=5)
    return [Parser("countdown.check_countdown",
                   st.tuples(hostile_completions(), nums, st.integers(-(10**6), 10**6)),
                   lambda c: check_countdown(*c))]


def _apigen() -> list[Parser]:
    try:
        from harness.benchmarks.apigen import CallParseError, parse_calls
    except ImportError:
        return []

    def call(text: str) -> Any:
        try:
            return parse_calls(text)
        except CallParseError as ex:  # the documented "no calls" outcome, not a crash
            return ex

    return [Parser("apigen.parse_calls", hostile_completions(), call)]


PARSERS: list[Parser] = [
    Parser("math.extract_answer", hostile_completions(), extract_answer),
    Parser("math.integer_form", st.text(max_size=600), integer_form),
    Parser("math.quick.hostile", hostile_completions(), lambda c: quick_math_score(c, HOSTILE_GOLD), _never_correct),
    Parser("math.quick.value_changing", value_changing(), lambda c: quick_math_score(*c), _never_correct),
    Parser("math.quick.formatting_only", formatting_only(), lambda c: quick_math_score(*c), _always_correct),
    Parser("math.scorer.value_changing", value_changing(), lambda c: check_math_answer(*c), _never_correct),
    Parser("math.scorer.bombs", bombs(), lambda c: check_math_answer(*c), _never_correct, examples=-1),
    *_countdown(),
    *_apigen(),
]


def run(parser: Parser, n: int) -> dict[str, Any]:
    cpu: list[float] = []
    wall: list[float] = []
    crashes: list[str] = []
    errors: list[str] = []

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(parser.strategy)
    def one(case: Any) -> None:
        start_cpu, start = time.thread_time(), time.perf_counter()
        try:
            result = parser.call(case)
        except Exception:
            crashes.append(traceback.format_exc(limit=3)[-500:])
            return
        finally:
            cpu.append(time.thread_time() - start_cpu)
            wall.append(time.perf_counter() - start)
        error = parser.verdict_error(case, result)
        if error:
            errors.append(error)

    one()
    return {"calls": len(cpu), "crashes": crashes, "max_cpu": max(cpu, default=0.0), "max_wall": max(wall, default=0.0),
            "slow": sum(c > SLOW_S for c in cpu), "errors": errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="cases per parser (default 2000)")
    ap.add_argument("--bombs", type=int, default=40, help="cases for math.scorer.bombs (each kills a worker)")
    ap.add_argument("--only", default="", help="comma-separated parser names (default: all)")
    ap.add_argument("--out", default=default_out("parser_fuzz"))
    args = ap.parse_args(argv)
    load_start = os.getloadavg()[0]
    rows = []
    only = {s for s in args.only.split(",") if s}
    bad = 0
    print(f"{'parser':32} {'calls':>6} {'crashes':>7} {'max CPU s':>9} {'>1s CPU':>7} {'verdict errors':>14} {'max wall s':>10}")
    for parser in PARSERS:
        if only and parser.name not in only:
            continue
        n = args.bombs if parser.examples == -1 else (parser.examples or args.n)
        r = run(parser, n)
        rows.append({"parser": parser.name, "calls": r["calls"], "crashes": len(r["crashes"]), "max_cpu_s": r["max_cpu"],
                     "slow": r["slow"], "verdict_errors": len(r["errors"]), "max_wall_s": r["max_wall"]})
        print(f"{parser.name:32} {r['calls']:>6} {len(r['crashes']):>7} {r['max_cpu']:>9.3f} {r['slow']:>7} "
              f"{len(r['errors']):>14} {r['max_wall']:>10.2f}", flush=True)
        for what in ("crashes", "errors"):
            for example in r[what][:2]:
                print(f"    {what[:-1]}: {example}")
        bad += len(r["crashes"]) + len(r["errors"]) + r["slow"]
    print(f"math-verify pool: {MATH_POOL.stats}")
    write_result(args.out, {"cases_per_parser": args.n, "bombs": args.bombs, "limit_s": SLOW_S, "parsers": rows},
                 load_start)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
