"""Countdown verifier under 10k hypothesis-generated hostile inputs: never a crash, never 1 s.

Usage: ``python bench/countdown_fuzz.py [N] [default|tinyzero]`` (default 10000, the default
rule). Prints the slowest and mean call and how the verdicts split by reason; ``tinyzero``
times :func:`harness.benchmarks.countdown.tinyzero_reward` (``-T reward=tinyzero``) instead. The
inputs are the strategy of tests/test_countdown_verifier.py (``99**98**97``, 10^6-digit literals, 10^5 nested
parentheses, tag floods, random text).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from benchjson import default_out, write_result  # noqa: E402
from harness.benchmarks.countdown import REASONS, check_countdown, tinyzero_reward  # noqa: E402
from tests.test_countdown_verifier import hostile_completions  # noqa: E402

LIMIT_S = 1.0


def main(n: int, rule: str = "default", out: str | None = None) -> int:
    load_start = os.getloadavg()[0]
    check = tinyzero_reward if rule == "tinyzero" else check_countdown
    times: list[float] = []
    reasons: Counter[str] = Counter()

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(completion=hostile_completions(), nums=st.lists(st.integers(0, 10**6), max_size=5), target=st.integers(-(10**6), 10**6))
    def run(completion: str, nums: list[int], target: int) -> None:
        start = time.perf_counter()
        verdict = check(completion, nums, target)
        times.append(time.perf_counter() - start)
        assert verdict.reason in REASONS
        reasons[verdict.reason] += 1

    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    print(
        f"{rule} rule, {len(times)} hostile inputs in {wall:.0f} s: slowest call {max(times) * 1e3:.1f} ms, "
        f"mean {sum(times) / len(times) * 1e3:.3f} ms"
    )
    print("verdicts:", dict(reasons.most_common()))
    write_result(out or default_out(f"countdown_fuzz{'' if rule == 'default' else '_' + rule}"),
                 {"rule": rule, "inputs": len(times), "wall_s": wall, "max_ms": max(times) * 1e3,
                  "mean_ms": sum(times) / len(times) * 1e3, "crashes": 0, "limit_s": LIMIT_S,
                  "verdicts": dict(reasons.most_common())}, load_start)
    return 0 if max(times) < LIMIT_S else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("rule", nargs="?", default="default", choices=("default", "tinyzero"))
    ap.add_argument("--out", help="default: bench/out/countdown_fuzz[_tinyzero].json")
    a = ap.parse_args()
    sys.exit(main(a.n, a.rule, a.out))
