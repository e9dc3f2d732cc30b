"""The math answer scorer: extraction, integer comparison, symbolic fallback, hostile input."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.answers import arithmetic_form, extract_answer, integer_form
from scorers.math import check_math_answer, quick_math_score

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
    ("\\boxed{x^2+2x+1}", "(x+1)^2", "C", "correct"),
    # issue 12: value-changing constructs around the gold integer are wrong ...
    ("\\boxed{33!}", "33", "I", "wrong_answer"),
    ("\\boxed{-(33)}", "33", "I", "wrong_answer"),
    ("\\boxed{\\text{not } 33}", "33", "I", "wrong_answer"),
    ("\\boxed{33x}", "33", "I", "wrong_answer"),
    ("\\boxed{x = 12, y = 33}", "33", "I", "wrong_answer"),
    ("\\boxed{3 3}", "33", "I", "wrong_answer"),
    ("\\boxed{3\\,3}", "33", "I", "wrong_answer"),
    ("\\boxed{33 \\text{ thousand}}", "33", "I", "wrong_answer"),
    ("\\boxed{\\neg 33}", "33", "I", "wrong_answer"),  # math-verify alone reads these as 33
    ("\\boxed{33_{8}}", "33", "I", "wrong_answer"),
    ("\\boxed{33m}", "33", "I", "wrong_answer"),
    ("\\boxed{33!!}", "33", "I", "wrong_answer"),  # a numeric bomb for SymPy, never sent to it
    ("\\boxed{2x = 33}", "33", "I", "wrong_answer"),
    ("\\boxed{-x = 33}", "33", "I", "wrong_answer"),
    ("\\boxed{\\text{not } x = 33}", "33", "I", "wrong_answer"),
    ("\\boxed{33.0000001}", "33", "I", "wrong_answer"),
    ("\\boxed{３３}", "33", "I", "wrong_answer"),  # fullwidth digits are not ASCII digits
    ("ANSWER: 33 is wrong", "33", "I", "wrong_answer"),
    # ... and formatting is fine
    ("\\boxed{33\\,}", "33", "C", "correct"),
    ("\\boxed{1,033}", "1033", "C", "correct"),
    ("\\boxed{1\\,033}", "1033", "C", "correct"),
    ("\\boxed{x = 33}", "33", "C", "correct"),
    ("\\boxed{\\angle ABC = 33^\\circ}", "33", "C", "correct"),
    ("\\boxed{\\frac{66}{2}}", "33", "C", "correct"),
    ("\\boxed{\\sqrt{1089}}", "33", "C", "correct"),
    ("\\boxed{33 \\text{ ways}}", "33", "C", "correct"),
    # math-verify precision: only exact or clearly equal decimals match
    ("\\boxed{0.5000001}", "\\frac{1}{2}", "I", "wrong_answer"),
    ("\\boxed{0.333333}", "\\frac{1}{3}", "I", "wrong_answer"),
    ("\\boxed{\\frac{2}{4}}", "0.5", "C", "correct"),
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
    assert extract_answer("Final Answer: The final answer is $204$. I hope it is correct.").answer == "$204$."
    symbolic = check_math_answer("\\boxed{x = \\frac{66}{2}}", "33")  # math-verify sees only \frac{66}{2}
    assert symbolic.value == "C" and symbolic.answer == "x = \\frac{66}{2}"


INTEGER_FORMS = {
    # formatting only: the integer
    "033": 33, "33.0": 33, "33.": 33, "$033$": 33, "\\(33\\)": 33, "\\text{33}": 33, "\\textbf{33}": 33,
    "\\mathbf{33}": 33, "33\\,": 33, "\\,33": 33, "33^\\circ": 33, "33^{\\circ}": 33, "33°": 33, "33\\%": 33,
    "\\$33": 33, "1,033": 1033, "1{,}033": 1033, "1\\,033": 1033, "12,345,678": 12345678, "x = 33": 33,
    "m+n=33": 33, "a_{1} = 33": 33, "\\overline{AB} = 33": 33, "33 \\text{ minutes}": 33, "33\\text{ cm}": 33,
    "\\boxed{33}": 33, "{33}": 33, "+33": 33, "-33": -33, "0": 0,
    # anything that can change the value: not an integer form
    "33!": None, "-(33)": None, "\\text{not } 33": None, "33x": None, "x = 12, y = 33": None, "3 3": None,
    "3\\,3": None, "3~3": None, "1,03": None, "1,0333": None, "1,033\\,000": None, "33 \\text{ thousand}": None,
    "33 \\text{ or more}": None, "33'": None, "33_8": None, "2^{5}": None, "33^2": None, "33.5": None,
    "33 minutes": 33, "33cm": 33, "33 m": None, "33 \\text{ is wrong}": None, "the total is 33": None,
    "x == 33": None, "x \\le 33": None, "2x = 33": None, "-x = 33": None, "33 = x": None, "\\{33\\}": None,
    "３３": None, "3\u200b3": None, "33e0": None, "0x21": None, "": None, "nan": None, "inf": None,
}


@pytest.mark.parametrize("answer,expected", INTEGER_FORMS.items())
def test_integer_form_rules(answer: str, expected: int | None) -> None:
    assert integer_form(answer) == expected


def test_unit_words_only_from_the_list() -> None:
    assert integer_form("33 (meters)") == 33
    assert integer_form("204 square units") == 204
    assert integer_form("\\text{0 \\text{ minutes}}") == 0
    assert integer_form("33 is wrong") is None
    assert integer_form("33 thousand") is None
    assert integer_form("not 33") is None
    assert integer_form("33 widgets") is None  # not a listed unit: wrong, never guessed


def test_only_pure_arithmetic_goes_to_math_verify() -> None:
    assert arithmetic_form("\\frac{66}{2}") == "\\frac{66}{2}"
    assert arithmetic_form("x = \\dfrac{66}{2}") == "\\dfrac{66}{2}"
    assert arithmetic_form("9^{9^{9^{9}}}") is not None  # a bomb, but well-formed: bounded worker
    for hostile in ("33!", "\\neg 33", "33_{8}", "\\sim 33", "33 \\text{ thousand}", "33, 34", "33m", "\\pi"):
        assert arithmetic_form(hostile) is None, hostile


HOSTILE = [
    "x" * 100_000,
    "x" * 100_000 + "\\boxed{" * 5000,
    "{" * 50_000 + "\\boxed{1}" + "}" * 50_000,
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "\\boxed{" * 20_000,
    "\\boxed{" + "\\frac{1}{" * 200 + "2" + "}" * 200 + "}",
    "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",
    "\\boxed{10^{10^{10^{10}}}!}",
    "ANSWER: " + "1" * 100_000,
    "ANSWER: " + "1" * 500 + ".0",
    "\\boxed{" + "9" * 5000 + "}",
    "ANSWER: " + "*" * 100_000,
    "<answer>" * 30_000 + "</answer>",
    "\n" * 100_000 + "Answer:",
    "The answer" + " " * 100_000 + ":",
    "\\boxed{\\begin{pmatrix}" + "1&" * 2000 + "1\\end{pmatrix}}",
    "\\boxed{" + "x^" * 2000 + "2}",
    "\\boxed{1" + "\\," * 10_000 + "}",
    "\\boxed{" + "1," * 10_000 + "1}",
    "\\boxed{x" + " = x" * 5000 + "}",
    "\\boxed{33 " + "\\text{ minutes}" * 5000 + "}",
]


@pytest.mark.parametrize("completion", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_completions_are_decided_fast_and_never_correct(completion: str) -> None:
    """The on-loop part (extraction + integer rules) is linear: bounded CPU, never correct."""
    start = time.thread_time()
    quick = quick_math_score(completion, "33")
    cpu = time.thread_time() - start
    assert cpu < 0.25, f"{cpu:.2f}s CPU for {completion[:40]!r}"
    if hasattr(quick, "value"):
        assert quick.value != "C"


def test_ten_megabyte_answer_does_not_block_the_event_loop() -> None:
    """Event-loop lag measured in CPU time of the loop's thread (robust on a loaded machine):
    a heartbeat task records how much loop-thread CPU passes between its turns while a
    10 MB completion is scored; the longest stretch is the lag the scorer causes."""
    from inspect_ai.scorer import Target

    from scorers.math import math_answer

    completion = "Let me think. " * 750_000 + "ANSWER: 5\n" + "\\boxed{" * 1000 + "x" * 100_000
    state = type("State", (), {"output": type("Output", (), {"completion": completion})()})()
    score_fn = math_answer()

    async def main() -> tuple[float, object]:
        gaps: list[float] = []
        done = asyncio.Event()

        async def beat() -> None:
            while not done.is_set():
                t = time.thread_time()
                await asyncio.sleep(0)
                gaps.append(time.thread_time() - t)

        task = asyncio.create_task(beat())
        await asyncio.sleep(0)
        score = await score_fn(state, Target("33"))
        done.set()
        await task
        return max(gaps), score

    lag, score = asyncio.run(main())
    assert len(completion) > 10_000_000
    assert score.value == "I" and score.metadata["reason"] == "no_answer"  # the ANSWER line is outside the window
    # for scale: one C-speed scan of the whole text
    start = time.thread_time()
    completion.count("\\boxed")
    scan = time.thread_time() - start
    assert lag < 0.1, f"the event loop was blocked for {lag:.3f} s of CPU (one scan: {scan:.4f} s)"
