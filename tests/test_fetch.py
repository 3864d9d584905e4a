"""rag.fetch against a real HTTP server on 127.0.0.1 (a thread of this process)."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rag import fetch as fetch_module
from rag.fetch import Fetched, FetchError, check_url, fetch, name_for, parse_allow

LOOPBACK = parse_allow("127.0.0.1")
MB = 1_000_000

HTML = b"<!DOCTYPE html>\n<html><head><title>Harbour deal</title></head><body><p>Signed.</p></body></html>"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
RSS = (b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>News</title>'
       b"<item><title>One</title><link>http://example.com/1</link></item></channel></rss>")
ATOM = (b'<?xml version="1.0" encoding="utf-8"?>\n<!-- generated -->\n'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title></feed>')
XML_BUT_HTML = b"<html><body><p>An error page served as text/xml.</p></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000


def one_sentence(message: str) -> bool:
    """A single sentence: ends with a period, no line breaks, no '. ' followed by a new sentence."""
    return message.endswith(".") and "\n" not in message and not re.search(r"[.!?] [A-Z]", message)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, *args):  # keep pytest output clean
        pass

    def send(self, status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, headers={"Location": location})

    def do_GET(self):  # noqa: C901 - one route table
        self.server.requests.append((self.path, dict(self.headers)))
        path = self.path.split("?", 1)[0]
        port = self.server.server_address[1]
        try:
            if path in ("/page", "/page.html"):
                self.send(200, HTML)
            elif path == "/host":
                host = self.headers.get("Host", "").encode()
                self.send(200, b"<html><body>Host: " + host + b"</body></html>")
            elif path == "/doc":
                self.send(200, PDF, "application/octet-stream")
            elif path == "/rss":
                self.send(200, RSS, "text/xml; charset=utf-8")
            elif path == "/atom":
                self.send(200, ATOM, "application/octet-stream")
            elif path == "/xml-html":
                self.send(200, XML_BUT_HTML, "text/xml")
            elif path == "/notes.md":
                self.send(200, b"# Notes\n\nPlain markdown.\n", "text/plain; charset=utf-8")
            elif path == "/image.png":
                self.send(200, PNG, "image/png")
            elif path == "/moved":  # absolute Location, then a relative one
                self.redirect(f"http://127.0.0.1:{port}/moved/again", 301)
            elif path == "/moved/again":
                self.redirect("../page", 301)
            elif path.startswith("/chain/"):
                n = int(path.rsplit("/", 1)[1])
                self.redirect(f"/chain/{n - 1}" if n > 1 else "/page")
            elif path == "/to-metadata":
                self.redirect("http://169.254.169.254/latest/meta-data")
            elif path == "/to-other-loopback":
                self.redirect(f"http://127.0.0.2:{port}/page")
            elif path == "/to-ftp":
                self.redirect("ftp://127.0.0.1/file")
            elif path == "/missing":
                self.send(404, b"<html>not here</html>")
            elif path == "/forbidden":
                self.send(403, b"<html>no</html>")
            elif path == "/boom":
                self.send(500, b"<html>oops</html>")
            elif path == "/slow":
                self.server.stop.wait(2.0)
                self.send(200, HTML)
            elif path == "/big-stream":  # chunked, no Content-Length; the rest only comes much later
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(20):
                    self.wfile.write(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
                self.wfile.flush()
                self.server.stop.wait(3.0)
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/big-declared":  # says 10 MB, sends a little, then stalls
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(10 * MB))
                self.end_headers()
                self.wfile.write(b"x" * 1000)
                self.wfile.flush()
                self.server.stop.wait(3.0)
            elif path == "/etag":
                if self.headers.get("If-None-Match") == '"v1"':
                    self.send(304, headers={"ETag": '"v1"'})
                else:
                    self.send(200, HTML, headers={"ETag": '"v1"',
                                                  "Last-Modified": "Wed, 05 Mar 2025 10:00:00 GMT"})
            elif path == "/reset":  # close with RST before answering
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
            else:
                self.send(404, b"<html>?</html>")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()

    def handle_error(self, request, client_address):  # a client hanging up is part of the tests
        pass


def _serve(server: Server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    _serve(srv)
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def base(server) -> str:
    server.requests.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def connections(monkeypatch) -> list[tuple[str, int]]:
    """Every TCP connection httpcore opens, as (host, port)."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        seen.append((address[0], address[1]))
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return seen


def get(url: str, **kwargs) -> Fetched:
    kwargs.setdefault("max_bytes", MB)
    kwargs.setdefault("allow", LOOPBACK)
    return fetch(url, **kwargs)


def refused(url: str, **kwargs) -> str:
    with pytest.raises(FetchError) as info:
        get(url, **kwargs)
    message = str(info.value)
    assert one_sentence(message), message
    return message


# --- types -----------------------------------------------------------------------------------


def test_html_page(base):
    got = get(base + "/page?utm_source=x#top")
    assert (got.suffix, got.content_type, got.data) == (".html", "text/html", HTML)
    assert got.url == base + "/page?utm_source=x" and got.final_url == got.url
    assert not got.not_modified


def test_pdf_is_sniffed_by_its_magic(base):
    got = get(base + "/doc")
    assert (got.suffix, got.content_type) == (".pdf", "application/octet-stream")
    assert got.data == PDF


def test_rss_served_as_text_xml_is_a_feed(base):
    assert get(base + "/rss").suffix == ".xml"


def test_atom_served_as_octet_stream_is_sniffed(base):
    got = get(base + "/atom")
    assert (got.suffix, got.content_type) == (".xml", "application/octet-stream")


def test_xml_content_type_that_is_html_is_html(base):
    assert get(base + "/xml-html").suffix == ".html"


def test_plain_text_keeps_markdown_suffix_of_the_path(base):
    assert get(base + "/notes.md").suffix == ".md"


def test_image_is_an_unsupported_type(base):
    message = refused(base + "/image.png")
    assert "unsupported type (image/png)" in message
    assert "web pages, PDFs, RSS/Atom feeds, plain text" in message


# --- redirects -------------------------------------------------------------------------------


def test_redirect_chain_with_relative_location(base, server):
    got = get(base + "/moved")
    assert got.final_url == base + "/page" and got.url == base + "/moved"
    assert got.data == HTML
    assert [p for p, _ in server.requests] == ["/moved", "/moved/again", "/page"]


def test_five_redirects_are_followed_six_are_too_many(base):
    assert get(base + "/chain/5").final_url == base + "/page"
    message = refused(base + "/chain/6")
    assert "too many redirects" in message and "/chain/6" in message


def test_redirect_to_metadata_is_refused_without_connecting(base, connections):
    message = refused(base + "/to-metadata")
    assert "169.254.169.254" in message and "cloud metadata" in message
    assert all(host != "169.254.169.254" for host, _ in connections)
    assert connections  # the first hop did connect (to the local server)


def test_redirect_to_another_loopback_address_is_refused(base, connections):
    message = refused(base + "/to-other-loopback")
    assert "127.0.0.2" in message and "RAG_ALLOW_PRIVATE_URLS" in message
    assert all(host != "127.0.0.2" for host, _ in connections)


def test_redirect_to_another_scheme_is_refused(base):
    assert "only http and https" in refused(base + "/to-ftp")


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path, words", [
    ("/missing", "was not found (HTTP 404)"),
    ("/forbidden", "refused access (HTTP 403)"),
    ("/boom", "HTTP 500"),
])
def test_http_errors(base, path, words):
    message = refused(base + path)
    assert words in message and message.startswith(base + path)


def test_slow_server_times_out(base):
    started = time.monotonic()
    message = refused(base + "/slow", read_timeout=0.3)
    assert "timed out" in message
    assert time.monotonic() - started < 1.5


def test_streamed_body_over_the_limit_is_cut_off_while_streaming(base):
    # 320 KB arrive at once, the end only after 3 s: only a limit checked while streaming
    # answers before the (2 s) read timeout.
    started = time.monotonic()
    message = refused(base + "/big-stream", max_bytes=100_000, read_timeout=2.0)
    assert message == f"{base}/big-stream is over the 0.1 MB limit (RAG_MAX_FILE_MB); not added."
    assert time.monotonic() - started < 1.5


def test_declared_length_over_the_limit_is_refused_before_the_body(base):
    started = time.monotonic()
    message = refused(base + "/big-declared", max_bytes=MB, read_timeout=2.0)
    assert "over the 1 MB limit (RAG_MAX_FILE_MB)" in message
    assert time.monotonic() - started < 1.5


def test_connection_refused(base):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message = refused(f"http://127.0.0.1:{port}/page")
    assert "refused the connection" in message


def test_connection_reset(base):
    message = refused(base + "/reset")
    assert "connection" in message and "/reset" in message


def test_credentials_and_query_never_appear_in_messages(base, server):
    message = refused(base.replace("//", "//reader:s3cret@") + "/missing?token=abc123")
    assert "s3cret" not in message and "reader" not in message and "abc123" not in message
    assert message.startswith(base + "/missing ")
    # ...but they were used for the request
    headers = server.requests[-1][1]
    assert headers.get("Authorization", "").startswith("Basic ")


# --- conditional requests --------------------------------------------------------------------


def test_etag_and_not_modified(base, server):
    first = get(base + "/etag")
    assert first.etag == '"v1"' and first.last_modified.startswith("Wed, 05 Mar 2025")
    again = get(base + "/etag", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.data == b"" and again.suffix == ""
    # the 304 carries no Last-Modified: the one the caller had is kept
    assert (again.etag, again.last_modified) == (first.etag, first.last_modified)
    sent = server.requests[-1][1]
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == first.last_modified
    assert not get(base + "/etag", etag='"v0"').not_modified


# --- who may be reached ----------------------------------------------------------------------


def test_loopback_server_is_refused_by_default(base, server):
    with pytest.raises(FetchError, match=r"loopback address \(127\.0\.0\.1\)") as info:
        fetch(base + "/page", max_bytes=MB)
    assert one_sentence(str(info.value))
    assert server.requests == []


def test_allow_true_allows_everything(base):
    assert fetch(base + "/page", max_bytes=MB, allow=parse_allow("true")).data == HTML
    assert fetch(base + "/page", max_bytes=MB, allow="true").data == HTML  # the raw setting works too


def test_parse_allow():
    assert parse_allow(None) == parse_allow("") == parse_allow("false") == parse_allow(False) == False  # noqa: E712
    assert parse_allow("true") is True and parse_allow(True) is True
    allow = parse_allow(" 127.0.0.1, 10.0.0.0/8 ,::1")
    assert [str(n) for n in allow] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    with pytest.raises(ValueError, match="RAG_ALLOW_PRIVATE_URLS.*'intranet'"):
        parse_allow("127.0.0.1,intranet")


@pytest.mark.parametrize("url, words", [
    ("file:///etc/passwd", "only http and https"),
    ("ftp://example.com/file", "only http and https"),
    ("http://localhost/", "loopback"),
    ("http://[::1]/", "loopback address (::1)"),
    ("http://10.1.2.3/", "private network address (10.1.2.3)"),
    ("http://100.64.0.1/", "shared (carrier-grade NAT) address"),
    ("http://169.254.169.254/latest/meta-data", "cloud metadata address (169.254.169.254)"),
    ("http://[fd00:ec2::254]/", "cloud metadata address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host"),
    ("http://[::ffff:127.0.0.1]/", "loopback address (::ffff:127.0.0.1)"),
    ("http://0.0.0.0/", "unspecified address"),
    ("http://2130706433/", "loopback address (127.0.0.1)"),  # 127.0.0.1 written as one number
    ("http://no-such-host.invalid/", "could not be resolved"),
    ("http:///path-only", "no host"),
])
def test_check_url_refuses(url, words):
    with pytest.raises(FetchError) as info:
        check_url(url)
    message = str(info.value)
    assert words in message and one_sentence(message), message


def test_check_url_allow_list(monkeypatch):
    check_url("http://10.1.2.3/", allow=parse_allow("10.0.0.0/8"))
    check_url("http://[::ffff:10.1.2.3]/", allow=parse_allow("10.0.0.0/8"))
    with pytest.raises(FetchError, match="10.1.2.3"):
        check_url("http://10.1.2.3/", allow=parse_allow("127.0.0.1"))
    # A public name passes; a name with one private address among public ones does not.
    fake = {"public.test": ["93.184.215.14"], "mixed.test": ["93.184.215.14", "192.168.1.5"]}

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in fake[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    check_url("https://public.test/news")
    with pytest.raises(FetchError, match=r"private network address \(192\.168\.1\.5\)"):
        check_url("https://mixed.test/news")


def test_dns_rebinding_connects_to_the_checked_address(base, server, connections, monkeypatch):
    """The name is resolved once per hop; a second answer (now the metadata address) is never used."""
    port = server.server_address[1]
    answers = iter(["127.0.0.1", "169.254.169.254", "169.254.169.254"])
    asked: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    got = get(f"http://rebind.test:{port}/host")
    assert got.data == f"<html><body>Host: rebind.test:{port}</body></html>".encode()
    assert asked == ["rebind.test"]
    assert connections == [("127.0.0.1", port)]


# --- https: pinned to the checked address, certificate still checked against the name ------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", "/CN=pinned.test", "-addext", "subjectAltName=DNS:pinned.test"],
                   check=True, capture_output=True)
    srv = Server(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    _serve(srv)
    yield srv, cert
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


def test_https_is_pinned_and_verifies_the_host_name(tls_server, connections, monkeypatch):
    srv, cert = tls_server
    port = srv.server_address[1]
    monkeypatch.setattr(fetch_module, "_ssl_context", lambda: ssl.create_default_context(cafile=str(cert)))
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host in ("pinned.test", "other.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    got = get(f"https://pinned.test:{port}/host")
    assert got.data == f"<html><body>Host: pinned.test:{port}</body></html>".encode()
    assert connections == [("127.0.0.1", port)]
    # The same server under a name its certificate does not carry: refused, though the IP matches.
    message = refused(f"https://other.test:{port}/host")
    assert "certificate" in message


# --- file names ------------------------------------------------------------------------------


def test_name_for_readable_and_safe():
    assert name_for("https://www.example-news.com/world/2025/03/harbour-deal.html?utm=x", ".html") == \
        "example-news.com_world_2025_03_harbour-deal.html"
    assert name_for("https://example.com/feeds/world.rss", ".xml") == "example.com_feeds_world.xml"
    assert name_for("http://127.0.0.1:8000/doc", ".pdf") == "127.0.0.1-8000_doc.pdf"
    for url in ["https://news.example/Ünïcode path/“quoted”/../a;b=c/%2e%2e/x", "https://ex.com/a b/<script>",
                "https://bücher.example/..", "https://ex.com/.hidden/"]:
        name = name_for(url, ".txt")
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.txt", name) and ".." not in name, (url, name)


def test_name_for_truncates_long_urls_with_a_digest():
    long_a = "https://example.com/" + "/".join(["a-very-long-path-segment"] * 10)
    long_b = long_a + "-b"
    a, b = name_for(long_a, ".html"), name_for(long_b, ".html")
    assert a != b
    assert len(a) == len(b) and len(a) <= 100 + len(".html") and a.endswith(".html")
    assert re.search(r"_[0-9a-f]{8}\.html$", a)


def test_name_for_keeps_query_only_urls_apart():
    names = {name_for(f"https://example.com/?page={i}", ".html") for i in range(3)}
    assert len(names) == 3 and all(n.startswith("example.com_") for n in names)
    assert name_for("https://example.com/", ".html") == name_for("https://example.com", ".html") == \
        "example.com.html"
    # Tracking parameters do not change the name; real ones keep articles apart.
    assert name_for("https://ex.com/story?utm_source=x&fbclid=1", ".html") == "ex.com_story.html"
    assert name_for("https://ex.com/article.php?id=1", ".html") != name_for("https://ex.com/article.php?id=2",
                                                                            ".html")
