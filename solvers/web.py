"""Web agents for WebWalkerQA and AFM-100: the two settings whose numbers cannot be compared.

| | ``walker`` (WebWalker setting) | ``search`` (Training-Free GRPO setting) |
|---|---|---|
| agent is given | question + the site's ``root_url`` | question only |
| first observation | the root page: markdown text + numbered list of same-site buttons | none |
| tools | ``click(button)``: open a button seen on any page so far | ``web_search(query)`` (inspect's providers) and ``visit_page(url)`` |
| leaves the site? | no (same-site links only) | yes (any http(s) page, except ``blocked_domains`` and private hosts) |
| budget | ``max_clicks`` clicks (then the tool asks for the answer) | ``max_steps`` tool calls (message limit) |
| published range | <= 40% (WebWalker paper, GPT-4o) | 63-68% (Training-Free GRPO, DeepSeek-V3.1) |

Both run inspect's :func:`~inspect_ai.agent.react` agent; the answer is what the model
passes to ``submit()``. Pages come from :class:`harness.web.WebClient` (one per task
run, so its page cache is shared by the run's samples); every network failure is an
observation, never an error.

Not reproduced: WebWalker's critic/memory agent (the walker here is the paper's ReAct
baseline in the WebWalker setting) and youtu-agent's LLM page summariser in ``web_qa``
(``visit_page`` returns the page text and links themselves, with no extra LLM call).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from inspect_ai.agent import AgentPrompt, AgentSubmit, as_solver, react
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, chain, prompt_template, solver
from inspect_ai.tool import Tool, ToolDef, web_search
from inspect_ai.util import message_limit

from harness.web import FetchSettings, Link, WebClient, is_private_host, site_host
from solvers.base import BuiltSolver

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
"""First user message of the walker: ``{question}`` (the task's prompt applied to the
sample), ``{root_url}`` and ``{observation}`` (the root page)."""

SEARCH_INSTRUCTIONS = """\
You answer questions by researching the web. Do not trust your own memory: verify \
facts with the `web_search` tool and read the most authoritative pages with \
`visit_page`. Make one tool call per step and start with broad queries, then narrow \
down. When you have found the answer, call `submit()` with a concise, complete answer."""

BUDGET_EXHAUSTED = "You have used all {n} clicks. Call submit() now with your best answer."
UNKNOWN_BUTTON = (
    "There is no button '{button}' on the pages seen so far. Click a button by its number "
    "(e.g. \"3\") or its exact text from a button list."
)

SUBMIT = AgentSubmit(answer_only=True)
"""The submitted answer alone becomes the output the judge grades."""

DEFAULT_BLOCKED_DOMAINS = ("huggingface.co", "modelscope.cn/datasets", "grok.com/share")
"""Pages ``visit_page`` refuses in the search setting: copies of the dataset (answer
leakage), as youtu-agent's WebWalkerQA eval config bans them from search results."""

TOOL_MAX_OUTPUT = 128 * 1024
"""Bytes of a page observation passed to the model (pages are already cut by
``FetchSettings.max_chars`` / ``max_links``; inspect's own default cut is 16 KiB)."""


# ---------------------------------------------------------------------------------------
# walker


class WalkerSession:
    """One sample's walk: every button seen so far keeps a stable number."""

    def __init__(self, client: WebClient, root_url: str, max_clicks: int) -> None:
        self.client = client
        self.root_url = root_url
        self.max_clicks = max_clicks
        self.clicks = 0
        self.buttons: list[Link] = []
        self._ids: dict[tuple[str, str], int] = {}
        self._current: list[int] = []
        self.visited: list[str] = []
        """URLs opened, in order (the root first)."""

    async def open(self, url: str) -> str:
        page = await self.client.page(url, root_url=self.root_url)
        self.visited.append(page.final_url or url)
        if not page.ok:
            return page.observation()
        self._current = []
        labels = []
        for link in page.links:
            key = (link.text, link.url)
            if key not in self._ids:
                self.buttons.append(link)
                self._ids[key] = len(self.buttons)
            self._current.append(self._ids[key])
            labels.append(f"[{self._ids[key]}] {link.text}")
        return page.observation(link_labels=labels)

    def find(self, button: str) -> Link | None:
        """A button by number (``3``, ``[3]``) or exact text (current page first)."""
        key = str(button).strip()
        bare = key.strip("[]<> ").removeprefix("button>").removesuffix("<button").strip()
        if bare.isdigit():
            n = int(bare)
            return self.buttons[n - 1] if 1 <= n <= len(self.buttons) else None
        order = self._current + [i for i in range(1, len(self.buttons) + 1) if i not in self._current]
        for wanted in (key, bare):
            for i in order:
                if self.buttons[i - 1].text == wanted:
                    return self.buttons[i - 1]
        lowered = bare.lower()
        for i in order:
            if self.buttons[i - 1].text.lower() == lowered:
                return self.buttons[i - 1]
        return None

    async def click(self, button: str) -> str:
        if self.clicks >= self.max_clicks:
            return BUDGET_EXHAUSTED.format(n=self.max_clicks)
        link = self.find(button)
        if link is None:
            return UNKNOWN_BUTTON.format(button=str(button)[:100])
        self.clicks += 1
        observation = await self.open(link.url)
        left = self.max_clicks - self.clicks
        return f"{observation}\n\n(clicks left: {left})"


def click_tool(session: WalkerSession) -> Tool:
    async def execute(button: str) -> str:
        """Click a button and observe the page it opens.

        Args:
            button: The button's number from a button list (e.g. "3"), or its exact text.

        Returns:
            The page as text with its numbered buttons.
        """
        return await session.click(button)

    return ToolDef(
        execute,
        name="click",
        description="Click a button (a link of the website) seen on any page so far and observe the page it opens.",
        parallel=False,
        max_output=TOOL_MAX_OUTPUT,
    ).as_tool()


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
        agent = react(prompt=AgentPrompt(instructions=instructions), tools=[click_tool(session)], submit=SUBMIT)
        try:
            state = await as_solver(agent, limits=[message_limit(2 * max_clicks + 20)])(state, generate)
        finally:
            state.store.set("web_visited", list(session.visited))
            state.store.set("web_clicks", session.clicks)
        return state

    return solve


def walker(
    template: str,
    max_clicks: int = 15,
    timeout: float = 20.0,
    max_page_chars: int = 20_000,
    max_page_bytes: int = 2_000_000,
    instructions: str = WALKER_INSTRUCTIONS,
) -> BuiltSolver:
    """WebWalker setting: start at ``metadata.root_url``, act by clicking same-site buttons.

    ``max_clicks`` (WebWalker's demo allows 1-15, default 10); ``timeout`` seconds per page;
    ``max_page_chars`` characters of page text shown; ``max_page_bytes`` bytes read per page;
    ``instructions`` the system prompt.
    """
    settings = FetchSettings(timeout=timeout, max_chars=max_page_chars, max_bytes=max_page_bytes)
    client = WebClient(settings)
    return BuiltSolver(
        solver=chain(prompt_template(template), walker_agent(client, max_clicks, instructions, WALKER_USER)),
        metadata={"setting": "walker", "max_clicks": max_clicks, "fetch": settings.model_dump()},
    )


# ---------------------------------------------------------------------------------------
# search


@solver
def message_limited(agent: Any, max_messages: int) -> Solver:
    """Run ``agent`` with a fresh message limit per sample (a Limit is single-use)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await as_solver(agent, limits=[message_limit(max_messages)])(state, generate)

    return solve


def blocked(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """True if ``url`` is on one of ``domains`` (``host`` or ``host/path-prefix`` entries)."""
    host = site_host(url)
    path = urlparse(url).path.lstrip("/")
    for entry in domains:
        e_host, _, e_path = str(entry).lower().partition("/")
        e_host = e_host.removeprefix("www.")
        if host == e_host or host.endswith("." + e_host):
            if not e_path or path.startswith(e_path):
                return True
    return False


def visit_page_tool(
    client: WebClient, blocked_domains: tuple[str, ...] | list[str], allow_private_hosts: bool = False
) -> Tool:
    async def execute(url: str) -> str:
        """Open a web page and read it.

        Args:
            url: The page's full http(s) address.

        Returns:
            The page as text, followed by its links.
        """
        url = str(url).strip()
        if blocked(url, blocked_domains):
            return f"Could not open {url}: pages on this site are not allowed in this evaluation."
        if not allow_private_hosts and is_private_host(url):
            return f"Could not open {url}: local and private network addresses are not allowed."
        page = await client.page(url)
        return page.observation()

    return ToolDef(
        execute,
        name="visit_page",
        description="Open a web page by URL and read its text and links.",
        max_output=TOOL_MAX_OUTPUT,
    ).as_tool()


def search(
    template: str,
    search_providers: Any = None,
    max_steps: int = 20,
    timeout: float = 20.0,
    max_page_chars: int = 20_000,
    max_page_bytes: int = 2_000_000,
    blocked_domains: list[str] | tuple[str, ...] = DEFAULT_BLOCKED_DOMAINS,
    allow_private_hosts: bool = False,
    instructions: str = SEARCH_INSTRUCTIONS,
) -> BuiltSolver:
    """Training-Free GRPO setting: question only; ``web_search`` + ``visit_page``.

    ``search_providers`` is passed to inspect's ``web_search(providers=...)`` (e.g.
    ``tavily``, ``google``, ``exa``, ``[openai, tavily]``; default: the model's own
    provider search); ``max_steps`` tool calls (youtu-agent: max_turns 20);
    ``blocked_domains`` pages ``visit_page`` refuses; ``allow_private_hosts`` lets it open
    localhost and private-network IPs (refused by default: the model picks the URLs).
    """
    settings = FetchSettings(timeout=timeout, max_chars=max_page_chars, max_bytes=max_page_bytes)
    client = WebClient(settings)
    domains = tuple(blocked_domains or ())
    agent = react(
        prompt=AgentPrompt(instructions=instructions),
        tools=[web_search(search_providers), visit_page_tool(client, domains, allow_private_hosts)],
        submit=SUBMIT,
    )
    return BuiltSolver(
        solver=chain(prompt_template(template), message_limited(agent, 2 * max_steps + 4)),
        metadata={
            "setting": "search",
            "max_steps": max_steps,
            "search_providers": search_providers,
            "blocked_domains": list(domains),
            "fetch": settings.model_dump(),
        },
    )
