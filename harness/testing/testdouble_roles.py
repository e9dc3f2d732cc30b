"""The TEST DOUBLE's replies to the harness's judge and role calls (tagged with :mod:`harness.calls`).

``testdouble/...`` in oracle mode answers a tagged call in the exact format its parser
reads, with no ``[TEST DOUBLE]`` text in it (the reply is labelled in the output's
metadata and by the model name instead). Verdicts are computed from what the prompt shows,
the fields read at their tagged spans, so the metrics are real numbers that follow the
sample's target and the policy's ``p_correct``:

- **final answer** of a reply: its last ``<answer>...</answer>``, else its last
  ``\\boxed{...}``, else the whole text; two answers **agree** when they are equal after
  case folding, whitespace collapsing and stripping edge punctuation.
- ``web_judge``: ``GRADE: CORRECT`` when the STUDENT ANSWER's final answer agrees with the
  CONTEXT (gold), else ``GRADE: INCORRECT``, after a one-line EXPLANATION.
- ``alpaca_judge``: each output is rated by whether it agrees with the sample's target
  (the AlpacaEval task's target is the reference output); equal ratings give
  P(m) = P(M) = 0.5, otherwise the better output gets :data:`PREFERENCE`. The reply is the
  more likely identifier (``m`` on a tie), with both in the first token's top logprobs
  when the call asks for logprobs.
- ``lsp_challenger``: an arithmetic instruction (``What is 17 times 23?``) drawn from
  (seed, sample, epoch, query); ``lsp_solver``: its value when the ``p_correct`` draw says
  correct, else the value + 1, written like the policy's oracle answers; ``lsp_reward`` /
  ``lsp_quality``: the top of the range (all seven rubric points) when the response's final
  answer is the instruction's value, the bottom of the reward range (three rubric points)
  when it is not, the middle when the instruction is not one of these arithmetic ones.
- ``walker_information`` / ``page_summary`` (the WebWalker critic reading a page, the page
  reader): the page's line that holds the sample's target, if any (``{"usefulness": false}`` /
  "does not say" otherwise); ``walker_answer``: once the memory holds the target,
  ``{"judge": true, "answer": ...}`` with the target when the ``p_correct`` draw says correct,
  else a wrong answer; ``page_links``: the page's first listed links as ``n. title (url)``.

Nothing here is a model: it exercises the harness's plumbing with numbers that mean
"the policy's scripted answers were right this often".
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import string
from typing import Callable, NamedTuple

from inspect_ai.model import GenerateConfig, Logprob, Logprobs, TopLogprob

from harness.calls import TaggedCall
from harness.testing.testdouble import wrong_answer

PREFERENCE = 0.9
"""Probability the test double's AlpacaEval judge gives the output that agrees with the target
when the other does not."""

ARITHMETIC = re.compile(r"What is (\d{1,6}) (plus|minus|times) (\d{1,6})\?")
"""The test double Challenger's instructions (anchored by a literal prefix, bounded digits: linear)."""

MAX_READ = 100_000
"""Characters of a reply or field looked at when reading a final answer."""

_EDGES = string.punctuation + string.whitespace


class Reply(NamedTuple):
    content: str
    logprobs: Logprobs | None = None


def final_answer(text: str) -> str:
    """The last ``<answer>...</answer>`` block, else the last ``\\boxed{...}``, else the text."""
    text = text[-MAX_READ:]
    close = text.rfind("</answer>")
    if close >= 0:
        start = text.rfind("<answer>", 0, close)
        if start >= 0:
            return text[start + len("<answer>") : close]
    start = text.rfind("\\boxed{")
    if start >= 0:
        depth, i = 1, start + len("\\boxed{")
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i:j]
    return text


def normalise(text: str) -> str:
    return " ".join(text.casefold().split()).strip(_EDGES)


def agrees(reply: str, gold: str) -> bool:
    """Whether the reply's final answer is the gold one (see module docstring)."""
    expected = normalise(final_answer(gold))
    return bool(expected) and normalise(final_answer(reply)) == expected


def arithmetic_value(instruction: str) -> int | None:
    """The value of a test double Challenger instruction; None for any other instruction."""
    m = ARITHMETIC.search(instruction[:MAX_READ])
    if m is None:
        return None
    a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
    return a + b if op == "plus" else a - b if op == "minus" else a * b


def line_with(text: str, target: str | None) -> str | None:
    """The first line of ``text`` that holds ``target`` (normalised), cut to 500 characters."""
    wanted = normalise(target or "")
    if not wanted:
        return None
    for line in text[:MAX_READ].splitlines():
        if wanted in normalise(line):
            return line.strip()[:500]
    return None


def link_of(line: str) -> tuple[str, str] | None:
    """(title, url) of a ``- title (url)`` line of the page reader's content, else None."""
    line = line.strip()
    at = line.rfind(" (")
    if not line.startswith("- ") or not line.endswith(")") or at < 2:
        return None
    url = line[at + 2 : -1]
    return (line[2:at], url) if url.startswith(("http://", "https://")) and " " not in url else None


def challenger_instruction(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    a, b = 2 + digest[0] % 98, 2 + digest[1] % 98
    op = ("plus", "minus", "times")[digest[2] % 3]
    return f"What is {a} {op} {b}?"


class Context(NamedTuple):
    """What the test double knows besides the prompt: the sample's target, and its draws."""

    target: str | None
    key: str
    """``seed|sample id|epoch`` of the active sample: the stem of every deterministic draw."""
    correct: Callable[[str], bool]
    """Whether the policy answers correctly, drawn with p_correct for a key suffix."""
    policy_answer: Callable[[str, bool], str]
    """The policy's answer text for (answer, correct)."""


def reply(call: TaggedCall, config: GenerateConfig, ctx: Context) -> Reply:
    """The test double's reply to one tagged call."""
    fields = call.fields
    if call.kind == "web_judge":
        ok = agrees(fields.get("prediction", ""), fields.get("answer", ""))
        verdict = "matches" if ok else "does not match"
        return Reply(
            f"EXPLANATION: The student's final answer {verdict} the context once case, spacing and "
            f"punctuation are ignored.\nGRADE: {'CORRECT' if ok else 'INCORRECT'}"
        )
    if call.kind == "alpaca_judge":
        return alpaca_reply(fields.get("output_1", ""), fields.get("output_2", ""), ctx.target, config)
    if call.kind == "lsp_challenger":
        return Reply(challenger_instruction(f"{ctx.key}|q{call.info.get('query', 0)}"))
    if call.kind == "lsp_solver":
        value = arithmetic_value(fields.get("instruction", ""))
        if value is None:
            return Reply(ctx.policy_answer("(no answer: the test double only solves its own arithmetic instructions)", False))
        correct = ctx.correct(f"q{call.info.get('query', 0)}|a{call.info.get('answer', 0)}")
        return Reply(ctx.policy_answer(str(value if correct else value + 1), correct))
    if call.kind in ("walker_information", "page_summary"):
        line = line_with(fields.get("observation", fields.get("content", "")), ctx.target)
        if call.kind == "page_summary":
            return Reply(f"The page says: {line}" if line else "The page does not say.")
        return Reply(json.dumps({"usefulness": True, "information": line} if line else {"usefulness": False}))
    if call.kind == "walker_answer":
        if line_with(fields.get("memory", ""), ctx.target) is None or ctx.target is None:
            return Reply(json.dumps({"judge": False}))
        correct = ctx.correct(f"critic|{len(fields.get('memory', ''))}")
        return Reply(json.dumps({"judge": True, "answer": ctx.target if correct else wrong_answer(ctx.target)}))
    if call.kind == "page_links":
        links = [link for link in map(link_of, fields.get("content", "")[:MAX_READ].splitlines()) if link]
        links = links[: int(call.info.get("max_links", 5))]
        return Reply("\n".join(f"{i}. {title} ({url})" for i, (title, url) in enumerate(links, 1)) or "none")
    # lsp_reward / lsp_quality
    low, high = float(call.info.get("low", 0)), float(call.info.get("high", 10))
    value = arithmetic_value(fields.get("instruction", ""))
    ok = None if value is None else agrees(fields.get("response", ""), str(value))
    why = (
        "The instruction is not one the test double can check."
        if ok is None
        else f"The response's final answer is {'the' if ok else 'not the'} value the instruction asks for."
    )
    if call.kind == "lsp_quality":
        points = [1] * 7 if ok else [1, 1, 1] + [0] * 4 if ok is False else [1, 1, 1, 1] + [0] * 3
        total = min(sum(points), int(high))
        return Reply(f"{why}\n<Calculation>{'+'.join(map(str, points))}={total}</Calculation>\n<Score>{total}</Score>")
    score = high if ok else low if ok is False else math.floor((low + high) / 2)
    return Reply(f"{why}\n<Score>{int(score)}</Score>")


def alpaca_reply(output_1: str, output_2: str, target: str | None, config: GenerateConfig) -> Reply:
    """``m`` or ``M``: the output that agrees with the target (AlpacaEval's reference) wins."""
    q1 = target is not None and agrees(output_1, target)
    q2 = target is not None and agrees(output_2, target)
    p_second = 0.5 if q1 == q2 else PREFERENCE if q2 else 1.0 - PREFERENCE
    token = "M" if p_second > 0.5 else "m"
    if not config.logprobs:
        return Reply(token)
    lp = {"m": math.log(1.0 - p_second), "M": math.log(p_second)}
    top = [TopLogprob(token=t, logprob=v) for t, v in sorted(lp.items(), key=lambda kv: -kv[1])]
    return Reply(token, Logprobs(content=[Logprob(token=token, logprob=lp[token], top_logprobs=top)]))
