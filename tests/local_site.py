"""A tiny synthetic website served on 127.0.0.1 for the web-agent tests (no internet).

:func:`serve_site` starts a threading ``http.server`` on a free port and yields its
root URL; the server is shut down when the ``with`` block ends. Pages:

- ``/`` home: links of every kind (relative, absolute, onclick, data-url, off-site,
  PDF, image, javascript:, mailto:, duplicate) -- see ``HOME``.
- ``/news/`` news list -> ``/news/2024/award.html`` (holds the answer ``ANSWER``).
- ``/about`` (reached by onclick), ``/people.html`` (by data-url).
- ``/old`` redirects (302) to ``/news/``.
- ``/slow`` sleeps ``SLOW_SECONDS`` before answering.
- ``/missing`` 404, ``/broken`` 500.
- ``/huge`` an HTML page of ``HUGE_BYTES`` bytes.
- ``/files/report.pdf`` and ``/download?id=7`` a PDF (content type application/pdf),
  ``/logo.png`` an image.
- ``/plain.txt`` plain text; ``/zh`` a GBK page declared only by ``<meta charset>``.
- ``/app`` a single-page app: no text until JavaScript runs.

Two services on the same server, for the search setting (no internet needed):

- ``POST /search``: a Serper stand-in speaking Serper's JSON (``{"q": ...}`` in,
  ``{"organic": [...]}`` out; ``X-API-KEY`` must be ``SERPER_KEY``, else 403). The query
  picks the behaviour: ``boom`` -> 500, ``slow`` -> answers after ``SLOW_SECONDS``,
  ``garbage`` -> HTML instead of JSON, ``flood`` -> a ``FLOOD_BYTES`` JSON body,
  ``nothing`` -> no results; anything else -> results pointing at this site (the award
  page first), plus a huggingface.co result (blocked by default) and an off-site one.
- ``GET /jina/<url>``: a Jina-reader stand-in: the site's page at ``<url>`` as markdown
  with its links (``Title:`` / ``URL Source:`` / ``Markdown Content:``, as Jina writes
  it); a page that fails gives 422 with a JSON ``readableMessage``; ``/slow`` is slow.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

ANSWER = "The Golden Walrus Prize went to Dr. Ada Quill on 3 March 2024."
SLOW_SECONDS = 6.0
"""Longer than any test's timeout, so a slow page times out however loaded the machine is."""
HUGE_BYTES = 400_000
FLOOD_BYTES = 1_500_000
SERPER_KEY = "local-test-key"
"""The key the local Serper stand-in accepts (not a real key)."""

APP = """<!DOCTYPE html><html><head><title>Walrus App</title>
<script src="/static/bundle.js"></script></head>
<body><div id="root"></div><noscript>You need to enable JavaScript to run this app.</noscript></body></html>
"""

HOME = """<!DOCTYPE html>
<html><head><title>Walrus Institute</title><style>body {{ color: red }}</style>
<script>var secret = "do not show";</script></head>
<body>
<h1>Walrus Institute</h1>
<p>Welcome to the <b>Walrus Institute</b> home page.</p>
<nav>
 <a href="news/">News</a>
 <a href="{root}/research/">Research</a>
 <a href="#top">Top</a>
 <a onclick="window.location.href='/about'">About us</a>
 <span data-url="/people.html">People</span>
 <button onclick="location.href='/missing'">Broken button</button>
 <a href="https://elsewhere.example.org/page">Partner site</a>
 <a href="/files/report.pdf">Annual report (PDF)</a>
 <a href="/logo.png">Logo</a>
 <a href="javascript:void(0)">Menu</a>
 <a href="mailto:info@walrus.example">Mail us</a>
 <a href="news/">News</a>
 <a href="/old">Old news page</a>
 <a href="/slow">Slow page</a>
 <a href="/huge">Huge page</a>
 <a href="/broken">Broken page</a>
 <a href="/plain.txt">Plain text</a>
 <a href="/download?id=7">Download brochure</a>
 <a href="/news/2024/award.html#details"><img src="/logo.png" alt="award"></a>
</nav>
</body></html>
"""

NEWS = """<html><head><title>News</title></head><body>
<h1>News</h1>
<ul>
 <li><a href="2024/award.html">Read more</a> about the 2024 prize.</li>
 <li><a href="../">Home</a></li>
</ul></body></html>
"""

AWARD = f"""<html><head><title>Award 2024</title></head><body>
<h1>2024 prize</h1><p>{ANSWER}</p><p><a href="/news/">Back to news</a></p></body></html>
"""

SIMPLE = "<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"


def _huge() -> bytes:
    row = "<p>" + "lorem ipsum dolor sit amet " * 10 + "</p>\n"
    html = "<html><head><title>Huge</title></head><body>" + row * (HUGE_BYTES // len(row) + 1) + "</body></html>"
    return html.encode()


_FLOOD = json.dumps(
    {"organic": [{"title": f"Result {i}", "link": f"https://flood.example/{i}", "snippet": "x" * 500} for i in range(3000)]}
).encode()[:FLOOD_BYTES]
"""The ``flood`` search answer: ``FLOOD_BYTES`` of (cut) JSON, built once."""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _page(self, path: str, root: str) -> tuple[int, bytes, str, dict | None]:
        """(status, body, content type, extra headers) of a page of the site."""
        html = "text/html; charset=utf-8"
        if path in ("/", "/index.html"):
            return 200, HOME.format(root=root).encode(), html, None
        if path == "/news/":
            return 200, NEWS.encode(), html, None
        if path == "/news/2024/award.html":
            return 200, AWARD.encode(), html, None
        if path in ("/about", "/people.html", "/research/"):
            title = path.strip("/").split(".")[0].title()
            return 200, SIMPLE.format(title=title, body=f"The {title} page.").encode(), html, None
        if path == "/old":
            return 302, b"", html, {"Location": "/news/"}
        if path == "/slow":
            time.sleep(SLOW_SECONDS)
            return 200, SIMPLE.format(title="Slow", body="finally").encode(), html, None
        if path == "/huge":
            return 200, _huge(), html, None
        if path == "/broken":
            return 500, b"<html><body>Internal error</body></html>", html, None
        if path == "/files/report.pdf":
            return 200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf", None
        if path == "/download":
            return 200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf", None
        if path == "/logo.png":
            return 200, b"\x89PNG\r\n\x1a\n\x00\x00\x00", "image/png", None
        if path == "/zh":
            page = '<html><head><meta charset="gbk"><title>新闻</title></head><body><p>学院新闻</p></body></html>'
            return 200, page.encode("gbk"), "text/html", None
        if path == "/plain.txt":
            return 200, "just some plain text".encode(), "text/plain; charset=utf-8", None
        if path == "/app":
            return 200, APP.encode(), html, None
        return 404, b"<html><body>Not found</body></html>", html, None

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        root = f"http://127.0.0.1:{self.server.server_address[1]}"
        path = self.path.split("?")[0]
        self.server.hits.append(path)  # type: ignore[attr-defined]
        if path.startswith("/jina/"):
            return self._jina(self.path[len("/jina/") :], root)
        status, body, ctype, headers = self._page(path, root)
        self._send(status, body, ctype, headers)

    def _jina(self, target: str, root: str) -> None:
        """The Jina reader stand-in: the page at ``target`` (on this site) as markdown."""
        from urllib.parse import urljoin, urlparse

        from markdownify import markdownify

        def fail(message: str) -> None:
            body = {"code": 422, "name": "AssertionFailureError", "status": 42206, "message": message, "readableMessage": message}
            self._send(422, json.dumps(body).encode(), "application/json")

        if not target.startswith(root + "/"):
            return fail(f"Failed to goto {target}: net::ERR_NAME_NOT_RESOLVED")
        path = urlparse(target).path
        status, body, ctype, headers = self._page(path, root)
        if status == 302 and headers:
            path = urljoin(path, headers["Location"])
            status, body, ctype, headers = self._page(path, root)
        if status >= 400:
            return fail(f"Failed to get {target}: the site answered HTTP {status}")
        if not ctype.startswith("text/html"):
            return self._send(200, f"Title: \n\nURL Source: {target}\n\nMarkdown Content:\n(binary file)".encode(), "text/plain; charset=utf-8")
        html = body.decode("utf-8", errors="replace")
        title = html.split("<title>")[1].split("</title>")[0] if "<title>" in html else ""
        markdown = markdownify(html, heading_style="ATX", strip=["script", "style", "title"])
        # absolute links, as Jina writes them
        markdown = markdown.replace("](/", f"]({root}/").replace("](2024/", f"]({root}{path}2024/")
        text = f"Title: {title}\n\nURL Source: {target}\n\nMarkdown Content:\n{markdown.strip()}\n"
        self._send(200, text.encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        """The Serper stand-in (see module docstring)."""
        root = f"http://127.0.0.1:{self.server.server_address[1]}"
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?")[0] != "/search":
            return self._send(404, b'{"message": "Not found"}', "application/json")
        if self.headers.get("X-API-KEY") != SERPER_KEY:
            return self._send(403, b'{"message": "Unauthorized.", "statusCode": 403}', "application/json")
        try:
            query = str(json.loads(raw)["q"])
        except (ValueError, KeyError, TypeError):
            return self._send(400, b'{"message": "Missing query", "statusCode": 400}', "application/json")
        self.server.hits.append("search:" + query)  # type: ignore[attr-defined]
        if "boom" in query:
            return self._send(500, b'{"message": "Internal server error", "statusCode": 500}', "application/json")
        if "garbage" in query:
            return self._send(200, b"<html><body>Service temporarily unavailable</body></html>", "text/html")
        if "flood" in query:
            return self._send(200, _FLOOD, "application/json")
        if "slow" in query:
            time.sleep(SLOW_SECONDS)
        organic = [] if "nothing" in query else [
            {"title": "Walrus dataset copy", "link": "https://huggingface.co/datasets/walrus/qa", "snippet": "All the answers.", "position": 1},
            {"title": "2024 prize - Walrus Institute", "link": f"{root}/news/2024/award.html",
             "snippet": "The Golden Walrus Prize 2024 went to a marine biologist...", "position": 2, "date": "Mar 3, 2024"},
            {"title": "Walrus Institute", "link": f"{root}/", "snippet": "Welcome to the Walrus Institute home page.",
             "position": 3, "sitelinks": [{"title": "News", "link": f"{root}/news/"}, {"title": "About us", "link": f"{root}/about"}]},
            {"title": "Walruses - Encyclopedia", "link": "https://encyclopedia.example.org/walrus", "snippet": "The walrus is a large marine mammal.", "position": 4},
            {"bad": "entry without a link"},
        ]
        body = {"searchParameters": {"q": query, "type": "search", "engine": "google"}, "organic": organic, "credits": 1}
        self._send(200, json.dumps(body).encode(), "application/json")


@contextlib.contextmanager
def serve_site() -> Iterator[tuple[str, list[str]]]:
    """Serve the site; yields (root URL with trailing slash, list of requested paths).

    The list holds each GET's path (``/news/``, ``/jina/http://...``) and each search as
    ``search:<query>``.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.hits  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
