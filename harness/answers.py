"""Final-answer extraction and comparison for math benchmarks (AIME, DAPO).

Model output is hostile input. Every function here runs in time linear in its (bounded)
input: boxes and ``<answer>`` tags are found with ``str.rfind`` over the whole completion
(C speed), the ``ANSWER:`` line regex reads only the last ``ANSWER_LINE_WINDOW``
characters, and extracted answers are cut to ``MAX_ANSWER_CHARS``. math-verify (SymPy)
runs only in :mod:`harness.bounded`'s killable workers. This module imports nothing
heavy, so those workers start fast.

Extraction order (the first that yields a non-empty answer wins):

1. the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces handled),
2. the last line of the form ``ANSWER: ...`` (``Answer:``, ``Final Answer:``, markdown bold;
   a leading "The final answer is" and a trailing "I hope it is correct." are dropped),
3. the last ``<answer>...</answer>`` span.

Integer answers (:func:`integer_form`) accept formatting only; see ``README.md`` (AIME,
scorer ``math_answer``) for the exact rules, which the tests pin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_ANSWER_CHARS = 512
"""Extracted answers longer than this are cut (no real final answer is longer)."""

ANSWER_LINE_WINDOW = 100_000
"""``ANSWER:`` lines are looked for in this many characters at the end of a completion."""

_BOX_SCAN_LIMIT = 4096
"""How far after ``\\boxed`` a closing brace is looked for."""

_MAX_BOX_TRIES = 64
"""How many ``\\boxed`` occurrences (from the end) are tried before giving up."""

Method = Literal["boxed", "answer_line", "answer_tag"]


@dataclass(frozen=True)
class Extracted:
    answer: str
    method: Method


_BRACE = re.compile(r"\\[{}]|[{}]")


def _box_content(text: str, start: int) -> str | None:
    """Content of the box whose command ends at ``start``; None if unterminated or empty."""
    i = start
    n = len(text)
    while i < n and i < start + 64 and text[i] in " \t":
        i += 1
    if i >= n:
        return None
    if text[i] != "{":
        # "\boxed 33" form: one token
        m = re.match(r"[^\s$\\{}]{1,64}", text[i : i + 64])
        return m.group(0) if m else None
    depth = 0
    for m in _BRACE.finditer(text, i, min(n, i + _BOX_SCAN_LIMIT)):
        brace = m.group()
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : m.start()].strip() or None
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed ``\\boxed{}``/``\\fbox{}`` in ``text``."""
    # each command is searched for again only below its own last hit, so the whole
    # text is scanned about once per command however many boxes are tried
    b = text.rfind("\\boxed")
    f = text.rfind("\\fbox")
    for _ in range(_MAX_BOX_TRIES):
        k = max(b, f)
        if k < 0:
            return None
        cmd_len = len("\\boxed") if k == b else len("\\fbox")
        content = _box_content(text, k + cmd_len)
        if content is not None:
            return content
        if k == b:
            b = text.rfind("\\boxed", 0, k)
        else:
            f = text.rfind("\\fbox", 0, k)
    return None


_ANSWER_LINE = re.compile(
    r"^[ \t>*#_\-]{0,8}(?:the[ \t]{1,4})?(?:final[ \t]{1,4})?answer(?:[ \t]{1,4}is)?[ \t]{0,3}(?:\*\*|__)?[ \t]{0,3}[:：]"
    r"[ \t]{0,8}(?:\*\*|__)?[ \t]{0,8}(?P<a>[^\n]{1,2000})",
    re.IGNORECASE | re.MULTILINE,
)
_LEAD_PHRASE = re.compile(r"^(?:the[ \t]{1,4})?(?:final[ \t]{1,4})?answer[ \t]{1,4}is[ \t]{0,4}:?[ \t]{0,4}", re.IGNORECASE)
_TRAIL_PHRASE = re.compile(r"[ \t]{0,4}I hope it is correct\.?[ \t]{0,4}$", re.IGNORECASE)


def last_answer_line(text: str) -> str | None:
    """The last ``ANSWER: ...`` line in the last ``ANSWER_LINE_WINDOW`` characters."""
    found = None
    for m in _ANSWER_LINE.finditer(text, max(0, len(text) - ANSWER_LINE_WINDOW)):
        a = m.group("a").strip().strip("*_").strip()
        a = _TRAIL_PHRASE.sub("", _LEAD_PHRASE.sub("", a[:MAX_ANSWER_CHARS])).strip()
        if a:
            found = a
    return found


def last_answer_tag(text: str) -> str | None:
    pos = len(text)
    for _ in range(_MAX_BOX_TRIES):
        close = text.rfind("</answer>", 0, pos)
        if close < 0:
            return None
        open_ = text.rfind("<answer>", max(0, close - 4 * MAX_ANSWER_CHARS), close)
        if open_ < 0:
            pos = close
            continue
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
                    answer, method = inner, "boxed"
            return Extracted(answer[:MAX_ANSWER_CHARS], method)  # type: ignore[arg-type]
    return None


# ---------------------------------------------------------------- integer answers
#
# An answer is an integer when, after the steps below, what is left is exactly
# [+-]digits with an optional .000 tail. Anything else that could change the value
# (operators, factorials, primes, subscripts, other variables, several values, digits
# split by spaces, words that are not units) means "not an integer form".

UNIT_WORDS = frozenset(
    """
    second minute hour day week month year sec min hr
    millimeter centimeter meter metre kilometer mm cm km inch foot feet ft yard mile
    square cubic sq unit gram kilogram kg pound lb ounce oz liter litre ml
    degree deg radian rad dollar cent euro usd mph
    way integer number people person student point triangle path pair subset sequence
    solution digit divisor term coin ball book game step move root value case
    """.split()
)
"""Words allowed after an integer (singular; a plural ``s``/``es`` is accepted too)."""

_TEXT_CMDS = r"text|textrm|textbf|textit|textnormal|mathrm|mathbf|mathit|mbox|hbox|boxed|fbox"
_WRAPPER = re.compile(r"\\(?:" + _TEXT_CMDS + r")\s*\{([^{}]*)\}")
_SPACING = r"(?:\s|~|\\[,;:! ]|\\q?quad(?![A-Za-z]))"
_DECORATION = re.compile(r"\^\s*(?:\{\s*\\circ\s*\}|\\circ)|°|\\%|%|\\\$|\$|\\displaystyle(?![A-Za-z])")
_GROUPED = re.compile(r"(?<![0-9.])[0-9]{1,3}(?P<sep>,|\\,)[0-9]{3}(?:(?P=sep)[0-9]{3})*(?![0-9])")
_SPLIT_DIGITS = re.compile(r"[0-9]" + _SPACING + r"+[0-9]")  # run on the text without braces
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0+)?", re.ASCII)
_LHS_TERM = (
    r"\|?(?:\\(?:angle|measuredangle|overline|triangle|alpha|beta|gamma|delta|theta|phi|varphi|lambda|mu|sigma"
    r"|omega)(?![A-Za-z])\s*)?\{?[A-Za-z]{1,3}\}?(?:_\{?[A-Za-z0-9]{1,3}\}?)?'?\|?"
)
_LHS = re.compile(_LHS_TERM + r"(?:\s*[+-]\s*" + _LHS_TERM + r"){0,5}", re.ASCII)
"""The left side of ``x = 33``: identifiers of up to 3 letters (``m+n``, ``AB``, ``a_{1}``,
``\\angle ABC``) joined by + or -; no digits outside subscripts, no spaces inside a term."""
_NEGATION = re.compile(r"(?<![A-Za-z])(?:not|no|never|neither|nor|except|without|non|none)(?![A-Za-z])", re.I)
_UNIT_TAIL = re.compile(
    r"(?<=[0-9}])(?:\s|~|\\[,;: !]|\\q?quad(?![A-Za-z]))*\(?\s*([A-Za-z]{2,20}(?:\s+[A-Za-z]{2,20}){0,2})\s*\)?\s*\.?\s*$",
    re.ASCII,
)


def _strip_outer(s: str) -> str:
    s = s.strip()
    for _ in range(3):
        before = s
        for left, right in (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$")):
            if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
                s = s[len(left) : len(s) - len(right)].strip()
        if s == before:
            break
    return s


_SPACING_TOKENS = ("\\qquad", "\\quad", "\\,", "\\;", "\\:", "\\!", "\\ ", "~")


def _strip_spacing(s: str) -> str:
    """``s`` without whitespace or LaTeX spacing commands at either end (linear)."""
    while True:
        before = s
        s = s.strip()
        for tok in _SPACING_TOKENS:
            s = s.removeprefix(tok)
            if s.endswith(tok) and not s.endswith("\\" + tok):
                s = s[: -len(tok)]
        if s == before:
            return s


def _is_unit(words: str) -> bool:
    return all(
        w in UNIT_WORDS or w.removesuffix("s") in UNIT_WORDS or w.removesuffix("es") in UNIT_WORDS
        for w in words.lower().split()
    )


def _value_part(answer: str) -> str | None:
    """The answer reduced to its value: outer ``$``, one ``LHS =``, units and decorations
    removed, thousands separators joined. None when words or a split number remain."""
    s = _strip_outer(answer[:MAX_ANSWER_CHARS]).replace("{,}", ",")  # 1{,}033: LaTeX's comma spacing
    for _ in range(4):  # \text{33^{\circ}}: decorations and wrappers nest either way
        unwrapped = _WRAPPER.sub(r"\1", _DECORATION.sub("", s))
        if unwrapped == s:
            break
        s = unwrapped
    s = _strip_spacing(s)
    unit = _UNIT_TAIL.search(s)
    if unit:
        if not _is_unit(unit.group(1)):
            return None
        s = s[: unit.start()]
    if _NEGATION.search(s):
        return None
    if s.count("=") == 1:
        lhs, s = s.split("=")
        if not _LHS.fullmatch(_strip_spacing(lhs)):
            return None
    s = _GROUPED.sub(lambda m: re.sub(r"[^0-9]", "", m.group(0)), s)
    if _SPLIT_DIGITS.search(s.replace("{", "").replace("}", "")):
        return None
    s = re.sub(_SPACING, "", s)
    if s.startswith("{") and s.endswith("}") and s.count("{") == 1 and s.count("}") == 1:
        s = s[1:-1]
    return s.rstrip(".") if s.endswith(".") and not s.endswith("..") else s


def integer_form(answer: str) -> int | None:
    """The integer an answer states using formatting only, else None.

    ``033``, ``33.0``, ``\\text{33}``, ``33^\\circ``, ``33\\%``, ``\\$33``, ``1,033`` /
    ``1{,}033`` / ``1\\,033``, ``33\\,``, ``x = 33``, ``m+n=33``, ``33 \\text{ minutes}``
    are integers; ``33!``, ``-(33)``, ``\\text{not } 33``, ``33x``, ``x = 12, y = 33``,
    ``3 3``, ``2^{5}``, ``33 \\text{ thousand}``, ``the total is 33`` are not.
    """
    s = _value_part(answer)
    if s is None or not _INTEGER.fullmatch(s) or len(s) > 400:
        return None
    return int(s.split(".", 1)[0])


_ARITH = re.compile(
    r"(?:[0-9.+\-*/^()\[\]{}]|\\(?:d|t|c)?frac(?![A-Za-z])|\\sqrt(?![A-Za-z])|\\cdot(?![A-Za-z])"
    r"|\\times(?![A-Za-z])|\\div(?![A-Za-z])|\\left(?![A-Za-z])|\\right(?![A-Za-z])|\\(?:d|t)?binom(?![A-Za-z]))+",
    re.ASCII,
)


def arithmetic_form(answer: str) -> str | None:
    """The answer when it is a pure arithmetic expression over integers (fractions,
    roots, powers, products), which only a symbolic comparison can evaluate; else None.

    No letters, factorials, commas, relations or several values: for an integer gold
    answer, anything else is wrong without asking math-verify (which reads ``\\neg 33``,
    ``33_{8}``, ``33 \\text{ thousand}`` or ``33m`` as 33).
    """
    s = _value_part(answer)
    if not s or not _ARITH.fullmatch(s) or not any(c.isdigit() for c in s):
        return None
    return s


# ---------------------------------------------------------------- symbolic comparison

FLOAT_DIGITS = 10
"""math-verify compares a decimal with an exact value after rounding both to this many
decimals (its default, 6, makes ``0.5000001`` equal ``1/2``)."""

Verdict = Literal["equal", "different", "gold_unparseable", "pred_unparseable"]


def math_verify_compare(gold: str, predicted: str) -> Verdict:
    """math-verify equivalence. Call only through a harness.bounded worker."""
    import logging

    predicted = _strip_outer(predicted)
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    # the worker process is the time bound; silence math-verify's "timeout disabled" notes
    logging.getLogger("math_verify").setLevel(logging.ERROR)

    gold_parsed = parse(f"\\boxed{{{gold}}}", extraction_config=[LatexExtractionConfig()], parsing_timeout=None)  # type: ignore[arg-type]
    if not gold_parsed:
        return "gold_unparseable"
    pred_parsed = parse(
        f"\\boxed{{{predicted}}}",
        extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
        parsing_timeout=None,  # type: ignore[arg-type]
    )
    if not pred_parsed:
        return "pred_unparseable"
    same = verify(gold_parsed, pred_parsed, float_rounding=FLOAT_DIGITS, timeout_seconds=None)
    return "equal" if same else "different"


def warm_up() -> bool:
    """Import and exercise math-verify in a new worker; True when it gives right answers."""
    return (
        math_verify_compare("\\frac{1}{2}", "0.5") == "equal"
        and math_verify_compare("33", "\\frac{66}{2}") == "equal"
        and math_verify_compare("\\frac{1}{2}", "0.5000001") == "different"
    )
