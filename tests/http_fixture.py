"""A real HTTP server on 127.0.0.1 (a thread of the test process) whose answers a test sets and
changes between requests, recording every request it gets (path and headers)."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""  # when set, sent, and a request carrying it in If-None-Match gets a 304
    delay: float = 0.0  # seconds to wait before answering


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Site

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        site = self.server
        path = self.path.split("?", 1)[0]
        with site.lock:
            site.requests.append((self.path, dict(self.headers)))
            route = site.routes.get(path)
        try:
            if route is None:
                self._send(404, b"<html><body><p>No such page.</p></body></html>", "text/html")
                return
            if route.delay and site.stopping.wait(route.delay):
                return
            headers = dict(route.headers)
            if route.etag:
                headers["ETag"] = route.etag
                if self.headers.get("If-None-Match") == route.etag:
                    self._send(304, b"", "", headers)
                    return
            self._send(route.status, route.body, route.content_type, headers)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


class Site(http.server.ThreadingHTTPServer):
    """`with Site() as site: site.route("/a.html", body)`; `site.url("/a.html")`."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def handle_error(self, request, client_address):  # a client hanging up is part of the tests
        pass

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, body: bytes | str = b"", content_type: str = "text/html; charset=utf-8",
              **kwargs) -> str:
        """Serve `body` at `path` from now on (replacing what was there); returns its URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self.lock:
            self.routes[path] = Route(body, content_type, **kwargs)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, b"", "text/plain", status=status, headers={"Location": location})

    def hits(self, path: str) -> list[dict[str, str]]:
        """The headers of every request made for `path`, oldest first."""
        with self.lock:
            return [h for p, h in self.requests if p.split("?", 1)[0] == path]

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def article(title: str, paragraphs: list[str], *, canonical: str = "", published: str = "") -> str:
    """A news page as sites serve it: head metadata, navigation and footer around an article."""
    head = [f"<title>{title} | The Test Courier</title>", '<meta charset="utf-8">']
    if canonical:
        head += [f'<link rel="canonical" href="{canonical}">',
                 f'<meta property="og:url" content="{canonical}">']
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    head.append(f'<meta property="og:title" content="{title}">')
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n" + "\n".join(head) + "\n</head>\n<body>\n"
        '<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>'
        '<li><a href="/sport">Sport</a></li></ul></nav></header>\n'
        f"<main><article>\n<h1>{title}</h1>\n{body}\n</article></main>\n"
        "<footer><p>The Test Courier Ltd. All rights reserved.</p></footer>\n</body>\n</html>\n"
    )


def rss(title: str, items: list[dict[str, str]]) -> str:
    """An RSS 2.0 feed; each item {"title", "link", "date" (RFC 822), "text"}, newest first."""
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{title}</title>'
           "<link>http://news.test/</link><description>Test feed</description>"]
    for it in items:
        out.append(f"<item><title>{it['title']}</title><link>{it['link']}</link><guid>{it['link']}</guid>"
                   f"<pubDate>{it['date']}</pubDate><description><![CDATA[<p>{it['text']}</p>]]></description>"
                   "</item>")
    out.append("</channel></rss>\n")
    return "\n".join(out)
