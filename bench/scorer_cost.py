"""Scorer cost per call: AIME (math answer), Countdown verifier, APIGen parser + matcher.

Each is timed as the plain function its scorer calls, on a seeded mix of realistic and
hostile completions (the hostile ones are what makes a tail), and reported as median and
p99 wall time per call. The math scorer's symbolic fallback runs in its killable worker,
so a hostile LaTeX answer costs up to its 0.8 s bound: that is the p99 to expect when a
model writes such answers, and the bound is the point.

    python bench/scorer_cost.py [--calls 3000] [--out bench/out/scorer_cost.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchjson import default_out, write_result  # noqa: E402
from tabulate import tabulate  # noqa: E402

from harness.benchmarks.apigen import match_calls, parse_calls  # noqa: E402
from harness.benchmarks.countdown import check_countdown  # noqa: E402
from scorers.math import check_math_answer  # noqa: E402

PROSE = "Let me think step by step about this problem. " * 40


def aime_inputs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    forms = [
        lambda a: f"{PROSE}\nSo the answer is $\\boxed{{{a}}}$.",
        lambda a: f"{PROSE}\nANSWER: {a}",
        lambda a: f"{PROSE}\n**Final Answer:** \\boxed{{0{a}}}",
        lambda a: f"{PROSE}\n<answer>{a}</answer>",
        lambda a: f"{PROSE}\n\\boxed{{{a + 1}}}",
        lambda a: f"{PROSE} no final answer here",
        lambda a: f"{PROSE}\n\\boxed{{\\frac{{{2 * a}}}{{2}}}}",  # symbolic path
    ]
    hostile = ["x" * 100_000 + "\\boxed{" * 5000, "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}"]
    out = []
    for i in range(n):
        a = rng.randint(0, 999)
        if i % 200 == 199:
            out.append((hostile[i % 2], str(a)))
        else:
            out.append((rng.choice(forms)(a), str(a)))
    return out


def countdown_inputs(rng: random.Random, n: int) -> list[tuple[str, list[int], int]]:
    out = []
    for i in range(n):
        nums = [rng.randint(1, 99) for _ in range(4)]
        expr = f"({nums[0]} + {nums[1]}) * {nums[2]} - {nums[3]}"
        target = (nums[0] + nums[1]) * nums[2] - nums[3]
        if i % 200 == 199:
            completion = "<answer>" + "(" * 5000 + "1" + ")" * 5000 + "</answer>"
        elif i % 3 == 0:
            completion = f"{PROSE}<answer>{expr}</answer>"
        elif i % 3 == 1:
            completion = f"{PROSE}<answer>{nums[0]} * {nums[1]}</answer>"
        else:
            completion = f"{PROSE}<answer>99**98**97</answer>"
        out.append((completion, nums, target))
    return out


def apigen_inputs(rng: random.Random, n: int) -> list[tuple[str, list[dict]]]:
    out = []
    for i in range(n):
        gold = [{"name": "get_weather", "arguments": {"city": f"City{i}", "days": rng.randint(1, 7)}}]
        if i % 200 == 199:
            text = "[" * 100_000
        elif i % 2 == 0:
            text = f"Here are the calls:\n```json\n{json.dumps(gold)}\n```"
        else:
            text = json.dumps([{"name": "get_weather", "arguments": {"city": "Elsewhere", "days": 1}}])
        out.append((text, gold))
    return out


def _apigen_call(text: str, gold: list[dict]) -> None:
    try:
        predicted = parse_calls(text)
    except Exception:
        return
    match_calls(predicted, gold, None, "exact")


def time_calls(fn: Callable[..., object], inputs: list[tuple]) -> list[float]:
    times = []
    for args in inputs:
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=default_out("scorer_cost"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load_start = os.getloadavg()[0]

    check_math_answer("\\boxed{\\frac{1}{2}}", "0.5")  # start the bounded worker outside the timing
    suites = {
        "AIME math_answer": (check_math_answer, aime_inputs(rng, args.calls)),
        "Countdown check_countdown": (check_countdown, countdown_inputs(rng, args.calls)),
        "APIGen parse_calls + match_calls": (_apigen_call, apigen_inputs(rng, args.calls)),
    }
    results, rows = {}, []
    for name, (fn, inputs) in suites.items():
        times = sorted(time_calls(fn, inputs))
        med = statistics.median(times) * 1000
        p99 = times[int(0.99 * (len(times) - 1))] * 1000
        worst = times[-1] * 1000
        results[name] = {"calls": len(times), "median_ms": med, "p99_ms": p99, "max_ms": worst}
        rows.append([name, len(times), f"{med:.3f}", f"{p99:.3f}", f"{worst:.1f}"])
    print(tabulate(rows, headers=["scorer", "calls", "median ms", "p99 ms", "max ms"], tablefmt="github"))
    write_result(args.out, {"scorers": results}, load_start)


if __name__ == "__main__":
    main()
