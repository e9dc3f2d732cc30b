"""Web pages for agents: fetch with httpx, render as markdown, extract clickable links.

Used by the web agents and their tools (``solvers/web.py``, ``solvers/web_tools.py``,
``solvers/webwalker.py``; WebWalkerQA, AFM-100). The rules follow
WebWalker's page observation (markdown text without inline links, plus a separate list
of clickable "buttons"):

- **Fetching** (:class:`WebClient`): ``GET`` through httpx with a total time bound
  (``timeout``), at most ``max_redirects`` redirects, a size cap (``max_bytes``: the
  rest of a larger page is not read and the page is marked truncated), a content-type
  check (HTML is rendered, plain text shown as is, anything else -- PDF, images,
  archives -- is refused with a short note), and a per-run cache (one :class:`WebClient`
  per task run; pages that failed transiently, e.g. a timeout or a 5xx, are not cached).
- **Failures never raise.** A timeout, DNS failure, refused connection, HTTP error
  status, oversized or non-HTML page all come back as a :class:`Page` whose ``error``
  says what happened; :meth:`Page.observation` turns it into text for the agent.
- **Markdown** (:func:`html_to_markdown`): markdownify over the parsed page with
  ``script``/``style``/``noscript``/``svg``/``template`` removed, links and images
  reduced to their text (links are listed separately), blank lines collapsed, cut at
  ``max_chars``.
- **Links** (:func:`extract_links`): ``<a href>``, ``data-url`` attributes, and
  ``onclick`` handlers that set ``location`` / ``window.location.href`` (on any element,
  e.g. ``<button>``), with the element's text (or ``title`` / ``aria-label`` / an image's
  ``alt``) as label; in-page ``#anchors`` are skipped.
  Relative links are resolved against the page's URL (or its ``<base href>``);
  fragments are dropped; ``javascript:``/``mailto:``/``tel:`` links and links to images,
  PDFs, archives and office documents are dropped; duplicates (same text and URL) are
  dropped. With a ``root_url`` only same-site links are kept (:func:`same_site`).
- **JavaScript** (:func:`needs_javascript`): pages are not rendered in a browser. An HTML
  page with almost no text that loads scripts (a single-page app), or whose
  ``<noscript>`` asks for JavaScript while showing little text, is marked
  ``js_required`` and its observation says so, so the agent knows the text is missing
  rather than that the page is empty.
- **Readers** (:func:`reader_url`): the search agent's page tool can fetch a page through
  a reader service (Jina reader, ``https://r.jina.ai/<url>``) that renders it and returns
  markdown; :class:`WebClient` takes the service's headers (its API key).
"""

from __future__ import annotations

import re
import ssl
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlparse

import anyio
import httpx
from pydantic import BaseModel, Field

if TYPE_CHECKING:  # bs4 and markdownify load when a page is parsed: inspect imports this module with every run
    from bs4 import BeautifulSoup, Tag

USER_AGENT = "Mozilla/5.0 (compatible; harness-web-agent/0.1; +https://inspect.aisi.org.uk)"

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain", "text/markdown")

SKIPPED_EXTENSIONS = (
    ".pdf", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".bmp", ".tif", ".tiff",
    ".zip", ".gz", ".tgz", ".rar", ".7z", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
    ".mp3", ".mp4", ".avi", ".mov", ".wav", ".exe", ".dmg", ".apk",
)
"""Link targets that are not web pages (dropped from link lists, as WebWalker drops image/PDF links)."""

_DROPPED_TAGS = ("script", "style", "noscript", "svg", "template", "iframe", "head")
_ONCLICK_URL = re.compile(r"""location(?:\.href)?\s*=\s*['"]([^'"]{1,2000})['"]""")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")
_SPACES = re.compile(r"\s+")

MAX_LINK_TEXT = 100
"""Link labels are cut to this many characters."""

JS_TEXT_CHARS = 200
"""A page with less visible text than this that loads scripts is taken to need JavaScript."""
_NOSCRIPT_JS = re.compile(r"javascript", re.I)

JINA_READER_URL = "https://r.jina.ai/"
"""Jina's reader: ``GET <this><page url>`` returns the page rendered as markdown."""


class FetchSettings(BaseModel, frozen=True):
    """How pages are fetched and rendered (one value per task run)."""

    timeout: float = 20.0
    """Seconds a whole fetch (connect, redirects, body) may take."""
    max_bytes: int = 2_000_000
    """Bytes of body read at most; a larger page is cut there and marked truncated."""
    max_redirects: int = 5
    max_chars: int = 20_000
    """Characters of page markdown shown to the agent."""
    max_links: int = 300
    """Links listed at most per page."""
    cache_size: int = 512
    """Pages kept in the per-run cache."""
    user_agent: str = USER_AGENT


class Link(BaseModel, frozen=True):
    text: str
    url: str


JS_NOTE = (
    "(This page needs JavaScript to show its content, and pages are read without running "
    "JavaScript: its text is probably missing or incomplete. Try another page or link.)"
)


class Page(BaseModel):
    """One fetched page, or the reason it could not be shown."""

    url: str
    """The URL asked for."""
    final_url: str | None = None
    """The URL after redirects."""
    status: int | None = None
    content_type: str | None = None
    title: str = ""
    markdown: str = ""
    links: list[Link] = Field(default_factory=list)
    links_omitted: int = 0
    """Links beyond ``max_links`` (not listed)."""
    truncated: bool = False
    """The body was larger than ``max_bytes`` (only its start was read)."""
    js_required: bool = False
    """The page seems to need JavaScript to show its content (see :func:`needs_javascript`)."""
    error: str | None = None
    """Why the page cannot be shown (None when it can)."""
    transient: bool = False
    """The error may go away on a retry (timeout, connection error, 5xx): not cached."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def observation(self, link_labels: list[str] | None = None) -> str:
        """The page as the agent sees it: URL, title, markdown, then the links.

        ``link_labels`` replaces the default ``- text`` rendering of each link (the
        walker numbers its buttons).
        """
        if self.error is not None:
            return f"Could not open {self.url}: {self.error}"
        lines = [f"Page: {self.final_url or self.url}"]
        if self.title:
            lines.append(f"Title: {self.title}")
        if self.truncated:
            lines.append("(The page is very large; only its beginning was read.)")
        if self.js_required:
            lines.append(JS_NOTE)
        lines.append("")
        lines.append(self.markdown or "(no text on this page)")
        labels = link_labels if link_labels is not None else [f"- {l.text} ({l.url})" for l in self.links]
        lines.append("")
        if labels:
            lines.append(f"Clickable links ({len(labels)}):")
            lines.extend(labels)
            if self.links_omitted:
                lines.append(f"({self.links_omitted} more links not listed)")
        else:
            lines.append("No clickable links on this page.")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# parsing (pure functions)


def parse_html(html: str | bytes) -> BeautifulSoup:
    """Parse a page (bytes: the encoding is read from the page, e.g. ``<meta charset>``)."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def page_title(soup: BeautifulSoup) -> str:
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    return _SPACES.sub(" ", title)[:200]


@lru_cache(maxsize=1)
def _text_only() -> type:
    from markdownify import MarkdownConverter

    class _TextOnly(MarkdownConverter):
        """markdownify with links and images reduced to their text."""

        def convert_a(self, el, text, *args, **kwargs):  # noqa: D401 - markdownify hook
            return text

        def convert_img(self, el, text, *args, **kwargs):
            return ""

    return _TextOnly


def html_to_markdown(soup: BeautifulSoup, max_chars: int = FetchSettings().max_chars) -> tuple[str, bool]:
    """Markdown text of a parsed page (links as plain text); ``(text, was_cut)``.

    The soup is modified (non-content tags are removed): extract links first.
    """
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    body = soup.body or soup
    text = _text_only()(heading_style="ATX", bullets="-").convert_soup(body)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    if len(text) > max_chars:
        return text[:max_chars].rstrip() + f"\n\n(... page text cut at {max_chars} characters)", True
    return text, False


def needs_javascript(soup: BeautifulSoup, text: str) -> bool:
    """True if a parsed page seems to need JavaScript to show its content.

    ``soup`` is the page before :func:`html_to_markdown` (which removes ``script`` and
    ``noscript``), ``text`` its visible text. The page needs JavaScript when it shows less
    than ``JS_TEXT_CHARS`` characters of text and either loads scripts (a single-page app
    whose body is an empty ``<div id="root">``) or has a ``<noscript>`` that mentions
    JavaScript. A page with real text and a ``<noscript>`` note is not flagged.
    """
    return len(text.strip()) < JS_TEXT_CHARS and _has_js_signals(soup)


def _has_js_signals(soup: BeautifulSoup) -> bool:
    if soup.find("script") is not None:
        return True
    return any(_NOSCRIPT_JS.search(n.get_text(" ", strip=True)[:1000]) for n in soup.find_all("noscript"))


def reader_url(base: str, url: str) -> str:
    """The reader service's address for ``url``: ``<base>/<url>`` (Jina's form)."""
    return base.rstrip("/") + "/" + url


def _label(el: Tag) -> str:
    from bs4 import Tag

    text = _SPACES.sub(" ", el.get_text(" ", strip=True))
    if not text:
        text = str(el.get("title") or el.get("aria-label") or "").strip()
    if not text:
        img = el.find("img", alt=True)
        text = str(img["alt"]).strip() if isinstance(img, Tag) else ""
    text = _SPACES.sub(" ", text)
    return text[:MAX_LINK_TEXT]


def _raw_targets(el: Tag) -> list[str]:
    """URLs an element leads to, most specific first (href, data-url, onclick)."""
    found = []
    if el.name == "a":
        href = str(el.get("href") or "").strip()
        if href and not href.startswith("#") and not href.lower().startswith("javascript:"):
            found.append(href)
    data_url = str(el.get("data-url") or "").strip()
    if data_url:
        found.append(data_url)
    onclick = str(el.get("onclick") or "")
    if onclick:
        m = _ONCLICK_URL.search(onclick)
        if m:
            found.append(m.group(1).strip())
    return found


def _is_page_url(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    return not parsed.path.lower().endswith(SKIPPED_EXTENSIONS)


def site_host(url: str) -> str:
    host = (urlparse(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def is_private_host(url: str) -> bool:
    """True for ``localhost`` and literal loopback / private / link-local / reserved IPs.

    The search agent's ``visit_page`` refuses these by default: a model-chosen URL must
    not reach services on the user's machine or network (e.g. a cloud metadata address).
    Hostnames are not resolved here.
    """
    import ipaddress

    host = (urlparse(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified


def same_site(url: str, root_url: str) -> bool:
    """True if ``url`` is on the site rooted at ``root_url``.

    Same host (case and a leading ``www.`` ignored; http and https alike, so an
    ``http://`` root still reaches its ``https://`` pages) and a path under the root's
    folder (``https://x.edu/dept/index.html`` -> ``/dept/``). WebWalker's own rule is a
    plain string prefix test against the root URL; this one is the same up to scheme and
    ``www.`` differences.
    """
    if site_host(url) != site_host(root_url):
        return False
    root_path = urlparse(root_url).path or "/"
    folder = root_path[: root_path.rfind("/") + 1] or "/"
    path = urlparse(url).path or "/"
    return path.startswith(folder) or path + "/" == folder


def extract_links(soup: BeautifulSoup, page_url: str, root_url: str | None = None) -> list[Link]:
    """Clickable links of a parsed page, in document order (see module docstring)."""
    from bs4 import Tag

    base = page_url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base = urljoin(page_url, str(base_tag["href"]))
    links: list[Link] = []
    seen: set[tuple[str, str]] = set()
    for el in soup.find_all(["a", "button"]) + soup.select("[data-url]:not(a):not(button), [onclick]:not(a):not(button)"):
        if not isinstance(el, Tag):
            continue
        text = _label(el)
        if not text:
            continue
        for raw in _raw_targets(el):
            if raw.lower().startswith(("javascript:", "mailto:", "tel:", "data:")):
                continue
            url = urldefrag(urljoin(base, raw)).url
            if not _is_page_url(url) or (root_url is not None and not same_site(url, root_url)):
                continue
            key = (text, url)
            if key not in seen:
                seen.add(key)
                links.append(Link(text=text, url=url))
            break
    return links


# ---------------------------------------------------------------------------------------
# fetching


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _looks_like_html(head: bytes) -> bool:
    start = head[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


def describe_http_error(ex: Exception, what: str = "the page", where: str = "the site") -> tuple[str, bool]:
    """(message for the agent, transient?) for an exception raised while fetching.

    ``what`` / ``where`` name the thing fetched and its host in the message (a search
    service reuses this with ``"the search service"``).
    """
    if isinstance(ex, (TimeoutError, httpx.TimeoutException)):
        return f"{what} took too long to respond (timeout).", True
    if isinstance(ex, httpx.TooManyRedirects):
        return "too many redirects.", False
    if isinstance(ex, httpx.ConnectError):
        detail = str(ex) or type(ex).__name__
        if "name" in detail.lower() and ("resolution" in detail.lower() or "not known" in detail.lower()):
            return f"the address of {where} could not be resolved (DNS failure).", True
        return f"could not connect to {where} ({detail[:120]}).", True
    if isinstance(ex, httpx.HTTPError):
        return f"network error ({type(ex).__name__}: {str(ex)[:120]}).", True
    return f"unexpected error ({type(ex).__name__}: {str(ex)[:120]}).", True


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for all fetches (building one costs ~80 ms)."""
    return httpx.create_ssl_context()


class WebClient:
    """Fetches pages for one task run, with a small LRU cache shared by its samples.

    ``reader``: fetch every page through a reader service instead (``<reader>/<url>``,
    e.g. :data:`JINA_READER_URL`), which returns the page as markdown; ``headers`` are
    sent with every request (a reader's ``Authorization``). Errors still name the page.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        reader: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self._transport = transport
        self.reader = reader
        self._headers = dict(headers or {})
        self._cache: OrderedDict[tuple[str, str | None], Page] = OrderedDict()
        self.fetches = 0
        """Network fetches made (cache hits excluded)."""

    async def page(self, url: str, root_url: str | None = None) -> Page:
        """The page at ``url`` with its links (same-site only if ``root_url`` is given). Never raises."""
        key = (url, root_url)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        page = await self._fetch(url, root_url)
        if not page.transient:
            self._cache[key] = page
            while len(self._cache) > self.settings.cache_size:
                self._cache.popitem(last=False)
        return page

    async def _fetch(self, url: str, root_url: str | None) -> Page:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return Page(url=url, error="not an http(s) web address.")
        if self.reader is None and not _is_page_url(url):
            return Page(url=url, error="this link is a file (image, PDF, archive or document), not a web page; it cannot be shown.")
        self.fetches += 1
        s = self.settings
        try:
            with anyio.fail_after(s.timeout):
                return await self._download(url, root_url)
        except Exception as ex:  # every failure becomes an observation
            if self.reader is None:
                message, transient = describe_http_error(ex)
            else:
                message, transient = describe_http_error(ex, "the page reader service", "the page reader service")
            return Page(url=url, error=message, transient=transient)

    async def _download(self, url: str, root_url: str | None) -> Page:
        s = self.settings
        request_url = url if self.reader is None else reader_url(self.reader, url)
        headers = {"User-Agent": s.user_agent, "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"}
        async with httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=s.max_redirects,
            timeout=httpx.Timeout(s.timeout),
            headers={**headers, **self._headers},
            transport=self._transport,
            verify=_ssl_context(),
        ) as client:
            async with client.stream("GET", request_url) as response:
                final_url = str(response.url) if self.reader is None else url
                ctype = response.headers.get("content-type")
                media = _media_type(ctype)
                base = Page(url=url, final_url=final_url, status=response.status_code, content_type=ctype)
                if response.status_code >= 400:
                    reason = response.reason_phrase or "error"
                    who = "the server" if self.reader is None else "the page reader service"
                    base.error = f"{who} answered HTTP {response.status_code} ({reason})."
                    if self.reader is not None:
                        detail = await _error_detail(response)
                        if detail:
                            base.error += f" It said: {detail}"
                    base.transient = response.status_code >= 500 or response.status_code == 429
                    return base
                if media and media not in HTML_TYPES + TEXT_TYPES:
                    base.error = f"this is not a web page (content type {media}); it cannot be shown."
                    return base
                body = bytearray()
                truncated = False
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > s.max_bytes:
                        del body[s.max_bytes :]
                        truncated = True
                        break
                charset = response.charset_encoding
        raw = bytes(body)
        base.truncated = truncated
        if not media and not _looks_like_html(raw):
            if b"\x00" in raw[:1024]:
                base.error = "this is a binary file, not a web page; it cannot be shown."
                return base
            media = "text/plain"
        if media in TEXT_TYPES:
            try:
                text = raw.decode(charset or "utf-8", errors="replace")
            except LookupError:  # unknown charset name
                text = raw.decode("utf-8", errors="replace")
            cut = len(text) > s.max_chars
            base.markdown = text[: s.max_chars] + (f"\n\n(... text cut at {s.max_chars} characters)" if cut else "")
            return base
        # parsing a large page takes a while: keep it off the event loop
        return await anyio.to_thread.run_sync(render_html, base, raw, charset, root_url, s)


ERROR_DETAIL_BYTES = 4096
"""Bytes of an error response read for its message (reader services explain failures)."""


async def _error_detail(response: httpx.Response) -> str:
    """A short message from an error response's body (JSON ``message`` or plain text)."""
    import json

    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) >= ERROR_DETAIL_BYTES:
            break
    text = bytes(body[:ERROR_DETAIL_BYTES]).decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("readableMessage", "message", "error", "detail"):
            if isinstance(data.get(key), str) and data[key].strip():
                text = data[key]
                break
    return _SPACES.sub(" ", text)[:300]


def render_html(page: Page, raw: bytes, charset: str | None, root_url: str | None, settings: FetchSettings) -> Page:
    """Fill ``page`` with the title, links and markdown of the HTML in ``raw``.

    Without a charset from the server, BeautifulSoup reads the page's own declaration
    (``<meta charset>``) or guesses.
    """
    try:
        html: str | bytes = raw.decode(charset, errors="replace") if charset else raw
    except LookupError:  # unknown charset name
        html = raw
    soup = parse_html(html)
    page.title = page_title(soup)
    links = extract_links(soup, page.final_url or page.url, root_url)
    page.links = links[: settings.max_links]
    page.links_omitted = max(0, len(links) - settings.max_links)
    js_signals = _has_js_signals(soup)  # before html_to_markdown removes scripts
    page.markdown, _ = html_to_markdown(soup, settings.max_chars)
    page.js_required = js_signals and len(page.markdown.strip()) < JS_TEXT_CHARS
    return page

