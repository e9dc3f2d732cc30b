"""Final-answer extraction and comparison for math benchmarks (AIME, DAPO).

Model output is hostile input: every function here is linear in the completion length,
answers are cut to ``MAX_ANSWER_CHARS`` before any parsing, and math-verify (SymPy) runs
only in :mod:`harness.bounded`'s killable worker. This module imports nothing heavy, so
that worker starts fast.

Extraction order (the first that yields a non-empty answer wins):

1. the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces handled),
2. the last line of the form ``ANSWER: ...`` (``Answer:``, ``Final Answer:``, markdown bold),
3. the last ``<answer>...</answer>`` span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_ANSWER_CHARS = 512
"""Extracted answers longer than this are cut (no real final answer is longer)."""

_BOX_SCAN_LIMIT = 4096
"""How far after ``\\boxed`` a closing brace is looked for."""

_MAX_BOX_TRIES = 64
"""How many ``\\boxed`` occurrences (from the end) are tried before giving up."""

Method = Literal["boxed", "answer_line", "answer_tag"]


@dataclass(frozen=True)
class Extracted:
    answer: str
    method: Method


def _box_content(text: str, start: int) -> str | None:
    """Content of the box whose command ends at ``start``; None if unterminated or empty."""
    i = start
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    if i >= n:
        return None
    if text[i] != "{":
        # "\boxed 33" form: one token
        m = re.match(r"[^\s$\\{}]{1,64}", text[i : i + 64])
        return m.group(0) if m else None
    depth = 0
    end = min(n, i + _BOX_SCAN_LIMIT)
    j = i
    while j < end:
        c = text[j]
        if c == "\\" and j + 1 < end and text[j + 1] in "{}":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                content = text[i + 1 : j].strip()
                return content or None
        j += 1
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed ``\\boxed{}``/``\\fbox{}`` in ``text``."""
    pos = len(text)
    for _ in range(_MAX_BOX_TRIES):
        b = text.rfind("\\boxed", 0, pos)
        f = text.rfind("\\fbox", 0, pos)
        k = max(b, f)
        if k < 0:
            return None
        cmd_len = len("\\boxed") if k == b else len("\\fbox")
        content = _box_content(text, k + cmd_len)
        if content is not None:
            return content
        pos = k
    return None


_ANSWER_LINE = re.compile(
    r"^[ \t>*#_\-]{0,8}(?:the\s+)?(?:final\s+)?answer(?:\s+is)?\s{0,3}(?:\*\*|__)?\s{0,3}[:：]"
    r"[ \t]{0,8}(?:\*\*|__)?[ \t]{0,8}(?P<a>[^\n]{1,2000})",
    re.IGNORECASE | re.MULTILINE,
)


def last_answer_line(text: str) -> str | None:
    found = None
    for m in _ANSWER_LINE.finditer(text):
        a = m.group("a").strip().strip("*_").strip()
        if a:
            found = a
    return found


def last_answer_tag(text: str) -> str | None:
    pos = len(text)
    for _ in range(_MAX_BOX_TRIES):
        close = text.rfind("</answer>", 0, pos)
        if close < 0:
            return None
        open_ = text.rfind("<answer>", 0, close)
        if open_ < 0:
            return None
        content = text[open_ + len("<answer>") : close].strip()
        if content:
            return content
        pos = open_
    return None


def extract_answer(completion: str) -> Extracted | None:
    """The final answer of a completion, or None when it gives none."""
    for method, fn in (
        ("boxed", last_boxed),
        ("answer_line", last_answer_line),
        ("answer_tag", last_answer_tag),
    ):
        answer = fn(completion)
        if answer:
            # an answer line or tag that itself holds a box: take the box
            if method != "boxed":
                inner = last_boxed(answer)
                if inner:
                    answer = inner
            return Extracted(answer[:MAX_ANSWER_CHARS], method)  # type: ignore[arg-type]
    return None


# ---------------------------------------------------------------- integer answers

_WRAPPERS = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname|displaystyle)\s*\{([^{}]*)\}")
_DECORATIONS = re.compile(
    r"\^\s*\{?\s*\\circ\s*\}?|°|\\%|%|\\\$|\$|\\,|\\!|\\;|\\:|~|\\quad|\\qquad|\\left|\\right"
    r"|\\displaystyle"
)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.0+)?$")
_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_ANY_INT = re.compile(r"(?<![\d.])[+-]?\d+(?:\.0+)?(?![\d.])")


def _strip_outer(s: str) -> str:
    s = s.strip()
    for left, right in (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
    return s


def _undecorate(s: str) -> str:
    """Unwrap ``\\text{}``-style commands (a few levels) and drop units and spacing marks."""
    for _ in range(3):
        unwrapped = _WRAPPERS.sub(r"\1", s)
        if unwrapped == s:
            break
        s = unwrapped
    return _DECORATIONS.sub("", s)


def normalize_integer(answer: str) -> int | None:
    """``"033"``, ``"33.0"``, ``"\\text{33}"``, ``"33^\\circ"``, ``"$33$"``, ``"x = 33"`` -> 33."""
    s = _undecorate(_strip_outer(answer[:MAX_ANSWER_CHARS]))
    s = s.replace("{", "").replace("}", "").strip().rstrip(".").strip()
    if "=" in s:
        s = s.rsplit("=", 1)[1].strip()
    s = s.replace(" ", "")
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if _INT.match(s):
        return int(s.split(".", 1)[0])
    return None


_WORDS_ONLY = re.compile(r"^[\sA-Za-z.,:;!?'\"()\-]*$")


def sole_integer(answer: str) -> int | None:
    """The one integer in an answer that is otherwise only words ("33 minutes" -> 33).

    Anything mathematical around the number (``\\sqrt{2}``, ``2^{10}``, ``1/3``) makes this
    None, so such answers go to the symbolic comparison instead.
    """
    s = _undecorate(answer[:MAX_ANSWER_CHARS])
    matches = list(_ANY_INT.finditer(s))
    if len(matches) != 1:
        return None
    m = matches[0]
    if not _WORDS_ONLY.match(s[: m.start()] + s[m.end() :]):
        return None
    return normalize_integer(m.group(0))


# ---------------------------------------------------------------- symbolic comparison


def math_verify_equal(gold: str, predicted: str) -> bool:
    """math-verify equivalence. Call only through harness.bounded.run_bounded."""
    import logging

    predicted = _strip_outer(predicted)
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    # the worker process is the time bound; silence math-verify's "timeout disabled" notes
    logging.getLogger("math_verify").setLevel(logging.ERROR)

    gold_parsed = parse(f"\\boxed{{{gold}}}", extraction_config=[LatexExtractionConfig()], parsing_timeout=None)  # type: ignore[arg-type]
    pred_parsed = parse(
        f"\\boxed{{{predicted}}}",
        extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
        parsing_timeout=None,  # type: ignore[arg-type]
    )
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))


def warm_up() -> bool:
    """Import math-verify in the worker ahead of the first real comparison."""
    return math_verify_equal("1", "1")
