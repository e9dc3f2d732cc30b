"""``-T reward=tinyzero``: TinyZero's compute_score verdicts, reproduced without eval.

The agreement test writes its own answers (random equations over each instance's numbers,
wrapped the ways models and TinyZero's prompt produce them) and scores each one twice:
with :func:`harness.benchmarks.countdown.tinyzero_reward`, and with a reference transcription of
TinyZero's reward in this file, which calls ``eval``. That is safe only because every
string it evaluates was generated here (marked ``# trusted: test-generated``); the
generator never emits a power whose exponent is not a single literal, so nothing hangs.
"""

from __future__ import annotations

import random
import re
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.benchmarks.countdown import (
    REASONS,
    TINYZERO_FORMAT_SCORE,
    TZ_MAX_BITS,
    check_countdown,
    generate_instances,
    tinyzero_answer,
    tinyzero_reward,
)
from tests.test_countdown_verifier import hostile_completions

N_PAIRS = 1_500
"""Generated (answer, instance) pairs in the agreement test (the issue asks for >= 1,000)."""

TINYZERO_PROMPT_END = "Assistant: Let me solve this step by step.\n<think>"
"""How TinyZero's base prompt ends; its reward sees prompt + completion."""


# ---------------------------------------------------------------- the reference (uses eval)


def reference_compute_score(solution_str: str, target: int, numbers: list[int]) -> float:
    """TinyZero's compute_score(solution_str, {"target", "numbers"}), transcribed step by step."""
    # extract_solution
    if "Assistant:" in solution_str:
        solution_str = solution_str.split("Assistant:", 1)[1]
    elif "<|im_start|>assistant" in solution_str:
        solution_str = solution_str.split("<|im_start|>assistant", 1)[1]
    else:
        return 0
    last_line = solution_str.split("\n")[-1]
    found = list(re.finditer(r"<answer>(.*?)</answer>", last_line))
    if not found:
        return 0
    equation = found[-1].group(1).strip()
    # validate_equation
    try:
        ok = sorted(int(n) for n in re.findall(r"\d+", equation)) == sorted(numbers)
    except Exception:
        ok = False
    if not ok:
        return 0.1
    # evaluate_equation
    try:
        if not re.match(r"^[\d+\-*/().\s]+$", equation):
            raise ValueError("Invalid characters in equation.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "3()"
            result = eval(equation, {"__builtins__": None}, {})  # trusted: test-generated
    except Exception:
        result = None
    try:
        if result is None:
            return 0.1
        return 1.0 if abs(result - target) < 1e-5 else 0.1
    except Exception:
        return 0.1


# ---------------------------------------------------------------- the generator

_OPS = ["+", "-", "*", "/", "//", "**"]
_BLANKS = [" ", "", "", "  ", "\t"]
_ODD_TOKENS = ["...", "()", "٣", "0", "1", ".", "e", "%", "=", "×", "−", "\r", "\x0c", "\u00a0"]


def _equation(rng: random.Random, nums: list[int]) -> str:
    """A random equation over (mostly) the given numbers: any of + - * / // **, floats,
    unary signs, leading zeros, odd tokens. A power's exponent is always one literal."""
    leaves = [str(x) for x in nums]
    if rng.random() < 0.1 and leaves:
        leaves.pop(rng.randrange(len(leaves)))  # a number left out
    if rng.random() < 0.1:
        leaves.append(str(rng.choice(nums or [7])))  # a number used twice
    if rng.random() < 0.05:
        leaves.append(str(rng.randint(0, 20)))  # another literal
    if rng.random() < 0.1 and len(leaves) >= 2:  # two numbers written as a decimal, e.g. 2.5
        a, b = leaves.pop(), leaves.pop()
        leaves.append(f"{a}.{b}")
    if rng.random() < 0.05 and leaves:
        leaves[0] = "0" + leaves[0]  # leading zero: eval refuses 07
    rng.shuffle(leaves)
    items = [(leaf, True) for leaf in leaves] or [("", True)]  # (text, is a literal)
    powers = 0
    while len(items) > 1:
        i = rng.randrange(len(items) - 1)
        (a, a_leaf), (b, b_leaf) = items[i], items[i + 1]
        op = rng.choice(_OPS)
        if op == "**" and (not b_leaf or powers >= 2):
            op = rng.choice(_OPS[:5])
        powers += op == "**"
        if op == "**" and not a_leaf:
            a = f"({a})"  # never a**b**c: that would be a**(b**c)
        sp = rng.choice(_BLANKS)
        text = f"{a}{sp}{op}{sp}{b}"
        if op != "**" and rng.random() < 0.7:
            text = f"({text})"
        items[i : i + 2] = [(text, False)]
    expr = items[0][0]
    r = rng.random()
    if r < 0.08:
        expr = "-" + expr
    elif r < 0.12:
        expr = "+ " + expr
    elif r < 0.15:
        expr = "- -" + expr
    if rng.random() < 0.08:
        pos = rng.randrange(len(expr) + 1)
        expr = expr[:pos] + rng.choice(_ODD_TOKENS) + expr[pos:]
    return expr


def _wrap(rng: random.Random, expr: str, target: int) -> str:
    """The equation inside a completion, written in one of the ways models write it."""
    pad = rng.choice(["", " ", "  "])
    block = f"<answer>{pad}{expr}{pad}</answer>"
    thinking = "Let me try a few combinations.\n" + rng.choice(["", "<think>trying</think>\n", "Step 1: ...\n\n"])
    forms = [
        block,
        thinking + block,
        thinking + block + "\n",  # trailing newline: the last line is empty
        thinking + block + " That is my answer.",  # text after, same line
        thinking + block + "\n\nThat is my answer.",  # text after, next line
        thinking + f"<answer>\n{expr}\n</answer>",  # multi-line block
        thinking + f"<answer>{expr} = {target}</answer>",
        thinking + f"<answer>1 + 1</answer> no wait <answer>{expr}</answer>",  # last block wins
        thinking + f"<answer>{expr}</answer> no wait <answer>1 + 1</answer>",
        thinking + f"<answer><answer>{expr}</answer>",  # nested opening tag
        thinking + f"<answer>{expr}",  # unclosed
        thinking + f"<ANSWER>{expr}</ANSWER>",  # TinyZero's tags are case-sensitive
        thinking + f"Assistant: <answer>{expr}</answer>",  # a marker inside the completion
        thinking + f"<answer>{expr}</answer>\r\n",
        f"<answer>{expr}</answer>".replace("*", "×"),
    ]
    weights = [6, 10, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    return rng.choices(forms, weights=weights)[0]


def generated_pairs(n: int, seed: int) -> list[tuple[str, list[int], int]]:
    """``n`` (completion, nums, target) triples: half on known-solvable instances with their
    solution (possibly reshuffled), half random equations whose target is often the
    equation's own rounded value (so float near-misses and exact hits both occur)."""
    rng = random.Random(seed)
    instances = generate_instances(64, seed)
    out: list[tuple[str, list[int], int]] = []
    while len(out) < n:
        inst = rng.choice(instances)
        nums, target = list(inst.nums), inst.target
        if rng.random() < 0.35:
            expr = inst.solution
        else:
            if rng.random() < 0.3:
                nums = [rng.randint(0, 100) for _ in range(rng.randint(1, 5))]
            expr = _equation(rng, nums)
            if rng.random() < 0.5:
                value = _trusted_value(expr)
                if isinstance(value, (int, float)) and abs(value) < 1e9:
                    target = round(value)
        out.append((_wrap(rng, expr, target), nums, target))
    return out


def _trusted_value(expr: str) -> object:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(expr, {"__builtins__": None}, {})  # trusted: test-generated
    except Exception:
        return None


# ---------------------------------------------------------------- agreement


def test_agrees_with_tinyzero_on_generated_pairs() -> None:
    pairs = generated_pairs(N_PAIRS, seed=16)
    assert len(pairs) >= 1_000
    rewards: Counter[float] = Counter()
    reasons: Counter[str] = Counter()
    near_misses = 0
    for completion, nums, target in pairs:
        expected = reference_compute_score(TINYZERO_PROMPT_END + completion, target, nums)
        verdict = tinyzero_reward(completion, nums, target)
        assert verdict.reward == expected, (completion, nums, target, verdict)
        assert verdict.reason in REASONS and verdict.correct == (expected == 1.0)
        rewards[expected] += 1
        reasons[verdict.reason] += 1
        if verdict.correct and not check_countdown(completion, nums, target).correct:
            near_misses += 1
    # the generated set exercises every outcome, not only the easy ones
    assert rewards[1.0] >= 200 and rewards[TINYZERO_FORMAT_SCORE] >= 200 and rewards[0] >= 200, rewards
    assert {"correct", "no_answer", "wrong_numbers", "bad_syntax", "div_by_zero", "wrong_value"} <= set(reasons), reasons
    assert near_misses >= 20  # TinyZero accepts what the default rule refuses (formats, floats, **)


def test_agrees_on_the_im_start_template_too() -> None:
    qwen_prompt_end = "<|im_start|>assistant\nLet me solve this step by step.\n<think>"
    for completion, nums, target in generated_pairs(200, seed=3):
        expected = reference_compute_score(qwen_prompt_end + completion, target, nums)
        assert tinyzero_reward(completion, nums, target).reward == expected, completion


# ---------------------------------------------------------------- chosen cases

FORMATS = {
    "text after </answer>": "<answer>(1 + 2) * 8</answer>\nThat makes 24.",
    "= target": "<answer>(1 + 2) * 8 = 24</answer>",
    "multi-line block": "<answer>\n(1 + 2) * 8\n</answer>",
    "× for *": "<answer>(1 + 2) × 8</answer>",
}
"""Common chat answers: right under the default rule, never under TinyZero's."""


@pytest.mark.parametrize("label", list(FORMATS))
def test_chat_formats_differ_between_the_rules(label: str) -> None:
    completion = FORMATS[label]
    assert check_countdown(completion, [1, 2, 8], 24).correct
    verdict = tinyzero_reward(completion, [1, 2, 8], 24)
    assert not verdict.correct
    assert verdict.reward == reference_compute_score(TINYZERO_PROMPT_END + completion, 24, [1, 2, 8])


def test_tinyzero_accepts_what_the_default_rule_refuses() -> None:
    cases = [
        ("<answer>2 ** 3 * 3</answer>", [2, 3, 3], 24),  # ** accepted
        ("<answer>(99 // 4) - 1</answer>", [99, 4, 1], 23),  # // accepted
        ("<answer>+(3 * 8)</answer>", [3, 8], 24),  # unary plus
        ("<answer>1 ** (99 ** 98)</answer>", [1, 99, 98], 1),  # huge exponent, base 1: computed
        ("<answer>24 + 1 / (99 * 99 * 99)</answer>", [24, 1, 99, 99, 99], 24),  # within 1e-5, not equal
        ("<answer>64 ** (1 / 3)</answer>", [64, 1, 3], 4),  # 3.9999999999999996
    ]
    for completion, nums, target in cases:
        assert tinyzero_reward(completion, nums, target).reward == 1.0, completion
        assert reference_compute_score(TINYZERO_PROMPT_END + completion, target, nums) == 1.0
        assert not check_countdown(completion, nums, target).correct


def test_where_eval_would_hang_the_format_score_is_given_fast() -> None:
    for equation, nums in [("99**98**97", [99, 98, 97]), ("2**(99**98)", [2, 99, 98]), ("99 ** 97 ** 98 // 1", [99, 97, 98, 1])]:
        start = time.perf_counter()
        verdict = tinyzero_reward(f"<answer>{equation}</answer>", nums, 24)
        assert time.perf_counter() - start < 0.5
        assert (verdict.reward, verdict.reason) == (TINYZERO_FORMAT_SCORE, "too_large"), verdict
    # the largest 3-number tower (99**9801, 65k bits) is still computed, as eval would
    assert (99 * 99).bit_length() * 7 < TZ_MAX_BITS
    completion = "<answer>(99 ** 99) ** 99 // 99 ** 99 ** 1 - 1</answer>"
    verdict = tinyzero_reward(completion, [99, 99, 99, 99, 99, 1, 1], 24)
    assert (verdict.reason, verdict.value) == ("wrong_value", "an integer of 64319 bits")
    assert reference_compute_score(TINYZERO_PROMPT_END + completion, 24, [99, 99, 99, 99, 99, 1, 1]) == 0.1


def test_extraction_is_linear_on_tag_floods() -> None:
    for text in ["<answer>" * 200_000, "<answer>" * 200_000 + "1</answer>", "</answer>" * 200_000, "x" * 2_000_000]:
        start = time.perf_counter()
        tinyzero_answer(text)
        assert time.perf_counter() - start < 1.0
    assert tinyzero_answer("<answer>" * 1000 + "7</answer>") == "<answer>" * 999 + "7"


WORST = [
    "9" * 1_000_000,
    "(" * 100_000 + "1" + ")" * 100_000,
    "-" * 100_000 + "1 + 2",
    "- " * 20_000 + "1 + 2",
    "1" + "+..." * 20_000 + "+2",
    "1 +" + " " * 1_000_000 + "2",
    "1" + "**1" * 20_000 + "+2",
    "2**2**2**2**2**2**2 + 1",
    "(1.5 ** 99) ** 99 ** 99",
    "1 / 0 + 2",
    "(-8) ** (1 / 3) + 2",
]


EVAL_SAFE = {"1 / 0 + 2", "(-8) ** (1 / 3) + 2"}
"""The WORST bodies the reference may eval (the others take eval minutes to forever)."""


def _bounded(completion: str, nums: list[int], target: int):
    start = time.thread_time()
    verdict = tinyzero_reward(completion, nums, target)
    assert time.thread_time() - start < 1.0, completion[:40]
    assert verdict.reason in REASONS and verdict.reward in (0.0, TINYZERO_FORMAT_SCORE, 1.0)
    return verdict


def test_worst_case_equations_stay_fast() -> None:
    for body in WORST:
        for wrap in ("<answer>{}</answer>", "<answer> {} </answer> x", "<answer>{}"):
            completion = wrap.replace("{}", body)
            nums = [int(r) for r in re.findall(r"\d+", body) if len(r) < 20][:50]  # pass the number check if possible
            verdict = _bounded(completion, nums, 3)
            if body in EVAL_SAFE:
                assert verdict.reward == reference_compute_score(TINYZERO_PROMPT_END + completion, 3, nums), body


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(completion=hostile_completions(), nums=st.lists(st.integers(0, 10**6), max_size=5), target=st.integers(-10**6, 10**6))
def test_hostile_inputs_never_crash_and_stay_fast(completion: str, nums: list[int], target: int) -> None:
    _bounded(completion, nums, target)


# ---------------------------------------------------------------- the task flag, end to end

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS_DATA = FIXTURES / "countdown_formats.jsonl"
FORMATS_SCRIPT = FIXTURES / "countdown_formats_script.jsonl"
"""Four instances and a scripted TEST DOUBLE answering each right, in one of the four formats."""


def _results(log) -> dict[str, float]:
    return {name: m.value for s in log.results.scores for name, m in s.metrics.items()}


def test_both_rules_on_the_same_answers(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from tasks.countdown import countdown

    logs = inspect_eval(
        [countdown(data=str(FORMATS_DATA)), countdown(data=str(FORMATS_DATA), reward="tinyzero")],
        model="testdouble/script",
        model_args={"script": str(FORMATS_SCRIPT)},
        log_dir=str(tmp_path),
        display="none",
    )
    default, tinyzero = sorted(logs, key=lambda log: log.eval.task_args.get("reward", "default"))
    assert [log.status for log in (default, tinyzero)] == ["success", "success"]
    assert _results(default)["accuracy"] == 1.0
    assert _results(tinyzero) == pytest.approx({"accuracy": 0.0, "stderr": 0.0, "mean_reward": 0.05})
    assert tinyzero.eval.metadata["reward"] == "tinyzero"
    reasons = sorted(s.scores["countdown_tinyzero"].metadata["reason"] for s in tinyzero.samples)
    assert reasons == ["bad_syntax", "no_answer", "no_answer", "wrong_numbers"]


def test_unknown_reward_is_one_clear_error() -> None:
    from inspect_ai._util.error import PrerequisiteError

    from tasks.countdown import countdown

    with pytest.raises(PrerequisiteError, match="reward must be one of default, tinyzero, not 'strict'"):
        countdown(reward="strict", n=2)
