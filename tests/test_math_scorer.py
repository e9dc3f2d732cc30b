"""The math answer scorer: extraction, integer comparison, symbolic fallback, hostile input."""

from __future__ import annotations

import time

import pytest

from harness.answers import extract_answer, normalize_integer, sole_integer
from scorers.math import check_math_answer

# (completion, gold, expected value, expected reason)
CASES = [
    # boxed, with the usual decorations
    ("So the walk takes $\\boxed{204}$ minutes.", "204", "C", "correct"),
    ("\\boxed{033}", "33", "C", "correct"),
    ("The answer is \\boxed{33.0}", "33", "C", "correct"),
    ("\\boxed{\\text{33}}", "33", "C", "correct"),
    ("\\boxed{\\textbf{33}}", "33", "C", "correct"),
    ("\\boxed{33^\\circ}", "33", "C", "correct"),
    ("\\boxed{33^{\\circ}}", "33", "C", "correct"),
    ("\\boxed{\\$33}", "33", "C", "correct"),
    ("\\boxed{25\\%}", "25", "C", "correct"),
    ("\\boxed{1{,}000}", "1000", "C", "correct"),
    ("\\boxed{1,000}", "1000", "C", "correct"),
    ("\\boxed{ 025 }", "25", "C", "correct"),
    ("\\boxed{m+n=33}", "33", "C", "correct"),
    ("\\boxed{204 \\text{ minutes}}", "204", "C", "correct"),
    ("\\fbox{113}", "113", "C", "correct"),
    ("$$\n\\boxed{70}\n$$", "70", "C", "correct"),
    ("**Final Answer**\n\\[\n\\boxed{371}\n\\]", "371", "C", "correct"),
    # the last box wins; unterminated or empty boxes are skipped
    ("first \\boxed{12} then corrected: \\boxed{13}", "13", "C", "correct"),
    ("first \\boxed{12} then corrected: \\boxed{13}", "12", "I", "wrong_answer"),
    ("\\boxed{385} and a truncated \\boxed{38", "385", "C", "correct"),
    ("\\boxed{} but earlier \\boxed{110}", "110", "C", "correct"),
    ("nested \\boxed{\\boxed{42}}", "42", "C", "correct"),
    ("<think>maybe \\boxed{5}</think> Final: \\boxed{6}", "6", "C", "correct"),
    # ANSWER: lines
    ("Work...\nANSWER: 204", "204", "C", "correct"),
    ("Work...\nAnswer: $204$", "204", "C", "correct"),
    ("Work...\n**Answer:** 204", "204", "C", "correct"),
    ("Work...\n**Final Answer:** 204.", "204", "C", "correct"),
    ("Final Answer: The final answer is $204$. I hope it is correct.", "204", "C", "correct"),
    ("ANSWER: 17\nWait, recheck.\nANSWER: 18", "18", "C", "correct"),
    ("Answer：88", "88", "C", "correct"),
    ("ANSWER: 33 minutes", "33", "C", "correct"),
    # <answer> tags
    ("<answer>70</answer>", "70", "C", "correct"),
    ("<answer>\\boxed{70}</answer>", "70", "C", "correct"),
    ("<answer>71</answer> ... <answer>70</answer>", "70", "C", "correct"),
    # wrong and missing answers
    ("\\boxed{204}", "205", "I", "wrong_answer"),
    ("\\boxed{204.5}", "204", "I", "wrong_answer"),
    ("\\boxed{\\sqrt{2}}", "2", "I", "wrong_answer"),
    ("\\boxed{3\\sqrt{2}}", "3", "I", "wrong_answer"),
    ("\\boxed{204, 205}", "204", "I", "wrong_answer"),
    ("The answer is 204.", "204", "I", "no_answer"),
    ("", "204", "I", "no_answer"),
    ("I could not solve it.", "1", "I", "no_answer"),
    # symbolic comparison (non-integer gold, or a non-integer form of an integer)
    ("\\boxed{\\frac{1}{2}}", "0.5", "C", "correct"),
    ("\\boxed{0.5}", "\\frac{1}{2}", "C", "correct"),
    ("\\boxed{\\dfrac{408}{2}}", "204", "C", "correct"),
    ("\\boxed{2^{10}}", "1024", "C", "correct"),
    ("\\boxed{\\frac{1}{3}}", "\\frac{1}{2}", "I", "wrong_answer"),
    ("ANSWER: $\\frac{\\sqrt{3}}{2}$", "\\frac{\\sqrt{3}}{2}", "C", "correct"),
]


@pytest.mark.parametrize("completion,gold,value,reason", CASES)
def test_labelled_completions(completion: str, gold: str, value: str, reason: str) -> None:
    score = check_math_answer(completion, gold)
    assert score.value == value, (completion, gold, score)
    assert score.metadata["reason"] == reason


def test_extracted_answer_and_method_recorded() -> None:
    score = check_math_answer("blah\n**Answer:** 204", "204")
    assert score.answer == "204"
    assert score.metadata["method"] == "answer_line"
    assert extract_answer("x \\boxed{7} <answer>9</answer>").method == "boxed"


def test_normalize_integer_forms() -> None:
    assert normalize_integer("$033$") == 33
    assert normalize_integer("\\(33\\)") == 33
    assert normalize_integer("x = 33") == 33
    assert normalize_integer("33.5") is None
    assert normalize_integer("abc") is None
    assert sole_integer("33 (meters)") == 33
    assert sole_integer("2^{10}") is None
    assert sole_integer("between 3 and 4") is None


HOSTILE = [
    "x" * 100_000,
    "x" * 100_000 + "\\boxed{" * 5000,
    "{" * 50_000 + "\\boxed{1}" + "}" * 50_000,
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "\\boxed{" * 20_000,
    "\\boxed{9^{9^{9^{9^{9^{9}}}}}}",
    "\\boxed{" + "\\frac{1}{" * 200 + "2" + "}" * 200 + "}",
    "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",
    "\\boxed{10^{10^{10^{10}}}!}",
    "ANSWER: " + "1" * 100_000,
    "ANSWER: " + "1" * 500 + ".0",
    "\\boxed{" + "9" * 5000 + "}",
    "ANSWER: " + "*" * 100_000,
    "<answer>" * 30_000 + "</answer>",
    "\n" * 100_000 + "Answer:",
    "\\boxed{\\begin{pmatrix}" + "1&" * 2000 + "1\\end{pmatrix}}",
    "\\boxed{" + "x^" * 2000 + "2}",
]


@pytest.mark.parametrize("completion", HOSTILE)
@pytest.mark.parametrize("gold", ["33", "\\frac{1}{2}"])
def test_hostile_completions_are_bounded(completion: str, gold: str) -> None:
    check_math_answer("\\boxed{\\frac{1}{2}}", "0.5")  # warm the worker outside the timing
    start = time.perf_counter()
    score = check_math_answer(completion, gold)
    elapsed = time.perf_counter() - start
    assert score.value == "I"
    assert elapsed < 1.0, f"{elapsed:.2f}s for {completion[:40]!r}"
