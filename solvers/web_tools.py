"""The web agents' tools: ``search`` (Serper), ``web_qa`` (page QA), ``visit_page`` (raw page), ``click``.

| tool | used by | what the agent gets |
|---|---|---|
| ``search(query, num_results=5)`` | ``search`` setting | Google results via Serper (:mod:`harness.web.serper`): ``i. title (link)`` + snippet |
| ``web_search(query)`` | ``search`` with ``-T search_engine=inspect`` | inspect's own ``web_search`` (its providers) |
| ``web_qa(url, query)`` | ``search`` (default page tool) | ``Summary:`` an LLM's answer to ``query`` from the page, and ``Related Links:`` on it |
| ``visit_page(url)`` | ``search`` with ``-T page_tool=visit_page`` | the page itself: markdown text and its links |
| ``click(button)`` | ``walker_react``, ``webwalker`` | the page a button of the site opens, with its numbered buttons |

``web_qa`` is youtu-agent's page tool (``utu/tools/search_toolkit.py``): the page is
fetched (through the Jina reader by default, or directly with httpx), then two LLM
calls run concurrently on it, one answering the agent's question from the page and one
picking related links. The LLM is the ``page_reader`` model role (unbound: the model
under evaluation, as youtu-agent uses its agent's LLM). The page text given to it is cut
at ``reader_max_chars``. Suggested links that are not on the page are left out (the
reader is a model: its output is not trusted). The prompts are :data:`PAGE_QA_PROMPT`
and :data:`RELATED_LINKS_PROMPT`.

**Every tool failure is an observation**, never an error of the sample: no search key,
connection errors, timeouts, HTTP errors, non-HTML or huge pages, refused addresses. Each
one is also counted in the sample's store (``web_tool_failures``: tool and reason), so a
run whose searches all failed is visible in the log. A failing *model* call of the page
reader is not a web failure: it fails the sample as any model error does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from inspect_ai.model import ChatMessage, get_model
from inspect_ai.tool import Tool, ToolDef, web_search
from inspect_ai.util import LimitExceededError, collect, store

from harness.calls import fill, message
from harness.web.fetch import Link, Page, WebClient, is_private_host, site_host
from harness.web.serper import SerperClient, format_results

TOOL_MAX_OUTPUT = 128 * 1024
"""Bytes of a page observation passed to the model (pages are already cut by
``FetchSettings.max_chars`` / ``max_links``; inspect's own default cut is 16 KiB)."""

DEFAULT_BLOCKED_DOMAINS = ("huggingface.co", "modelscope.cn/datasets", "grok.com/share")
"""Sites the search setting never shows or opens: copies of the dataset (answer leakage),
as youtu-agent's WebWalkerQA eval config bans them from search results."""

MAX_URL_CHARS = 2000

READER_ROLE = "page_reader"
"""Model role of ``web_qa``'s reader (unbound: the model under evaluation)."""
READER_MAX_OUTPUT = 10_000
"""Characters kept of each reader answer."""
MAX_RELATED_LINKS = 10
DEFAULT_PAGE_QUESTION = "Summarize the content of this web page, in the language of the page."
"""``web_qa``'s question when the agent gives none (youtu-agent's default)."""

PAGE_QA_PROMPT = """\
You read one web page for a research assistant and answer its question from that page.
- Report only what the page itself says that bears on the question: keep it short and \
exact, with names, dates and numbers as the page writes them.
- If the page does not answer the question, say so, and say what close information it \
does contain.
- Write in the language of the question.

<question>
{query}
</question>

<page url="{url}">
{content}
</page>"""
"""``web_qa``'s first reader call: the answer to the agent's question (``Summary:``)."""

RELATED_LINKS_PROMPT = """\
You read one web page for a research assistant and pick the links on it most likely to \
lead to the answer of its question.
- List at most {max_links} links, most promising first, one per line, as: \
number. title (url)
- Use only links that appear on the page below, with their address copied exactly; do \
not list the page's own address.
- If no link on the page is relevant, write: none

<question>
{query}
</question>

<page url="{url}">
{content}
</page>"""
"""``web_qa``'s second reader call: related links (``Related Links:``)."""


def record_failure(tool: str, reason: str) -> None:
    """Count a tool failure in the sample's store (``web_tool_failures``)."""
    try:
        s = store()
    except Exception:  # outside a sample (unit tests of a tool)
        return
    failures = list(s.get("web_tool_failures", []))
    failures.append({"tool": tool, "reason": reason[:300]})
    s.set("web_tool_failures", failures)


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


def refusal(url: str, blocked_domains: tuple[str, ...] | list[str], allow_private_hosts: bool) -> str | None:
    """Why the agent may not open ``url`` (None if it may)."""
    if len(url) > MAX_URL_CHARS:
        return f"Could not open {url[:100]}...: the address is longer than {MAX_URL_CHARS} characters."
    if blocked(url, blocked_domains):
        return f"Could not open {url}: pages on this site are not allowed in this evaluation."
    if not allow_private_hosts and is_private_host(url):
        return f"Could not open {url}: local and private network addresses are not allowed."
    return None


# ---------------------------------------------------------------------------------------
# search


def search_tool(client: SerperClient, blocked_domains: tuple[str, ...] | list[str] = ()) -> Tool:
    """``search(query, num_results=5)``: Google results through Serper (never raises)."""

    async def execute(query: str, num_results: int = 5) -> str:
        """Search the web (Google) for pages about a query.

        Write concrete, short queries; Google operators work: "..." for an exact phrase,
        -word to exclude, site:example.org, filetype:pdf, before:YYYY-MM-DD, after:YYYY-MM-DD.

        Args:
            query: The search query.
            num_results: How many results to show (1 to 10).

        Returns:
            Numbered results: title (link), then the result's snippet.
        """
        outcome = await client.search(str(query))
        if outcome.ok:
            outcome = outcome.model_copy(
                update={"results": [r for r in outcome.results if not blocked(r.link, blocked_domains)]}
            )
        else:
            record_failure("search", outcome.error or "")
        try:
            n = int(num_results)
        except (TypeError, ValueError):
            n = 5
        return format_results(outcome, max(1, min(n, 10)))

    return ToolDef(execute, name="search", max_output=TOOL_MAX_OUTPUT).as_tool()


def inspect_search_tool(providers: Any) -> Tool:
    """inspect's ``web_search(providers)``, with provider errors returned to the agent."""
    inner = ToolDef(web_search(providers))

    async def execute(query: str) -> Any:
        try:
            return await inner.tool(query=query)
        except LimitExceededError:
            raise
        except Exception as ex:  # e.g. a missing provider key, a network error
            reason = f"{type(ex).__name__}: {' '.join(str(ex).split())[:200]}"
            record_failure("web_search", reason)
            return f"Search for '{str(query)[:200]}' failed: {reason}"

    return ToolDef(
        execute,
        name=inner.name,
        description=inner.description,
        parameters=inner.parameters,
        options=inner.options,
        max_output=TOOL_MAX_OUTPUT,
    ).as_tool()


# ---------------------------------------------------------------------------------------
# pages


_URL = re.compile(r"https?://[^\s<>\"'`()\[\]{}|\\^]+")
_TRAILING = ".,;:!?*_~"


def page_urls(text: str) -> set[str]:
    """Every http(s) address written in ``text`` (linear-time scan; trailing punctuation dropped)."""
    return {m.group(0).rstrip(_TRAILING) for m in _URL.finditer(text)}


def reader_content(page: Page, max_chars: int) -> str:
    """What the page reader sees: the page text, then (for a direct fetch) its links."""
    parts = []
    if page.title:
        parts.append(f"Title: {page.title}")
    if page.js_required:
        parts.append("(Note: this page needs JavaScript, which was not run; its text may be missing.)")
    parts.append(page.markdown or "(no text on this page)")
    if page.links:
        parts.append("Links on the page:\n" + "\n".join(f"- {l.text} ({l.url})" for l in page.links))
    content = "\n\n".join(parts)
    return content[:max_chars]


def keep_page_links(reply: str, allowed: set[str], max_links: int = MAX_RELATED_LINKS) -> tuple[list[str], int]:
    """Lines of the reader's link list whose every address is on the page; (kept, dropped)."""
    kept: list[str] = []
    dropped = 0
    for line in reply[:READER_MAX_OUTPUT].splitlines():
        urls = page_urls(line)
        if not urls:
            continue
        if urls <= allowed:
            if len(kept) < max_links:
                kept.append(line.strip()[:500])
        else:
            dropped += 1
    return kept, dropped


async def open_page(
    tool: str, client: WebClient, url: str, blocked_domains: tuple[str, ...] | list[str], allow_private_hosts: bool
) -> tuple[Page | None, str]:
    """The page at ``url``, or None and the observation that says why not (refused or failed;
    recorded as the tool's failure)."""
    refused = refusal(url, blocked_domains, allow_private_hosts)
    if refused:
        record_failure(tool, refused)
        return None, refused
    page = await client.page(url)
    if not page.ok:
        record_failure(tool, page.error or "")
        return None, page.observation()
    return page, ""


def web_qa_tool(
    client: WebClient,
    blocked_domains: tuple[str, ...] | list[str] = (),
    allow_private_hosts: bool = False,
    reader_max_chars: int = 100_000,
    reader_role: str = READER_ROLE,
) -> Tool:
    """``web_qa(url, query)``: the page reader's answer and related links (see module docstring)."""

    async def execute(url: str, query: str = "") -> str:
        """Ask a question about one web page: get the answer found on the page and related links on it.

        Use it to read a page found by search: ask a clear, specific question.

        Args:
            url: The page's full http(s) address.
            query: The question to answer from the page.

        Returns:
            Summary: what the page says about the question. Related Links: links on the page worth following.
        """
        url = str(url).strip()
        page, failed = await open_page("web_qa", client, url, blocked_domains, allow_private_hosts)
        if page is None:
            return failed
        question = str(query).strip()[:2000] or DEFAULT_PAGE_QUESTION
        content = reader_content(page, reader_max_chars)
        reader = get_model(role=reader_role, default=get_model())

        async def ask(prompt: ChatMessage) -> str:
            output = await reader.generate([prompt])
            return output.completion.strip()[:READER_MAX_OUTPUT]

        fields = {"query": question, "url": page.final_url or url, "content": content}
        summary, links_reply = await collect(
            ask(message("page_summary", fill(PAGE_QA_PROMPT, fields))),
            ask(message("page_links", fill(RELATED_LINKS_PROMPT, {**fields, "max_links": str(MAX_RELATED_LINKS)}),
                        max_links=MAX_RELATED_LINKS)),
        )
        allowed = page_urls(content) | {l.url for l in page.links}
        kept, dropped = keep_page_links(links_reply, allowed)
        notes = []
        if page.truncated:
            notes.append("(The page is very large; only its beginning was read.)")
        if page.js_required:
            notes.append("(The page needs JavaScript, which was not run; its text may be missing.)")
        links_text = "\n".join(kept) if kept else "(none)"
        if dropped:
            links_text += f"\n({dropped} suggested links that are not on the page were left out.)"
        return "\n".join(notes + [f"Summary: {summary or '(empty)'}", "", f"Related Links:\n{links_text}"])

    return ToolDef(execute, name="web_qa", max_output=TOOL_MAX_OUTPUT).as_tool()


def visit_page_tool(
    client: WebClient, blocked_domains: tuple[str, ...] | list[str], allow_private_hosts: bool = False
) -> Tool:
    """``visit_page(url)``: the raw page (markdown text and links), no LLM in between."""

    async def execute(url: str) -> str:
        """Open a web page and read it.

        Args:
            url: The page's full http(s) address.

        Returns:
            The page as text, followed by its links.
        """
        page, failed = await open_page("visit_page", client, str(url).strip(), blocked_domains, allow_private_hosts)
        return failed if page is None else page.observation()

    return ToolDef(
        execute,
        name="visit_page",
        description="Open a web page by URL and read its text and links.",
        max_output=TOOL_MAX_OUTPUT,
    ).as_tool()


# ---------------------------------------------------------------------------------------
# click (WebWalker setting)

BUDGET_EXHAUSTED = "You have used all {n} clicks. Call submit() now with your best answer."
UNKNOWN_BUTTON = (
    "There is no button '{button}' on the pages seen so far. Click a button by its number "
    "(e.g. \"3\") or its exact text from a button list."
)


class WalkerSession:
    """One sample's walk through a site: every button seen so far keeps a stable number."""

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
        self.last_opened = False
        """Whether the last click opened a page (False: unknown button, budget, fetch failure)."""

    async def open(self, url: str) -> str:
        page = await self.client.page(url, root_url=self.root_url)
        self.visited.append(page.final_url or url)
        self.last_opened = page.ok
        if not page.ok:
            record_failure("click", page.error or "")
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
        current = set(self._current)
        order = self._current + [i for i in range(1, len(self.buttons) + 1) if i not in current]
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
        self.last_opened = False
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
