"""Countdown verifier (labelled corpus, hostile inputs), search and generator."""

from __future__ import annotations

import json
import os
import random
import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.benchmarks.countdown import (
    MAX_BITS,
    REASONS,
    check_countdown,
    check_expression,
    generate_instances,
    integer_solutions,
    last_answer,
    solve,
)

FUZZ_EXAMPLES = int(os.environ.get("COUNTDOWN_FUZZ_EXAMPLES", "300"))
"""Hypothesis examples per property; ``COUNTDOWN_FUZZ_EXAMPLES=10000`` for the full run."""

N4 = [51, 33, 75, 48]  # target 64: 75 - 33 / (51 - 48) = 64

# (completion, nums, target, correct, reason): the labelled corpus
CASES: list[tuple[str, list[int], int, bool, str]] = [
    # extraction
    ("<answer>75 - 33 / (51 - 48)</answer>", N4, 64, True, "correct"),
    ("Let me think.\n<answer> 75 - 33 / (51 - 48) </answer>\n\nDone.", N4, 64, True, "correct"),  # text after
    ("<ANSWER>75 - 33 / (51 - 48)</Answer>", N4, 64, True, "correct"),  # tag case
    ("<answer>1+1</answer> then <answer>75 - 33 / (51 - 48)</answer>", N4, 64, True, "correct"),  # last wins
    ("<answer>75 - 33 / (51 - 48)</answer> ... <answer>75+33+51+48</answer>", N4, 64, False, "wrong_value"),
    ("no tags: 75 - 33 / (51 - 48) = 64", N4, 64, False, "no_answer"),
    ("<answer>75 - 33 / (51 - 48)", N4, 64, False, "no_answer"),  # unterminated
    ("75 - 33 / (51 - 48)</answer>", N4, 64, False, "no_answer"),
    ("<answer></answer>", N4, 64, False, "bad_syntax"),
    ("<answer>\n75 - 33\n / (51 - 48)\n</answer>", N4, 64, True, "correct"),  # newlines inside
    ("<think><answer>x</answer></think><answer>75-33/(51-48)</answer>", N4, 64, True, "correct"),
    # a completion without any "Assistant:" marker is fine (TinyZero scores it 0)
    ("Assistant: <answer>75 - 33 / (51 - 48)</answer>", N4, 64, True, "correct"),
    # exact arithmetic
    ("<answer>(1 + 2) / 3</answer>", [1, 2, 3], 1, True, "correct"),
    ("<answer>7 / 2</answer>", [7, 2], 3, False, "wrong_value"),  # no truncation to int
    ("<answer>(10 / 3) * 3</answer>", [10, 3, 3], 10, True, "correct"),  # exact, no float error
    ("<answer>1 / 3 + 1 / 3 + 1 / 3</answer>", [1, 3, 1, 3, 1, 3], 1, True, "correct"),
    ("<answer>(6 / (1 - 3 / 4))</answer>", [6, 1, 3, 4], 24, True, "correct"),
    ("<answer>8 / (3 - 8 / 3)</answer>", [8, 3, 8, 3], 24, True, "correct"),
    # numbers used
    ("<answer>75 - 33 / (51 - 48) + 0</answer>", N4, 64, False, "wrong_numbers"),  # extra literal
    ("<answer>75 - 33 / (51 - 48) * 1</answer>", N4, 64, False, "wrong_numbers"),
    ("<answer>75 - 33 - 51 + 48 + 25</answer>", N4, 64, False, "wrong_numbers"),
    ("<answer>75 + 33 - 51</answer>", N4, 57, False, "wrong_numbers"),  # one unused
    ("<answer>5 + 5</answer>", [5, 3], 10, False, "wrong_numbers"),  # reuse (multiset, not set)
    ("<answer>5 + 5 + 3</answer>", [5, 5, 3], 13, True, "correct"),  # duplicates given: both used
    ("<answer>5 + 3</answer>", [5, 5, 3], 8, False, "wrong_numbers"),
    ("<answer>4 * 6</answer>", [46], 24, False, "wrong_numbers"),  # digits split
    ("<answer>46</answer>", [4, 6], 46, False, "wrong_numbers"),  # digits glued
    # operators and syntax
    ("<answer>99**98**97</answer>", [97, 98, 99], 1, False, "bad_syntax"),
    ("<answer>2 ** 3</answer>", [2, 3], 8, False, "bad_syntax"),
    ("<answer>7 // 2 + 5</answer>", [7, 2, 5], 8, False, "bad_syntax"),
    ("<answer>7 % 2</answer>", [7, 2], 1, False, "bad_syntax"),
    ("<answer>2 ^ 3</answer>", [2, 3], 8, False, "bad_syntax"),
    ("<answer>-3 + 5</answer>", [3, 5], 2, True, "correct"),  # unary minus allowed
    ("<answer>-(3 - 5)</answer>", [3, 5], 2, True, "correct"),
    ("<answer>+3 + 5</answer>", [3, 5], 8, False, "bad_syntax"),  # unary plus is not
    ("<answer>--3 + 5</answer>", [3, 5], 8, True, "correct"),
    ("<answer>2.5 * 2</answer>", [2, 5, 2], 5, False, "bad_syntax"),  # decimals
    ("<answer>0x10</answer>", [16], 16, False, "bad_syntax"),
    ("<answer>1_0 + 2</answer>", [10, 2], 12, False, "bad_syntax"),
    ("<answer>__import__('os')</answer>", [1], 1, False, "bad_syntax"),
    ("<answer>(1, 2)</answer>", [1, 2], 3, False, "bad_syntax"),
    ("<answer>(1 + 2)(3)</answer>", [1, 2, 3], 9, False, "bad_syntax"),  # implicit product
    ("<answer>1 2 + 3</answer>", [1, 2, 3], 6, False, "bad_syntax"),
    ("<answer>(1 + 2</answer>", [1, 2], 3, False, "bad_syntax"),
    ("<answer>1 + 2)</answer>", [1, 2], 3, False, "bad_syntax"),
    ("<answer>()</answer>", [], 0, False, "bad_syntax"),
    ("<answer>007 + 1</answer>", [7, 1], 8, False, "bad_syntax"),  # leading zeros (ambiguous)
    ("<answer>$75 - 33 / (51 - 48)$</answer>", N4, 64, False, "bad_syntax"),
    ("<answer>75 - 33 \\div (51 - 48)</answer>", N4, 64, False, "bad_syntax"),
    ("<answer>١ + ٢</answer>", [1, 2], 3, False, "bad_syntax"),  # non-ASCII digits
    # Unicode operators
    ("<answer>75 − 33 ÷ (51 − 48)</answer>", N4, 64, True, "correct"),
    ("<answer>(3 × 8) + 1 - 1</answer>", [3, 8, 1, 1], 24, True, "correct"),
    # "= target"
    ("<answer>75 - 33 / (51 - 48) = 64</answer>", N4, 64, True, "correct"),
    ("<answer>75 - 33 / (51 - 48) = 65</answer>", N4, 64, False, "wrong_value"),
    ("<answer>75 + 33 - 51 - 48 = 64</answer>", N4, 64, False, "wrong_value"),  # true value is 9
    ("<answer>64 = 75 - 33 / (51 - 48)</answer>", N4, 64, False, "bad_syntax"),
    ("<answer>1 + 2 = 3 = 3</answer>", [1, 2], 3, False, "bad_syntax"),
    ("<answer>1 - 4 = -\r\u2003 3</answer>", [1, 4], -3, True, "correct"),  # odd whitespace in the claim
    ("<answer>1 + 2 = ٣</answer>", [1, 2], 3, False, "bad_syntax"),
    ("<answer>1 + 2 == 3</answer>", [1, 2], 3, False, "bad_syntax"),
    # division by zero
    ("<answer>5 / (3 - 3)</answer>", [5, 3, 3], 0, False, "div_by_zero"),
    ("<answer>(5 - 5) / (3 - 3) + 1</answer>", [5, 5, 3, 3, 1], 1, False, "div_by_zero"),
    ("<answer>0 / 5</answer>", [0, 5], 0, True, "correct"),
    # bounds
    ("<answer>" + "9" * 1_000_000 + "</answer>", [9], 9, False, "too_large"),
    ("<answer>" + "9" * 40 + "</answer>", [int("9" * 40)], int("9" * 40), False, "too_large"),
    ("<answer>" + "(" * 40 + "1" + ")" * 40 + "</answer>", [1], 1, False, "too_large"),
    ("<answer>" + "(" * 20 + "1" + ")" * 20 + "</answer>", [1], 1, True, "correct"),
    ("<answer>" + "-" * 40 + "1</answer>", [1], 1, False, "too_large"),
    ("<answer>" + "+".join(["1"] * 70) + "</answer>", [1] * 70, 70, False, "too_large"),
    ("<answer>" + "*".join([str(2**100)] * 6) + "</answer>", [2**100] * 6, 1, False, "too_large"),  # 600 bits
    ("<answer>" + " " * 100_000 + "1 </answer>", [1], 1, True, "correct"),  # padding is trimmed first
    ("<answer>" + "1 + " * 64 + "1</answer>", [1] * 65, 65, False, "too_large"),
]


@pytest.mark.parametrize(
    "completion,nums,target,correct,reason", CASES, ids=[f"{i}-{c[4]}" for i, c in enumerate(CASES)]
)
def test_labelled_corpus(completion: str, nums: list[int], target: int, correct: bool, reason: str) -> None:
    verdict = check_countdown(completion, nums, target)
    assert (verdict.correct, verdict.reason) == (correct, reason), verdict
    assert verdict.reason in REASONS


def test_detail_names_the_rule() -> None:
    assert "Pow" in check_countdown("<answer>99**98**97</answer>", [97, 98, 99], 1).detail
    assert "nested" in check_countdown("<answer>" + "(" * 40 + "1" + ")" * 40 + "</answer>", [1], 1).detail
    assert "digits" in check_countdown("<answer>" + "9" * 40 + "</answer>", [1], 1).detail
    assert "256" in check_countdown("<answer>" + "1+" * 200 + "1</answer>", [1], 1).detail


def test_value_is_exact_and_reported() -> None:
    verdict = check_countdown("<answer>7 / 2</answer>", [7, 2], 3)
    assert verdict.value == "7/2" and verdict.answer == "7 / 2"


def test_last_answer_is_linear_on_many_open_tags() -> None:
    text = "<answer>" * 200_000 + "1</answer>"
    start = time.perf_counter()
    assert last_answer(text) == "1"
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------- hostile inputs

_TOKENS = st.sampled_from(
    ["<answer>", "</answer>", "(", ")", "+", "-", "*", "/", "**", "//", "=", " ", "\n", "%", ".",
     "0", "1", "9", "99", "97", "98", "1" * 50, "x", "e", "j", "_", "\\", "×", "÷", "−", "٣", "True",
     "\r", "\t", "\u2003", "\x0b", "\x00", "= 1", "=-\r1", "==", "<", ">", "/answer", "<answer >"]
)
_HOSTILE_FIXED = st.sampled_from(
    [
        "99**98**97",
        "9" * 1_000_000,
        "(" * 100_000 + "1" + ")" * 100_000,
        "-" * 100_000 + "1",
        "1" + "*1" * 100_000,
        "((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))",
        "2**2**2**2**2**2**2",
        "1/" * 100 + "0",
        "(1e308 * 1e308)",
        "lambda: 1",
        "[1] * 10**9",
    ]
)


@st.composite
def hostile_completions(draw: st.DrawFn) -> str:
    body = draw(st.one_of(st.lists(_TOKENS, max_size=80).map("".join), _HOSTILE_FIXED, st.text(max_size=200)))
    wrap = draw(st.sampled_from(["{}", "<answer>{}</answer>", "x <answer> {} </answer> y", "<answer>{}"]))
    return wrap.replace("{}", body)


@settings(max_examples=FUZZ_EXAMPLES, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(completion=hostile_completions(), nums=st.lists(st.integers(0, 10**6), max_size=5), target=st.integers(-10**6, 10**6))
def test_hostile_inputs_never_crash_and_stay_fast(completion: str, nums: list[int], target: int) -> None:
    start = time.perf_counter()
    verdict = check_countdown(completion, nums, target)
    assert time.perf_counter() - start < 1.0
    assert verdict.reason in REASONS
    assert verdict.correct == (verdict.reason == "correct")


# ---------------------------------------------------------------- agreement with an independent evaluator


@st.composite
def expression_trees(draw: st.DrawFn) -> tuple[str, list[int], Fraction | None]:
    """A random expression over random numbers, rendered with its exact value (None: /0)."""
    k = draw(st.integers(1, 4))
    leaves: list[tuple[str, Fraction | None]] = []
    nums = draw(st.lists(st.integers(0, 100), min_size=k, max_size=k))
    for x in nums:
        leaves.append((str(x), Fraction(x)))
    while len(leaves) > 1:
        i = draw(st.integers(0, len(leaves) - 2))
        (ea, va), (eb, vb) = leaves[i], leaves[i + 1]
        op = draw(st.sampled_from("+-*/"))
        if va is None or vb is None:
            v = None
        elif op == "/":
            v = None if vb == 0 else va / vb
        else:
            v = {"+": va + vb, "-": va - vb, "*": va * vb}[op]
        leaves[i : i + 2] = [(f"({ea} {op} {eb})", v)]
    expr, value = leaves[0]
    if draw(st.booleans()) and value is not None:
        expr, value = f"-{expr}", -value
    return expr, nums, value


@settings(max_examples=FUZZ_EXAMPLES, deadline=1000)
@given(tree=expression_trees(), shuffle=st.randoms(use_true_random=False), offset=st.sampled_from([0, 0, 1]))
def test_agrees_with_exact_evaluation(tree: tuple[str, list[int], Fraction | None], shuffle: random.Random, offset: int) -> None:
    expr, nums, value = tree
    given_nums = nums[:]
    shuffle.shuffle(given_nums)  # order of the given numbers does not matter
    if value is None:
        assert check_expression(expr, given_nums, 0).reason == "div_by_zero"
        return
    target = int(value) + offset if value.denominator == 1 else int(value)
    verdict = check_expression(expr, given_nums, target)
    assert verdict.correct == (value == target)
    assert verdict.value == str(value)


def test_huge_intermediate_values_are_refused() -> None:
    big = 2 ** (MAX_BITS // 4)
    verdict = check_expression(" * ".join([str(big)] * 5), [big] * 5, 1)
    assert verdict.reason == "too_large"


# ---------------------------------------------------------------- search and generator


def test_solve_finds_known_solutions_and_refuses_impossible() -> None:
    sol = solve(N4, 64)
    assert sol is not None and check_countdown(f"<answer>{sol}</answer>", N4, 64).correct
    assert solve([8, 3, 8, 3], 24) is not None  # needs fractions: 8 / (3 - 8/3)
    assert solve([1, 1, 1, 1], 97) is None
    assert solve([2, 3], 7) is None


def test_integer_solutions_are_exact() -> None:
    found = integer_solutions([2, 3, 7], 1, 100)
    assert {13, 23, 42, 35} <= set(found)  # 2*3+7, 3*7+2, 2*3*7, (2+3)*7
    assert 1 not in found or check_expression(found[1], [2, 3, 7], 1).correct
    for target, expr in found.items():
        assert check_expression(expr, [2, 3, 7], target).correct


def test_generator_is_seeded_solvable_and_in_range() -> None:
    a = generate_instances(200, seed=7)
    assert a == generate_instances(200, seed=7)
    assert a != generate_instances(200, seed=8)
    assert len({(i.nums, i.target) for i in a}) == 200
    assert {len(i.nums) for i in a} == {3, 4}
    for inst in a:
        assert all(1 <= x <= 99 for x in inst.nums) and 10 <= inst.target <= 100
        assert check_countdown(f"<answer>{inst.solution}</answer>", inst.nums, inst.target).correct


def test_generator_first_instances_are_a_prefix() -> None:
    # n only decides where the same stream stops
    assert generate_instances(5, seed=3) == generate_instances(20, seed=3)[:5]


@pytest.mark.shared_data
def test_solver_on_real_sample(shared_data) -> None:
    rows = [json.loads(line) for line in (shared_data / "countdown_sample.jsonl").read_text().splitlines()[:200]]
    solved = 0
    for r in rows:
        sol = solve(r["nums"], r["target"])
        if sol is not None:
            solved += 1
            assert check_countdown(f"<answer>{sol}</answer>", r["nums"], r["target"]).correct
    assert solved == len(rows)  # Countdown-Tasks-3to4 rows are built solvable
