"""Google search through the Serper API (serper.dev), the search tool of Training-Free GRPO's web agent.

youtu-agent's ``search(query, num_results=5)`` tool (``utu/tools/search/google_search.py``)
POSTs ``{"q": query, "num": 10}`` to ``https://google.serper.dev/search`` with the
``X-API-KEY`` header, keeps the ``organic`` results, drops banned sites, and shows the top
``num_results`` as ``i. title (link)`` plus a ``snippet:`` line. :class:`SerperClient` does
the same with httpx:

- **Key** from ``SERPER_API_KEY``; **address** from the ``base_url`` option, else
  ``SERPER_BASE_URL``, else ``https://google.serper.dev`` (a local or self-hosted endpoint
  speaking Serper's JSON works the same; requests go to ``<base>/search``).
- **Failures never raise**: no key, connection error, timeout, HTTP 4xx/5xx (with Serper's
  own ``message``), a body that is not Serper's JSON, or one larger than ``max_bytes``
  come back as a :class:`SearchOutcome` whose ``error`` is a sentence for the agent.
- **Bounded**: the body is read up to ``max_bytes``; at most ``MAX_RESULTS`` results are
  kept; titles, snippets and links are cut (``MAX_TITLE``, ``MAX_SNIPPET``, ``MAX_URL``).
- **Cache** per task run (as youtu-agent caches every query): a query asked again is not
  sent again; transient failures (timeouts, 5xx, 429) are not cached.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Any

import anyio
import httpx
from pydantic import BaseModel, Field

from harness.web.fetch import USER_AGENT, _ssl_context, describe_http_error

SERPER_URL = "https://google.serper.dev"
KEY_ENV = "SERPER_API_KEY"
BASE_URL_ENV = "SERPER_BASE_URL"

REQUESTED_RESULTS = 10
"""Results asked of Serper per query (youtu-agent asks 10 and shows the top ``num_results``)."""
MAX_RESULTS = 10
MAX_TITLE = 300
MAX_SNIPPET = 1000
MAX_URL = 2000
MAX_SITELINKS = 6
MAX_QUERY_CHARS = 2000
"""Longer queries are refused (Google's own limit is far lower)."""


class SiteLink(BaseModel):
    title: str = ""
    link: str = ""


class SearchResult(BaseModel):
    title: str = ""
    link: str = ""
    snippet: str = ""
    date: str = ""
    sitelinks: list[SiteLink] = Field(default_factory=list)


class SearchOutcome(BaseModel):
    """The results of one query, or why there are none."""

    query: str
    results: list[SearchResult] = Field(default_factory=list)
    error: str | None = None
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _text(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, (str, int, float)) else ""


def parse_serper(data: Any) -> list[SearchResult]:
    """The ``organic`` results of a Serper response (malformed entries skipped).

    Raises ``ValueError`` if ``data`` is not a Serper response (no ``organic`` list).
    """
    if not isinstance(data, dict) or not isinstance(data.get("organic", []), list):
        raise ValueError("not a Serper response")
    results = []
    for item in data.get("organic", [])[:MAX_RESULTS]:
        if not isinstance(item, dict):
            continue
        link = _text(item.get("link"), MAX_URL)
        if not link.startswith(("http://", "https://")):
            continue
        sitelinks = [
            SiteLink(title=_text(s.get("title"), MAX_TITLE), link=_text(s.get("link"), MAX_URL))
            for s in (item.get("sitelinks") or [])[:MAX_SITELINKS]
            if isinstance(s, dict) and _text(s.get("link"), MAX_URL)
        ] if isinstance(item.get("sitelinks"), list) else []
        results.append(
            SearchResult(
                title=_text(item.get("title"), MAX_TITLE) or link,
                link=link,
                snippet=_text(item.get("snippet"), MAX_SNIPPET),
                date=_text(item.get("date"), 40),
                sitelinks=sitelinks,
            )
        )
    return results


def format_results(outcome: SearchOutcome, num_results: int = 5) -> str:
    """The observation for the agent: ``i. title (link)`` lines with their snippets."""
    if not outcome.ok:
        return f"Search for '{outcome.query}' failed: {outcome.error}"
    shown = outcome.results[: max(1, num_results)]
    if not shown:
        return f"No results found for '{outcome.query}'. Try a shorter or different query."
    blocks = []
    for i, r in enumerate(shown, 1):
        lines = [f"{i}. {r.title} ({r.link})"]
        if r.date:
            lines.append(f"date: {r.date}")
        if r.snippet:
            lines.append(f"snippet: {r.snippet}")
        if r.sitelinks:
            lines.append("sitelinks: " + "; ".join(f"{s.title} ({s.link})" for s in r.sitelinks))
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


class SerperClient:
    """Serper search for one task run (see module docstring). :meth:`search` never raises."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 20.0,
        params: dict[str, Any] | None = None,
        max_bytes: int = 1_000_000,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_size: int = 1024,
    ) -> None:
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or SERPER_URL).rstrip("/")
        self._api_key = api_key if api_key is not None else os.environ.get(KEY_ENV, "")
        self.timeout = timeout
        self.params = dict(params or {})
        self.max_bytes = max_bytes
        self._transport = transport
        self._cache: OrderedDict[str, SearchOutcome] = OrderedDict()
        self._cache_size = cache_size
        self.requests = 0
        """Requests sent (cache hits excluded)."""

    @property
    def has_key(self) -> bool:
        return bool(self._api_key.strip())

    async def search(self, query: str) -> SearchOutcome:
        query = " ".join(str(query).split())
        if not query:
            return SearchOutcome(query=query, error="the query is empty.")
        if len(query) > MAX_QUERY_CHARS:
            return SearchOutcome(query=query[:80] + "...", error=f"the query is longer than {MAX_QUERY_CHARS} characters.")
        if not self.has_key:
            return SearchOutcome(
                query=query,
                error=f"web search is not available in this run ({KEY_ENV} is not set). "
                "Use the other tools or answer from what you know.",
            )
        cached = self._cache.get(query)
        if cached is not None:
            self._cache.move_to_end(query)
            return cached
        outcome = await self._request(query)
        if not outcome.transient:
            self._cache[query] = outcome
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return outcome

    async def _request(self, query: str) -> SearchOutcome:
        self.requests += 1
        try:
            with anyio.fail_after(self.timeout):
                return await self._post(query)
        except Exception as ex:  # every failure becomes an observation
            message, transient = describe_http_error(ex, "the search service", "the search service")
            return SearchOutcome(query=query, error=message, transient=transient)

    async def _post(self, query: str) -> SearchOutcome:
        body = {"q": query, **self.params, "num": REQUESTED_RESULTS}
        headers = {"X-API-KEY": self._api_key, "Content-Type": "application/json", "User-Agent": USER_AGENT}
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout), transport=self._transport, verify=_ssl_context()
        ) as client:
            async with client.stream("POST", self.base_url + "/search", json=body, headers=headers) as response:
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw.extend(chunk)
                    if len(raw) > self.max_bytes:
                        break
                status = response.status_code
        text = bytes(raw[: self.max_bytes]).decode("utf-8", errors="replace")
        if status >= 400:
            detail = _message(text)
            hint = " (the API key was refused)" if status in (401, 403) else ""
            return SearchOutcome(
                query=query,
                error=f"the search service answered HTTP {status}{hint}" + (f": {detail}" if detail else "."),
                transient=status >= 500 or status == 429,
            )
        if len(raw) > self.max_bytes:
            return SearchOutcome(query=query, error=f"the search service's answer is larger than {self.max_bytes} bytes; it was not read.")
        try:
            results = parse_serper(json.loads(text))
        except (ValueError, RecursionError):
            return SearchOutcome(query=query, error="the search service's answer could not be read (not Serper's JSON).", transient=True)
        return SearchOutcome(query=query, results=results)


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        text = data["message"]
    return " ".join(text.split())[:300]
