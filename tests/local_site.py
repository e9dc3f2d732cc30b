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
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

ANSWER = "The Golden Walrus Prize went to Dr. Ada Quill on 3 March 2024."
SLOW_SECONDS = 3.0
HUGE_BYTES = 400_000

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

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        root = f"http://127.0.0.1:{self.server.server_address[1]}"
        path = self.path.split("?")[0]
        self.server.hits.append(path)  # type: ignore[attr-defined]
        if path in ("/", "/index.html"):
            self._send(200, HOME.format(root=root).encode())
        elif path == "/news/":
            self._send(200, NEWS.encode())
        elif path == "/news/2024/award.html":
            self._send(200, AWARD.encode())
        elif path in ("/about", "/people.html", "/research/"):
            title = path.strip("/").split(".")[0].title()
            self._send(200, SIMPLE.format(title=title, body=f"The {title} page.").encode())
        elif path == "/old":
            self._send(302, b"", headers={"Location": "/news/"})
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, SIMPLE.format(title="Slow", body="finally").encode())
        elif path == "/huge":
            self._send(200, _huge())
        elif path == "/broken":
            self._send(500, b"<html><body>Internal error</body></html>")
        elif path == "/files/report.pdf":
            self._send(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", ctype="application/pdf")
        elif path == "/download":
            self._send(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", ctype="application/pdf")
        elif path == "/logo.png":
            self._send(200, b"\x89PNG\r\n\x1a\n\x00\x00\x00", ctype="image/png")
        elif path == "/zh":
            html = '<html><head><meta charset="gbk"><title>新闻</title></head><body><p>学院新闻</p></body></html>'
            self._send(200, html.encode("gbk"), ctype="text/html")
        elif path == "/plain.txt":
            self._send(200, "just some plain text".encode(), ctype="text/plain; charset=utf-8")
        else:
            self._send(404, b"<html><body>Not found</body></html>")


@contextlib.contextmanager
def serve_site() -> Iterator[tuple[str, list[str]]]:
    """Serve the site; yields (root URL with trailing slash, list of requested paths)."""
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
