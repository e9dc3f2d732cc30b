"""Countdown: the verifier and the instance generator (pure, import-light, no inspect).

The verifier, :func:`check_countdown`, treats the completion as hostile input. It never
calls ``eval``; it bounds every step before doing it, so each call takes microseconds
whatever the input (a 1 MB completion is scanned once, linearly):

1. the answer is the content of the **last** ``<answer>...</answer>`` anywhere in the
   completion (tags case-insensitive); none -> ``no_answer``;
2. ``×``, ``÷``, ``−`` (and other Unicode minus signs) are read as ``*``, ``/``, ``-``;
   an optional trailing ``= N`` is allowed when N is the target (``= 24`` states the
   result; any other N is ``wrong_value``);
3. the expression must be at most ``MAX_EXPR_CHARS`` characters made only of digits,
   whitespace, ``+ - * / ( )`` (else ``too_large``, ``bad_syntax``); a literal longer
   than ``MAX_LITERAL_DIGITS`` digits or parentheses nested deeper than ``MAX_DEPTH``
   are refused before any parsing or int conversion (``too_large``);
4. it is parsed with :func:`ast.parse` and may contain only integer literals, binary
   ``+ - * /``, unary minus and parentheses; ``**``, ``//``, unary plus and anything
   else are ``bad_syntax``; more than ``MAX_NODES`` nodes is ``too_large``;
5. the multiset of its literals must equal the multiset of the given numbers: each
   number used exactly once, no other literal (``wrong_numbers``);
6. it is evaluated exactly with :class:`fractions.Fraction` (``/`` is true division);
   division by zero -> ``div_by_zero``; an intermediate value whose numerator or
   denominator exceeds ``MAX_BITS`` bits -> ``too_large``;
7. the value must equal the target exactly (``wrong_value``), else ``correct``.

The generator (:func:`generate_instances`) draws 3-4 numbers and a target that an
exhaustive search proved reachable, with a solution that :func:`check_countdown` accepts.

:func:`tinyzero_reward` reproduces the verdicts of TinyZero's reward
(``verl/utils/reward_score/countdown.py: compute_score``: 1.0, the format score 0.1, or 0)
without ``eval``: the same extraction (last line, last ``<answer>`` on it), the same
number check (``\\d+`` runs), the same character whitelist, and Python's own arithmetic on
the parsed tree (``**``, ``//``, floats, ``abs(value - target) < 1e-5``), with bounds where
``eval`` would hang (see the section below).
"""

from __future__ import annotations

import ast
import operator
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Literal, Sequence

MAX_EXPR_CHARS = 256
"""Longest answer expression accepted (a 4-number equation needs about 30)."""

MAX_LITERAL_DIGITS = 32
"""Longest integer literal accepted; checked on the text, before any int conversion."""

MAX_DEPTH = 32
"""Deepest nesting accepted (parentheses, and operators in the parsed tree)."""

MAX_NODES = 64
"""Most AST nodes accepted in one expression."""

MAX_BITS = 512
"""Largest numerator/denominator (in bits) of any intermediate value."""

Reason = Literal[
    "correct",
    "no_answer",
    "bad_syntax",
    "too_large",
    "wrong_numbers",
    "div_by_zero",
    "wrong_value",
]
REASONS: tuple[str, ...] = Reason.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CountdownCheck:
    """The verdict on one completion."""

    correct: bool
    reason: Reason
    answer: str | None = None
    """The extracted answer text (cut to ``MAX_EXPR_CHARS`` + a few characters)."""
    value: str | None = None
    """The exact value of the expression (``"7/2"``), when it was evaluated."""
    detail: str = ""


# ---------------------------------------------------------------- extraction

_OPEN = re.compile(r"<answer\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"</answer\s*>", re.IGNORECASE)


def last_answer(completion: str) -> str | None:
    """Content of the last ``<answer>...</answer>`` in the completion (linear time)."""
    close = None
    for close in _CLOSE.finditer(completion):
        pass
    if close is None:
        return None
    open_ = None
    for open_ in _OPEN.finditer(completion, 0, close.start()):
        pass
    if open_ is None:
        return None
    return completion[open_.end() : close.start()]


# ---------------------------------------------------------------- evaluation

_TRANSLATE = str.maketrans(
    {
        "×": "*",
        "∗": "*",
        "·": "*",
        "÷": "/",
        "−": "-",
        "–": "-",
        "‒": "-",
        "﹣": "-",
        "－": "-",
    }
)
_ALLOWED = re.compile(r"[0-9+\-*/()\s]*")
_DIGIT_RUN = re.compile(r"\d+")
_TARGET_CLAIM = re.compile(r"\s*-?\s*[0-9]{1,%d}\s*" % MAX_LITERAL_DIGITS)


class _Reject(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _literals(node: ast.AST, depth: int, out: list[int], count: list[int]) -> None:
    """Check the node types and collect the integer literals (bounded recursion)."""
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _Reject("too_large", f"more than {MAX_NODES} syntax nodes")
    if depth > MAX_DEPTH:
        raise _Reject("too_large", f"nested deeper than {MAX_DEPTH}")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _Reject("bad_syntax", f"operator {type(node.op).__name__} is not one of + - * /")
        _literals(node.left, depth + 1, out, count)
        _literals(node.right, depth + 1, out, count)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub):
            raise _Reject("bad_syntax", f"unary {type(node.op).__name__} is not allowed (only unary minus)")
        _literals(node.operand, depth + 1, out, count)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out.append(node.value)
    else:
        raise _Reject("bad_syntax", f"{type(node).__name__} is not allowed")


def _check_size(v: Fraction) -> Fraction:
    if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
        raise _Reject("too_large", f"an intermediate value exceeds {MAX_BITS} bits")
    return v


def _evaluate(node: ast.AST) -> Fraction:
    """Exact value of a tree already checked by :func:`_literals`."""
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand)
    assert isinstance(node, ast.BinOp)
    left, right = _evaluate(node.left), _evaluate(node.right)
    op = type(node.op)
    if op is ast.Add:
        return _check_size(left + right)
    if op is ast.Sub:
        return _check_size(left - right)
    if op is ast.Mult:
        return _check_size(left * right)
    if right == 0:
        raise _Reject("div_by_zero", "division by zero")
    return _check_size(left / right)


def parse_expression(expr: str) -> tuple[ast.expr, list[int]]:
    """Parse an answer expression (already normalised) into a checked tree and its literals.

    Raises ``_Reject`` with the reason on any violation.
    """
    if len(expr) > MAX_EXPR_CHARS:
        raise _Reject("too_large", f"expression longer than {MAX_EXPR_CHARS} characters")
    if _ALLOWED.fullmatch(expr) is None:
        bad = next(c for c in expr if not _ALLOWED.fullmatch(c))
        raise _Reject("bad_syntax", f"character {bad!r} is not allowed (digits, + - * / and parentheses only)")
    for run in _DIGIT_RUN.finditer(expr):
        if run.end() - run.start() > MAX_LITERAL_DIGITS:
            raise _Reject("too_large", f"a literal has more than {MAX_LITERAL_DIGITS} digits")
    depth = 0
    for c in expr:
        if c == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Reject("too_large", f"parentheses nested deeper than {MAX_DEPTH}")
        elif c == ")":
            depth -= 1
    if not expr.strip():
        raise _Reject("bad_syntax", "empty expression")
    try:
        tree = ast.parse(" ".join(expr.split()), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as ex:
        raise _Reject("bad_syntax", f"not an expression: {type(ex).__name__}") from None
    literals: list[int] = []
    _literals(tree.body, 0, literals, [0])
    return tree.body, literals


def _split_claim(expr: str, target: int) -> str:
    """Drop a trailing ``= N`` (N must be the target)."""
    if "=" not in expr:
        return expr
    lhs, _, rhs = expr.partition("=")
    if "=" in rhs or _TARGET_CLAIM.fullmatch(rhs) is None:
        raise _Reject("bad_syntax", "'=' may only be followed by the target")
    claimed = int("".join(rhs.split()))
    if claimed != target:
        raise _Reject("wrong_value", f"the equation claims {claimed}, the target is {target}")
    return lhs


def check_expression(expr: str, nums: Sequence[int], target: int) -> CountdownCheck:
    """Verdict on an answer expression (the text inside the answer tags)."""
    shown = expr.strip()[: MAX_EXPR_CHARS + 16]
    try:
        text = expr.strip()
        if len(text) > MAX_EXPR_CHARS:  # before any other work on a huge input
            raise _Reject("too_large", f"expression longer than {MAX_EXPR_CHARS} characters")
        text = _split_claim(text.translate(_TRANSLATE), target)
        tree, literals = parse_expression(text.strip())
        if sorted(literals) != sorted(nums):
            return CountdownCheck(
                False,
                "wrong_numbers",
                shown,
                detail=f"uses {sorted(literals)}, must use each of {sorted(nums)} exactly once",
            )
        value = _evaluate(tree)
    except _Reject as r:
        return CountdownCheck(False, r.reason, shown, detail=r.detail)
    ok = value == target
    return CountdownCheck(
        ok,
        "correct" if ok else "wrong_value",
        shown,
        value=str(value),
        detail=f"{value} {'==' if ok else '!='} {target}",
    )


def check_countdown(completion: str, nums: Sequence[int], target: int) -> CountdownCheck:
    """Verdict on a completion: does its last ``<answer>`` reach ``target`` with ``nums``?"""
    answer = last_answer(completion)
    if answer is None:
        return CountdownCheck(False, "no_answer", None, detail="no <answer>...</answer> in the completion")
    return check_expression(answer, nums, target)


# ---------------------------------------------------------------- TinyZero's reward, reproduced
#
# TinyZero (verl/utils/reward_score/countdown.py) scores a string in four steps:
#   1. keep the text after the first "Assistant:" (or "<|im_start|>assistant"), else 0;
#      then its last line (split on "\n"), then the last non-overlapping
#      "<answer>(.*?)</answer>" on that line, stripped; none -> 0;
#   2. the integers of re.findall(r"\d+", equation), sorted, must equal the sorted numbers,
#      else the format score 0.1;
#   3. the equation must match r"^[\d+\-*/().\s]+$" and eval(equation) must not raise,
#      else 0.1;
#   4. abs(result - target) < 1e-5 -> 1.0, else 0.1.
# Its string is prompt + completion, and its prompt ends with that marker, so step 1's
# marker test always passes and the last line is the completion's last line.
# Step 3 is reproduced without eval: the whitelisted text is parsed with ast.parse (the
# parser eval uses) and the tree is walked applying Python's own operators to Python
# numbers, which is what eval would compute. Where eval would not finish (an integer
# power too large, e.g. 99**98**97) the walk refuses the equation (format score): eval
# would spend minutes to forever on it and end in a MemoryError, which TinyZero also
# scores 0.1.

TINYZERO_SCORE = 1.0
TINYZERO_FORMAT_SCORE = 0.1
TINYZERO_TOLERANCE = 1e-5

TZ_MAX_EXPR_CHARS = 50_000
"""Longest equation evaluated (after runs of spaces and tabs are collapsed); a longer one
gets the format score. Python's parser itself refuses more than 200 nested parentheses
and a few thousand chained operators, so no sensible answer comes near this."""

TZ_MAX_BITS = 1 << 17
"""Largest integer (in bits) the walk computes; a bigger intermediate value gets the
format score (see above). 3-number towers such as ``99**(99*99)`` (65k bits) fit."""

TZ_MAX_INT_DIGITS = 4300
"""``int()`` refuses longer digit strings (CPython's default ``int_max_str_digits``)."""

_TZ_OPEN, _TZ_CLOSE = "<answer>", "</answer>"
_TZ_WHITELIST = re.compile(r"[\d+\-*/().\s]+")
_TZ_DIGIT_RUN = re.compile(r"\d+")
_TZ_BLANKS = re.compile(r"[ \t\f]+")
_TZ_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_TZ_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


@dataclass(frozen=True)
class TinyZeroVerdict:
    """TinyZero's reward for one completion, with the reason (one of ``REASONS``)."""

    reward: float
    """1.0 (``correct``), the format score (0.1: an answer, not right) or 0.0 (``no_answer``)."""
    reason: Reason
    answer: str | None = None
    """The extracted equation (cut to ``MAX_EXPR_CHARS`` + a few characters)."""
    value: str | None = None
    """The value eval would give, when it was computed."""
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.reason == "correct"


def tinyzero_answer(completion: str) -> str | None:
    """TinyZero's extraction: the last ``<answer>...</answer>`` on the last line, stripped.

    Same result as ``re.finditer(r"<answer>(.*?)</answer>", line)`` (non-overlapping,
    case-sensitive), found with ``str.find`` so it is linear on any input.
    """
    line = completion[completion.rfind("\n") + 1 :]
    found: tuple[int, int] | None = None
    pos = 0
    while True:
        start = line.find(_TZ_OPEN, pos)
        if start < 0:
            break
        end = line.find(_TZ_CLOSE, start + len(_TZ_OPEN))
        if end < 0:
            break  # no later <answer> can close either
        found = (start + len(_TZ_OPEN), end)
        pos = end + len(_TZ_CLOSE)
    return None if found is None else line[found[0] : found[1]].strip()


def tinyzero_uses_numbers(equation: str, nums: Sequence[int]) -> bool:
    """TinyZero's number check: the ``\\d+`` runs (any Unicode digits), as ints, sorted,
    equal the sorted numbers. ``2.5`` reads as 2 and 5."""
    runs: list[str] = []
    for run in _TZ_DIGIT_RUN.finditer(equation):
        runs.append(run.group())
        if len(runs) > len(nums):
            return False
    if len(runs) != len(nums) or any(len(r) > TZ_MAX_INT_DIGITS for r in runs):
        return False  # int() of a longer run raises ValueError, which TinyZero reads as False
    return sorted(int(r) for r in runs) == sorted(int(n) for n in nums)


def _tz_apply(op: type, left: object, right: object) -> object:
    """``left <op> right`` as Python computes it, refusing integers beyond TZ_MAX_BITS."""
    if type(left) is int and type(right) is int:
        if op is ast.Pow and right > 0 and abs(left) > 1:
            if (right - 1) * (left.bit_length() - 1) > TZ_MAX_BITS:
                raise _Reject("too_large", f"an integer power exceeds {TZ_MAX_BITS} bits (eval would not finish)")
        elif op is ast.Mult and left.bit_length() + right.bit_length() > TZ_MAX_BITS + 1:
            raise _Reject("too_large", f"an integer product exceeds {TZ_MAX_BITS} bits")
    try:
        value = _TZ_BINOPS[op](left, right)
    except ZeroDivisionError:
        raise _Reject("div_by_zero", "eval raises ZeroDivisionError") from None
    except OverflowError:
        raise _Reject("too_large", "eval raises OverflowError") from None
    except (TypeError, ValueError) as ex:
        raise _Reject("bad_syntax", f"eval raises {type(ex).__name__}") from None
    if type(value) is int and value.bit_length() > TZ_MAX_BITS:
        raise _Reject("too_large", f"an intermediate integer exceeds {TZ_MAX_BITS} bits")
    return value


def _python_arithmetic(root: ast.AST) -> int | float | complex:
    """Evaluate a parsed whitelisted equation as eval would (iterative: any parsed depth).

    Only numbers can make a numeric result: an Ellipsis (``...``) or an empty tuple
    (``()``) anywhere makes eval return a non-number or raise, so either is refused.
    """
    values: list[object] = []
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if isinstance(node, ast.BinOp) and type(node.op) in _TZ_BINOPS:
            if ready:
                right, left = values.pop(), values.pop()
                values.append(_tz_apply(type(node.op), left, right))
            else:
                stack.extend([(node, True), (node.right, False), (node.left, False)])
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _TZ_UNARY:
            if ready:
                values.append(_TZ_UNARY[type(node.op)](values.pop()))
            else:
                stack.extend([(node, True), (node.operand, False)])
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            values.append(node.value)
        else:
            what = "..." if isinstance(node, ast.Constant) else type(node).__name__
            raise _Reject("bad_syntax", f"{what} is not a number (eval gives no numeric result)")
    [value] = values
    return value  # type: ignore[return-value]


def tinyzero_evaluate(equation: str) -> int | float | complex:
    """What TinyZero's ``evaluate_equation`` returns, computed without eval.

    Raises ``_Reject`` where it returns None (whitelist failed, eval raised) or would not
    finish (too large).
    """
    if _TZ_WHITELIST.fullmatch(equation) is None:
        raise _Reject("bad_syntax", "a character is outside TinyZero's whitelist (digits, + - * / ( ) . and spaces)")
    text = _TZ_BLANKS.sub(" ", equation)  # same tokens: runs of blanks only separate them
    if len(text) > TZ_MAX_EXPR_CHARS:
        raise _Reject("too_large", f"equation longer than {TZ_MAX_EXPR_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as ex:
        raise _Reject("bad_syntax", f"eval raises {type(ex).__name__}") from None
    return _python_arithmetic(tree.body)


def _show(value: object) -> str:
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def tinyzero_reward(
    completion: str,
    nums: Sequence[int],
    target: int,
    format_score: float = TINYZERO_FORMAT_SCORE,
    score: float = TINYZERO_SCORE,
) -> TinyZeroVerdict:
    """TinyZero's ``compute_score`` verdict on a completion (see the notes above)."""
    equation = tinyzero_answer(completion)
    if equation is None:
        return TinyZeroVerdict(0.0, "no_answer", None, detail="no <answer>...</answer> on the last line")
    shown = equation[: MAX_EXPR_CHARS + 16]
    if not tinyzero_uses_numbers(equation, nums):
        return TinyZeroVerdict(
            format_score, "wrong_numbers", shown, detail=f"its \\d+ runs are not the numbers {sorted(nums)}"
        )
    try:
        value = tinyzero_evaluate(equation)
    except _Reject as r:
        return TinyZeroVerdict(format_score, r.reason, shown, detail=r.detail)
    try:
        close = abs(value - target) < TINYZERO_TOLERANCE
    except (ArithmeticError, TypeError, ValueError):
        close = False
    shown_value = _show(value)
    if close:
        return TinyZeroVerdict(score, "correct", shown, shown_value, f"|{shown_value} - {target}| < {TINYZERO_TOLERANCE}")
    return TinyZeroVerdict(
        format_score, "wrong_value", shown, shown_value, f"|{shown_value} - {target}| >= {TINYZERO_TOLERANCE}"
    )


# ---------------------------------------------------------------- search and generation

_Node = tuple[float, str]


def _combine(a: _Node, b: _Node) -> Iterator[_Node]:
    (va, ea), (vb, eb) = a, b
    yield va + vb, f"({ea} + {eb})"
    yield va * vb, f"({ea} * {eb})"
    yield va - vb, f"({ea} - {eb})"
    yield vb - va, f"({eb} - {ea})"
    if vb != 0:
        yield va / vb, f"({ea} / {eb})"
    if va != 0:
        yield vb / va, f"({eb} / {ea})"


def _search(nums: Sequence[int]) -> dict[float, str]:
    """Float value -> one expression, over every way to combine all of ``nums`` once.

    Exhaustive dynamic programme over subsets, in floats for speed (~1 ms for 4 numbers);
    callers confirm a candidate exactly with :func:`check_expression`.
    """
    n = len(nums)
    if not 1 <= n <= 6:
        raise ValueError("the search handles 1 to 6 numbers")
    table: dict[int, dict[float, str]] = {1 << i: {float(x): str(x)} for i, x in enumerate(nums)}
    for mask in range(1, 1 << n):
        if mask in table:
            continue
        values: dict[float, str] = {}
        sub = (mask - 1) & mask
        while sub:
            other = mask ^ sub
            if sub < other:  # each unordered split once; _combine covers both orders
                for a in table[sub].items():
                    for b in table[other].items():
                        for v, e in _combine(a, b):
                            values.setdefault(v, e)
            sub = (sub - 1) & mask
        table[mask] = values
    return table[(1 << n) - 1]


def _strip_outer(expr: str) -> str:
    if expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, c in enumerate(expr):
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        return expr[1:-1]
    return expr


_TOLERANCE = 1e-6


def _candidates(nums: Sequence[int], lo: int, hi: int) -> dict[int, list[str]]:
    """Integers in ``[lo, hi]`` the float search reaches, with the expressions found."""
    found: dict[int, list[str]] = {}
    for v, e in _search(nums).items():
        if lo - 1 < v < hi + 1:
            r = round(v)
            if lo <= r <= hi and abs(v - r) < _TOLERANCE:
                found.setdefault(r, []).append(e)
    return found


def _first_exact(nums: Sequence[int], target: int, exprs: list[str]) -> str | None:
    for e in exprs:
        expr = _strip_outer(e)
        if check_expression(expr, nums, target).correct:
            return expr
    return None


def integer_solutions(nums: Sequence[int], lo: int, hi: int) -> dict[int, str]:
    """Each integer in ``[lo, hi]`` reachable with every number of ``nums`` used once,
    with an expression for it that :func:`check_expression` accepts (exactly)."""
    found: dict[int, str] = {}
    for r, exprs in _candidates(nums, lo, hi).items():
        expr = _first_exact(nums, r, exprs)
        if expr is not None:
            found[r] = expr
    return found


def solve(nums: Sequence[int], target: int) -> str | None:
    """An expression using each of ``nums`` once that equals ``target``, or None.

    Depth-first over pairs to combine, stopping at the first exact solution (most
    solvable instances take well under a millisecond).
    """
    if not 1 <= len(nums) <= 6:
        return None

    def dfs(items: list[_Node]) -> str | None:
        if len(items) == 1:
            v, e = items[0]
            if abs(v - target) < _TOLERANCE:
                return _first_exact(nums, target, [e])
            return None
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                rest = items[:i] + items[i + 1 : j] + items[j + 1 :]
                for node in _combine(items[i], items[j]):
                    found = dfs(rest + [node])
                    if found is not None:
                        return found
        return None

    return dfs([(float(x), str(x)) for x in nums])


@dataclass(frozen=True)
class Instance:
    nums: tuple[int, ...]
    target: int
    solution: str


GEN_NUM_RANGE = (1, 99)
"""Numbers are drawn uniformly from this range (as in Countdown-Tasks-3to4)."""

GEN_TARGET_RANGE = (10, 100)
"""Targets are drawn from the reachable integers in this range (as in Countdown-Tasks-3to4)."""


def generate_instances(
    n: int,
    seed: int,
    counts: Sequence[int] = (3, 4),
    num_range: tuple[int, int] = GEN_NUM_RANGE,
    target_range: tuple[int, int] = GEN_TARGET_RANGE,
) -> list[Instance]:
    """``n`` distinct solvable instances, the same for the same arguments.

    Each draws how many numbers (uniformly from ``counts``), the numbers (uniformly from
    ``num_range``, repeats allowed), then the target uniformly among the integers of
    ``target_range`` that the exhaustive search reaches; numbers reaching none are redrawn.
    The solution is re-checked with :func:`check_countdown`.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    lo, hi = target_range
    seen: set[tuple[tuple[int, ...], int]] = set()
    out: list[Instance] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 20 * n + 1000:
            raise ValueError("could not generate enough distinct solvable instances with these ranges")
        k = rng.choice(list(counts))
        nums = tuple(rng.randint(*num_range) for _ in range(k))
        found = _candidates(nums, lo, hi)
        targets = sorted(found)
        while targets:
            target = rng.choice(targets)
            solution = _first_exact(nums, target, found[target])
            if solution is not None:  # always, unless float rounding misled the search
                break
            targets.remove(target)
        if not targets or (nums, target) in seen:
            continue
        seen.add((nums, target))
        out.append(Instance(nums, target, solution))
    return out
