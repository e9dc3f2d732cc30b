"""What the harness's own model calls are: a tag on the prompt message of every judge and role call.

A scorer or solver that calls a model in a fixed role (a judge, the self-play Challenger...)
fills its prompt template with :func:`fill` and sends the message built by :func:`message`:
the message's ``metadata`` holds a :class:`CallTag` naming the kind of call and where each
filled-in field sits in the message text. Providers never send message metadata to a
model, so a real model sees exactly the prompt; the log keeps the tag with the message.

The offline test double (:mod:`harness.testing.testdouble_roles`) reads the tag to answer each call
in the format its parser expects, from the prompt text itself (the fields are read at
their spans): there is one place per prompt (its module's constant), and no copy of any
prompt text elsewhere. Tagging works for user-supplied judge prompts too
(``-T judge_prompt=``), since the fields are located while filling, not found afterwards.

Placeholders: ``{name}`` (AlpacaEval's and LangChain's style) or ``{{ name }}`` (Jinja, as
youtu-agent writes them) for the names a caller gives; they are replaced in one pass, so a
filled-in value that itself contains ``{name}`` is never substituted again. Every other
brace is literal text.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Sequence

from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
from pydantic import BaseModel, Field

TAG_KEY = "harness_call"
"""Key of the :class:`CallTag` in ``ChatMessage.metadata``."""

CallKind = Literal[
    "alpaca_judge",  # scorers/alpacaeval.py: m or M, logprobs (fields instruction, output_1, output_2)
    "web_judge",  # scorers/web_judge.py: GRADE: CORRECT|INCORRECT (fields question, answer, prediction)
    "lsp_reward",  # scorers/self_play.py: <Score>k</Score> in [low, high] (fields instruction, response)
    "lsp_quality",  # scorers/self_play.py: <Calculation>..</Calculation><Score>k</Score> in [low, high]
    "lsp_challenger",  # solvers/self_play.py: one instruction (info: query)
    "lsp_solver",  # solvers/self_play.py: an answer to the instruction (info: query, answer)
    "walker_information",  # solvers/webwalker.py critic: {"usefulness": ..., "information": ...} (question, observation)
    "walker_answer",  # solvers/webwalker.py critic: {"judge": ..., "answer": ...} (question, memory)
    "page_summary",  # solvers/web_tools.py page reader: what the page says (query, url, content)
    "page_links",  # solvers/web_tools.py page reader: "n. title (url)" lines (query, url, content; info: max_links)
]


class CallTag(BaseModel):
    """The tag on one prompt message (``metadata[TAG_KEY]``)."""

    kind: CallKind
    fields: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """Field name -> ``[start, end)`` of its filled-in value in this message's text."""
    info: dict[str, Any] = Field(default_factory=dict)
    """Call details that are not prompt text (a score range, the query and answer index)."""


class Filled(BaseModel):
    """A template with its fields filled in, and where each field's value sits."""

    text: str
    spans: dict[str, tuple[int, int]] = Field(default_factory=dict)


def placeholder_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """``{name}`` or ``{{ name }}`` for the given names (linear time: alternatives of literals)."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(r"\{\{\s*(" + alternatives + r")\s*\}\}|\{(" + alternatives + r")\}")


def placeholders(template: str, names: Sequence[str]) -> list[str]:
    """The placeholders of ``names`` in ``template``, in order (repeats kept)."""
    return [m.group(1) or m.group(2) for m in placeholder_pattern(names).finditer(template)]


def fill(template: str, values: Mapping[str, str], strip: bool = False) -> Filled:
    """Replace each placeholder of ``values`` in one pass and record where each value went.

    ``strip`` strips the result (AlpacaEval strips every chat-ML message after filling it);
    the spans are shifted and clipped accordingly. A field used twice keeps its first span.
    """
    parts: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    at = 0
    length = 0
    for m in placeholder_pattern(list(values)).finditer(template):
        literal = template[at : m.start()]
        parts.append(literal)
        length += len(literal)
        name = m.group(1) or m.group(2)
        value = str(values[name])
        spans.setdefault(name, (length, length + len(value)))
        parts.append(value)
        length += len(value)
        at = m.end()
    parts.append(template[at:])
    text = "".join(parts)
    if strip:
        lead = len(text) - len(text.lstrip())
        text = text.strip()
        spans = {k: (max(0, s - lead), max(0, min(len(text), e - lead))) for k, (s, e) in spans.items()}
    return Filled(text=text, spans=spans)


def tag(kind: CallKind, filled: Filled | None = None, **info: Any) -> dict[str, Any]:
    """The message metadata that tags a call of ``kind``."""
    spans = filled.spans if filled is not None else {}
    return {TAG_KEY: CallTag(kind=kind, fields=spans, info=info).model_dump(mode="json")}


def message(
    kind: CallKind, filled: Filled, role: Literal["user", "system", "assistant"] = "user", **info: Any
) -> ChatMessage:
    """A chat message holding ``filled.text``, tagged as a call of ``kind``."""
    metadata = tag(kind, filled, **info)
    if role == "system":
        return ChatMessageSystem(content=filled.text, metadata=metadata)
    if role == "assistant":
        return ChatMessageAssistant(content=filled.text, metadata=metadata)
    return ChatMessageUser(content=filled.text, metadata=metadata)


class TaggedCall(BaseModel):
    """A tagged call as the receiving model sees it: its kind, details and field values."""

    kind: CallKind
    info: dict[str, Any] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)


def read_call(messages: Sequence[ChatMessage]) -> TaggedCall | None:
    """The tagged call among ``messages`` (the fields read from each tagged message's text), or None."""
    found: TaggedCall | None = None
    for m in messages:
        raw = (m.metadata or {}).get(TAG_KEY)
        if not isinstance(raw, dict):
            continue
        try:
            call_tag = CallTag.model_validate(raw)
        except ValueError:
            continue
        text = m.text
        if found is None:
            found = TaggedCall(kind=call_tag.kind, info=dict(call_tag.info))
        for name, (start, end) in call_tag.fields.items():
            found.fields.setdefault(name, text[start:end])
    return found
