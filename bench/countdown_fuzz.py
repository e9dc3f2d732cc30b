"""Countdown verifier under 10k hypothesis-generated hostile inputs: never a crash, never 1 s.

Usage: ``python bench/countdown_fuzz.py [N] [default|tinyzero]`` (default 10000, the default
rule). Prints the slowest and mean call and how the verdicts split by reason; ``tinyzero``
times :func:`harness.countdown.tinyzero_reward` (``-T reward=tinyzero``) instead. The
inputs are the strategy of tests/test_countdown_verifier.py (``99**98**97``, 10^6-digit literals, 10^5 nested
parentheses, tag floods, random text).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from harness.countdown import REASONS, check_countdown, tinyzero_reward  # noqa: E402
from tests.test_countdown_verifier import hostile_completions  # noqa: E402

LIMIT_S = 1.0


def main(n: int, rule: str = "default") -> int:
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
    return 0 if max(times) < LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, sys.argv[2] if len(sys.argv) > 2 else "default"))
