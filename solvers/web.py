"""Web agents for WebWalkerQA and AFM-100, in the two settings whose numbers cannot be compared.

| setting (``-T setting=``) | paper column it reproduces | agent is given | tools | budget |
|---|---|---|---|---|
| ``webwalker`` (``solvers/webwalker.py``) | WebWalker paper, "WebWalker" (GPT-4o 37.50) | question + ``root_url`` | ``click`` (explorer) + critic with memory | ``max_steps`` explorer steps (15) |
| ``walker_react`` | WebWalker paper, "ReAct" (GPT-4o 33.82) | question + ``root_url`` | ``click`` | ``max_clicks`` clicks (15) |
| ``search`` | Training-Free GRPO web, DeepSeek-V3.1: ReAct 63.2 (67.8 with a learned library, ``-T solver=tfgrpo -T base_solver=search``) | question only | ``search`` (Serper) + ``web_qa`` (page QA) | ``max_steps`` tool calls (20) |

``walker`` is the old name of ``walker_react`` (accepted, recorded as ``walker_react``).
The WebWalker setting's agents see the root page first (markdown text + numbered
same-site buttons) and can only click; the search agent starts from the question alone
and may open any page except ``blocked_domains`` and private addresses. Tools are in
``solvers/web_tools.py``; pages come from :class:`harness.web.fetch.WebClient` (one per task
run, so its cache is shared by the run's samples). Every tool failure is an
observation, never an error.

The ReAct agents (``walker_react``, ``search``) are inspect's :func:`~inspect_ai.agent.react`
with ONE system prompt, the setting's instructions (:data:`WALKER_INSTRUCTIONS`,
:data:`SEARCH_INSTRUCTIONS`; inspect's default assistant prompt is not added); the answer
is what the model passes to ``submit()``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from inspect_ai.agent import AgentPrompt, AgentSubmit, as_solver, react
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, chain, prompt_template, solver
from inspect_ai.tool import Tool
from inspect_ai.util import message_limit

from harness.web.fetch import JINA_READER_URL, FetchSettings, WebClient
from harness.web.serper import KEY_ENV as SERPER_KEY_ENV
from harness.web.serper import SerperClient
from solvers.base import BuiltSolver
from solvers.web_tools import (  # noqa: F401 - re-exported (older imports use solvers.web)
    BUDGET_EXHAUSTED,
    DEFAULT_BLOCKED_DOMAINS,
    TOOL_MAX_OUTPUT,
    UNKNOWN_BUTTON,
    WalkerSession,
    blocked,
    click_tool,
    inspect_search_tool,
    search_tool,
    visit_page_tool,
    web_qa_tool,
)

logger = logging.getLogger(__name__)

SETTINGS: dict[str, str] = {
    "webwalker": "WebWalker agent (explorer + critic with memory), root URL + click: the WebWalker paper's WebWalker column",
    "walker_react": "ReAct click baseline, root URL + click: the WebWalker paper's ReAct column",
    "search": "question only, search + page tools: Training-Free GRPO's web agent",
}
"""Setting name -> what it is (recorded as ``setting_description`` in the task metadata)."""

SETTING_ALIASES = {"walker": "walker_react"}
"""Old setting names -> current ones."""

WALKER_INSTRUCTIONS = """\
You answer a question by exploring one official website. Every observation shows a web \
page as text followed by its numbered buttons (the links of that site). Use the `click` \
tool to open a button, one per step; buttons from earlier pages stay clickable, so you \
can go back. Pages often hide the answer one or two levels down, so explore sub-pages \
(news, events, 'read more') instead of guessing. When you have found the information, \
call `submit()` with a concise, complete answer to the question. Never refuse: if the \
site does not give the answer, submit your best answer from what you saw."""

WALKER_USER = """\
Question: {question}

Official website: {root_url}

Observation:
{observation}"""
"""First user message of the WebWalker setting: ``{question}`` (the task's prompt applied
to the sample), ``{root_url}`` and ``{observation}`` (the root page)."""

SEARCH_INSTRUCTIONS = """\
You answer questions by researching the web.
- Do not rely on your own memory: check facts with the `{search_tool}` tool.
- When a search snippet does not settle the question but the result comes from an \
authoritative site, read that page with `{page_tool}`.
- For exact values (dates, numbers, names), trust reliable pages rather than snippets.
- Make exactly one tool call per step, and decide the next step from its result.
- Start with short, broad queries that find the official source, then narrow down; do \
not pack many keywords into one query.
- If one way fails, try another: the answer exists.
- When you are confident, call `submit()` with a concise, complete answer to the question."""
"""The search agent's whole system prompt (paraphrasing Training-Free GRPO's search
agent instructions); ``{search_tool}`` / ``{page_tool}`` become the tool names."""

SUBMIT = AgentSubmit(answer_only=True)
"""The submitted answer alone becomes the output the judge grades."""

SEARCH_ENGINES = ("serper", "inspect")
PAGE_TOOLS = ("web_qa", "visit_page")
READERS = ("jina", "direct")
JINA_KEY_ENV = "JINA_API_KEY"
JINA_URL_ENV = "JINA_READER_URL"


def agent_prompt(instructions: str) -> AgentPrompt:
    """The setting's instructions as the only system prompt (no inspect assistant/submit prompt)."""
    return AgentPrompt(instructions=instructions, assistant_prompt=None, submit_prompt=None, handoff_prompt=None)


# ---------------------------------------------------------------------------------------
# walker_react


@solver
def walker_agent(client: WebClient, max_clicks: int, instructions: str, user_template: str) -> Solver:
    """Open the sample's ``root_url``, then a react agent with ``click`` (see module docstring)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        root_url = str((state.metadata or {}).get("root_url") or "")
        if not root_url:
            raise ValueError(
                f"sample {state.sample_id} has no metadata.root_url: the walker setting needs one "
                "(use -T setting=search for question-only data)"
            )
        session = WalkerSession(client, root_url, max_clicks)
        observation = await session.open(root_url)
        question = state.user_prompt.text
        state.messages = [
            ChatMessageUser(
                content=user_template.format(question=question, root_url=root_url, observation=observation)
            )
        ]
        agent = react(prompt=agent_prompt(instructions), tools=[click_tool(session)], submit=SUBMIT)
        try:
            state = await as_solver(agent, limits=[message_limit(2 * max_clicks + 20)])(state, generate)
        finally:
            state.store.set("web_visited", list(session.visited))
            state.store.set("web_clicks", session.clicks)
        return state

    return solve


def walker_react(
    template: str,
    max_clicks: int = 15,
    timeout: float = 20.0,
    max_page_chars: int = 20_000,
    max_page_bytes: int = 2_000_000,
    instructions: str = WALKER_INSTRUCTIONS,
) -> BuiltSolver:
    """The WebWalker paper's ReAct baseline: start at ``metadata.root_url``, click same-site buttons, ``submit()``.

    ``max_clicks`` clicks (15: the WebWalker demo's largest budget, see ``solvers/webwalker.py``); ``timeout`` seconds per page;
    ``max_page_chars`` characters of page text shown; ``max_page_bytes`` bytes read per page;
    ``instructions`` the system prompt.
    """
    settings = FetchSettings(timeout=timeout, max_chars=max_page_chars, max_bytes=max_page_bytes)
    client = WebClient(settings)
    return BuiltSolver(
        solver=chain(prompt_template(template), walker_agent(client, max_clicks, instructions, WALKER_USER)),
        metadata={"setting": "walker_react", "max_clicks": max_clicks, "fetch": settings.model_dump()},
    )


walker = walker_react
"""Old name of :func:`walker_react`."""


# ---------------------------------------------------------------------------------------
# search


@solver
def message_limited(agent: Any, max_messages: int) -> Solver:
    """Run ``agent`` with a fresh message limit per sample (a Limit is single-use)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await as_solver(agent, limits=[message_limit(max_messages)])(state, generate)

    return solve


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    from inspect_ai._util.error import PrerequisiteError

    if value not in choices:
        raise PrerequisiteError(f"search: -T {name}={value} is not known; choose one of {', '.join(choices)}.")
    return value


def search(
    template: str,
    search_engine: str = "serper",
    search_providers: Any = None,
    serper_url: str | None = None,
    page_tool: str = "web_qa",
    reader: str = "jina",
    reader_url: str | None = None,
    reader_max_chars: int = 100_000,
    max_steps: int = 20,
    timeout: float = 30.0,
    max_page_chars: int = 20_000,
    max_page_bytes: int = 2_000_000,
    blocked_domains: list[str] | tuple[str, ...] = DEFAULT_BLOCKED_DOMAINS,
    allow_private_hosts: bool = False,
    instructions: str = SEARCH_INSTRUCTIONS,
) -> BuiltSolver:
    """Training-Free GRPO's web agent: question only; ``search`` + ``web_qa``; ``submit()``.

    - ``search_engine``: ``serper`` (Google via Serper, ``SERPER_API_KEY``; address
      ``serper_url``, else ``SERPER_BASE_URL``, else serper.dev) or ``inspect`` (inspect's
      ``web_search`` with ``search_providers``, e.g. ``tavily``, ``[openai, tavily]``).
    - ``page_tool``: ``web_qa`` (the page reader answers the agent's question about the page:
      model role ``page_reader``, default the evaluated model) or ``visit_page`` (the raw page).
    - ``reader``: how ``web_qa`` fetches pages: ``jina`` (``reader_url``, else
      ``JINA_READER_URL``, else ``https://r.jina.ai/``; ``JINA_API_KEY`` sent if set) or
      ``direct`` (httpx, as ``visit_page``); ``reader_max_chars`` characters of page given
      to the reader.
    - ``max_steps`` tool calls (youtu-agent: max_turns 20), via a message limit.
    - ``timeout`` seconds per request; ``max_page_chars`` / ``max_page_bytes`` for ``visit_page``.
    - ``blocked_domains``: never shown in results nor opened; ``allow_private_hosts`` lets
      the page tools open localhost / private IPs (refused by default: the model picks URLs).
    """
    _choice("search_engine", search_engine, SEARCH_ENGINES)
    _choice("page_tool", page_tool, PAGE_TOOLS)
    _choice("reader", reader, READERS)
    domains = tuple(blocked_domains or ())
    tools: list[Tool] = []
    metadata: dict[str, Any] = {
        "setting": "search",
        "max_steps": max_steps,
        "search_engine": search_engine,
        "page_tool": page_tool,
        "blocked_domains": list(domains),
    }
    if search_engine == "serper":
        serper = SerperClient(base_url=serper_url, timeout=timeout)
        if not serper.has_key:
            logger.warning(
                "search: %s is not set, so every search call will fail (the agent is told so). "
                "Set it, or use -T search_engine=inspect -T search_providers=...", SERPER_KEY_ENV
            )
        tools.append(search_tool(serper, domains))
        metadata.update(serper_url=serper.base_url, serper_key_set=serper.has_key)
    else:
        tools.append(inspect_search_tool(search_providers))
        metadata.update(search_providers=search_providers)
    if page_tool == "web_qa":
        settings = FetchSettings(timeout=timeout, max_chars=reader_max_chars, max_bytes=max_page_bytes)
        if reader == "jina":
            base = reader_url or os.environ.get(JINA_URL_ENV) or JINA_READER_URL
            key = os.environ.get(JINA_KEY_ENV, "").strip()
            client = WebClient(settings, reader=base, headers={"Authorization": f"Bearer {key}"} if key else None)
            metadata.update(reader_url=base, reader_key_set=bool(key))
        else:
            client = WebClient(settings)
        tools.append(web_qa_tool(client, domains, allow_private_hosts, reader_max_chars))
        metadata.update(reader=reader, reader_max_chars=reader_max_chars)
    else:
        settings = FetchSettings(timeout=timeout, max_chars=max_page_chars, max_bytes=max_page_bytes)
        tools.append(visit_page_tool(WebClient(settings), domains, allow_private_hosts))
    metadata.update(fetch=settings.model_dump())
    search_name = "search" if search_engine == "serper" else "web_search"
    prompt = instructions.replace("{search_tool}", search_name).replace("{page_tool}", page_tool)
    agent = react(prompt=agent_prompt(prompt), tools=tools, submit=SUBMIT)
    return BuiltSolver(
        solver=chain(prompt_template(template), message_limited(agent, 2 * max_steps + 4)),
        metadata=metadata,
    )
