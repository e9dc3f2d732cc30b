"""``webwalker``: the WebWalker agent (Wu et al. 2025, "WebWalker: Benchmarking LLMs in Web Traversal").

The method of the WebWalker paper's "WebWalker" column (GPT-4o: 37.50 overall), in its
setting: the agent gets the question and the site's ``root_url`` and can only click the
site's own links. Two agents share the work (WebWalker's ``src/agent.py``):

- **Explorer** (the evaluated model): sees the root page (markdown text + numbered
  buttons), then clicks one button per step (``click``); it explores and never answers.
- **Critic** (model role ``critic``; unbound: the evaluated model, as in WebWalker): after
  every page the explorer opens, (1) reads the page and says whether it holds information
  useful for the question (``{"usefulness": true, "information": "..."}``); useful
  information is appended to a **memory**; (2) when the memory grew, decides from the
  memory alone whether the question can be answered (``{"judge": true, "answer": "..."}``).
  A positive verdict ends the run; its answer is what the judge grades.
- **Step limit** ``max_steps`` explorer calls (default 15: the largest budget of WebWalker's
  demo, which allows 1-15 and starts at 10; the code takes the cap as ``action_count``).
  When it runs out without a critic verdict, the answer is empty (scored ``no_answer``),
  as WebWalker gives no answer then.

Differences from the original, all recorded here: the explorer acts through native tool
calls (WebWalker parses ``Action:`` / ``Action Input:`` from text in a ReAct prompt);
when a reply has several tool calls only the first is run (one action per step); a
reply without a tool call is answered with :data:`EXPLORER_NUDGE` and uses up its step
(WebWalker also spends the call); the critic is not consulted after a click that opened
no page (unknown button, fetch failure), which WebWalker does; the critic's JSON is
parsed (WebWalker tests whether the reply contains the substring ``true``), and a reply
that is not the requested JSON counts as "no" and is counted in the store. Buttons are
numbered (``[3] News``) rather than WebWalker's ``<button>News<button>`` lines; pages are
fetched with httpx (``harness/web/fetch.py``), not a browser. The prompts are paraphrases.

The sample's store holds ``webwalker`` (:class:`WalkerRecord`: steps, memory, why it
stopped, critic calls and unreadable replies), ``web_visited`` and ``web_clicks``.
"""

from __future__ import annotations

import json
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    Model,
    ModelOutput,
    execute_tools,
    get_model,
)
from inspect_ai.solver import Generate, Solver, TaskState, chain, prompt_template, solver
from pydantic import BaseModel, Field

from harness.calls import CallKind, fill, message
from harness.web.fetch import FetchSettings, WebClient
from solvers.base import BuiltSolver
from solvers.web import WALKER_USER
from solvers.web_tools import WalkerSession, click_tool

CRITIC_ROLE = "critic"

EXPLORER_INSTRUCTIONS = """\
You explore one official website to find the pages that answer a question. Every \
observation shows a web page as text followed by its numbered buttons (the links of that \
site). At every step, click exactly one button with the `click` tool; buttons from \
earlier pages stay clickable, so when a path leads nowhere go back and try another. \
Information is often one or two levels deep (news, events, calls, 'read more'): dig for \
it. Do not refuse and do not write an answer yourself: a separate reader collects what \
you find and answers. Just keep exploring."""
"""The explorer's system prompt (a paraphrase of WebWalker's ``SYSTEM_EXPLORER``)."""

EXPLORER_NUDGE = "Keep exploring: click one button with the `click` tool."
"""Sent when the explorer replies without a tool call."""

CRITIC_INFORMATION_PROMPT = """\
You extract information for a question from one web page. Decide whether the page holds \
information that helps answer the question. If it does, reply with the JSON object \
{"usefulness": true, "information": "<the useful information, as a string>"}; if it does \
not, reply with {"usefulness": false}. Reply with the JSON object only."""
"""Critic, step 1 (a paraphrase of WebWalker's ``STSTEM_CRITIIC_INFORMATION``)."""

CRITIC_INFORMATION_USER = """\
Question: {question}

Page observation:
{observation}"""

CRITIC_ANSWER_PROMPT = """\
You decide whether the information gathered so far is enough to answer a question. If it \
is, reply with the JSON object {"judge": true, "answer": "<the answer, as a string>"}; if \
it is not, reply with {"judge": false}. Reply with the JSON object only."""
"""Critic, step 2 (a paraphrase of WebWalker's ``STSTEM_CRITIIC_ANSWER``)."""

CRITIC_ANSWER_USER = """\
Question: {question}

Information gathered so far:
{memory}"""

MAX_CRITIC_REPLY = 20_000
"""Characters of a critic reply parsed (the JSON object is found within them)."""
MAX_MEMORY_ITEM = 2_000
"""Characters kept of each memory entry."""


class WalkerRecord(BaseModel):
    """What the WebWalker agent did in one sample (stored as ``webwalker``)."""

    steps: int = 0
    """Explorer calls made."""
    memory: list[str] = Field(default_factory=list)
    stop: str = "running"
    """``answered`` (the critic answered), ``step_limit`` (no answer) or
    ``root_unreachable`` (the root page could not be opened, twice: no answer, no steps)."""
    critic_calls: int = 0
    critic_unreadable: int = 0
    """Critic replies that were not the requested JSON (counted as "no")."""
    extra_tool_calls: int = 0
    """Tool calls beyond the first in one explorer reply (not run)."""


def parse_verdict(reply: str, flag: str, field: str) -> tuple[bool | None, str]:
    """``(flag value, field text)`` from a critic's JSON reply; ``(None, "")`` if unreadable.

    The object is taken from the first ``{`` to the last ``}`` of the reply's first
    ``MAX_CRITIC_REPLY`` characters (models wrap JSON in prose or code fences). A flag
    written as the string ``"true"``/``"false"`` is accepted; a non-string field is
    rendered as JSON.
    """
    text = reply[:MAX_CRITIC_REPLY]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None, ""
    try:
        data = json.loads(text[start : end + 1])
    except (ValueError, RecursionError):
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    value = data.get(flag)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        return None, ""
    content: Any = data.get(field)
    if content is None:
        text_value = ""
    elif isinstance(content, str):
        text_value = content.strip()
    else:
        text_value = json.dumps(content, ensure_ascii=False)
    return value, text_value


def critic_prompt(kind: CallKind, template: str, **values: str) -> ChatMessage:
    """The critic's user message: ``template`` filled in one pass, tagged as a ``kind`` call."""
    return message(kind, fill(template, values))


async def critic_verdict(
    critic: Model, record: WalkerRecord, system: str, user: ChatMessage, flag: str, field: str
) -> tuple[bool, str]:
    """One critic call: (positive?, text). An unreadable reply is a "no" and is counted."""
    output = await critic.generate([ChatMessageSystem(content=system), user])
    record.critic_calls += 1
    verdict, text = parse_verdict(output.completion, flag, field)
    if verdict is None:
        record.critic_unreadable += 1
        return False, ""
    return verdict, text


@solver
def webwalker_agent(client: WebClient, max_steps: int, instructions: str) -> Solver:
    """Explorer + critic on the sample's ``root_url`` (see module docstring)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        root_url = str((state.metadata or {}).get("root_url") or "")
        if not root_url:
            raise ValueError(
                f"sample {state.sample_id} has no metadata.root_url: the WebWalker agent needs one "
                "(use -T setting=search for question-only data)"
            )
        question = state.user_prompt.text
        session = WalkerSession(client, root_url, max_clicks=max_steps)
        observation = await session.open(root_url)
        if not session.last_opened:  # one retry: transient failures are not cached
            observation = await session.open(root_url)
        explorer = get_model()
        critic = get_model(role=CRITIC_ROLE, default=explorer)
        tools = [click_tool(session)]
        record = WalkerRecord()
        state.messages = [
            ChatMessageSystem(content=instructions),
            ChatMessageUser(content=WALKER_USER.format(question=question, root_url=root_url, observation=observation)),
        ]
        answer = ""
        try:
            if not session.last_opened:
                record.stop = "root_unreachable"  # no page, nothing for the critic to read
                max_steps_left = 0
            else:
                max_steps_left = max_steps
            while record.steps < max_steps_left:
                record.steps += 1
                output = await explorer.generate(state.messages, tools=tools)
                state.output = output
                message = output.message
                state.messages.append(message)
                calls = message.tool_calls or []
                if not calls:
                    state.messages.append(ChatMessageUser(content=EXPLORER_NUDGE))
                    continue
                if len(calls) > 1:
                    record.extra_tool_calls += len(calls) - 1
                    message.tool_calls = calls[:1]
                result = await execute_tools(state.messages, tools)
                state.messages.extend(result.messages)
                if not session.last_opened:
                    continue
                page = result.messages[-1].text
                useful, information = await critic_verdict(
                    critic, record, CRITIC_INFORMATION_PROMPT,
                    critic_prompt("walker_information", CRITIC_INFORMATION_USER, question=question, observation=page),
                    "usefulness", "information",
                )
                if not useful or not information:
                    continue
                record.memory.append(information[:MAX_MEMORY_ITEM])
                memory = "\n".join(f"{i}. {m}" for i, m in enumerate(record.memory, 1))
                judged, text = await critic_verdict(
                    critic, record, CRITIC_ANSWER_PROMPT,
                    critic_prompt("walker_answer", CRITIC_ANSWER_USER, question=question, memory=memory),
                    "judge", "answer",
                )
                if judged and text:
                    answer = text
                    break
            if record.stop == "running":
                record.stop = "answered" if answer else "step_limit"
        finally:
            state.store.set("webwalker", record.model_dump())
            state.store.set("web_visited", list(session.visited))
            state.store.set("web_clicks", session.clicks)
        if answer:
            state.messages.append(ChatMessageAssistant(content=f"Final answer (from the critic's memory): {answer}"))
        state.output = ModelOutput.from_content(model=explorer.name, content=answer)
        return state

    return solve


def webwalker(
    template: str,
    max_steps: int = 15,
    timeout: float = 20.0,
    max_page_chars: int = 20_000,
    max_page_bytes: int = 2_000_000,
    instructions: str = EXPLORER_INSTRUCTIONS,
) -> BuiltSolver:
    """The WebWalker agent: explorer clicks from ``metadata.root_url``, critic with memory answers.

    ``max_steps`` explorer calls (15); ``timeout`` seconds per page; ``max_page_chars``
    characters of page text shown; ``max_page_bytes`` bytes read per page;
    ``instructions`` the explorer's system prompt. Critic model: role ``critic``.
    """
    settings = FetchSettings(timeout=timeout, max_chars=max_page_chars, max_bytes=max_page_bytes)
    client = WebClient(settings)
    return BuiltSolver(
        solver=chain(prompt_template(template), webwalker_agent(client, max_steps, instructions)),
        metadata={"setting": "webwalker", "max_steps": max_steps, "critic_role": CRITIC_ROLE, "fetch": settings.model_dump()},
    )
