"""Fetch a URL safely, so that its bytes can be stored as a source file.

Safety against server-side request forgery: every hop of a redirect chain is checked before
anything connects to it — http/https only, and every address the host resolves to must be public
unless RAG_ALLOW_PRIVATE_URLS allows it (see `parse_allow`). The request then goes to the very
address that was checked (the URL's host is replaced by that IP, with the Host header and, for
https, the TLS server name kept as the original host name), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot send it elsewhere. For https the certificate
is still verified against the host name: httpcore passes the `sni_hostname` request extension to
`ssl.SSLContext.wrap_socket(server_hostname=...)`, and the context checks the certificate against
that name (`check_hostname=True`).

Proxies from the environment are not used (`trust_env=False`): through a proxy the address that
is finally reached is the proxy's choice, which would defeat the check.

Every `FetchError` message is one sentence for the user. URLs in messages are shown without
credentials, query string or fragment (`display_url`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import socket
import ssl
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from rag.errors import RagError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# What `parse_allow` returns: True (every address allowed) or the networks allowed although private.
Allow = bool | tuple[IPNetwork, ...]

SUFFIXES = (".html", ".pdf", ".xml", ".txt", ".md", ".jsonl")
SUPPORTED = "web pages, PDFs, RSS/Atom feeds, plain text"
SNIFF_BYTES = 1024
# A download may take at most connect_timeout + this many read timeouts in all, so that a server
# dripping a byte now and then (never idle for a whole read timeout) cannot hold a fetch forever.
TOTAL_READ_TIMEOUTS = 6

_METADATA_IPS = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack...
    "fd00:ec2::254",    # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
))
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
_JSONL_TYPES = frozenset({"application/jsonl", "application/x-jsonlines", "application/x-ndjson",
                          "application/ndjson", "application/json-lines", "text/jsonl"})
_TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"}) | _JSONL_TYPES
_UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_HTML_ROOTS = frozenset({"html", "head", "body"})
_ACCEPT = ("text/html,application/xhtml+xml,application/pdf,application/rss+xml,application/atom+xml,"
           "application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5")


class FetchError(RagError):
    """A URL that cannot be fetched; the message is ONE sentence for the user, naming the URL."""


@dataclass
class Fetched:
    url: str            # as requested (normalised; credentials kept, fragment dropped)
    final_url: str      # after redirects
    data: bytes
    suffix: str         # ".html" | ".pdf" | ".xml" (feeds: RSS/Atom/RDF) | ".txt" | ".md" | ".jsonl"
    content_type: str   # as the server said, lower-cased, without parameters
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False   # server answered 304 to a conditional request


# ---------------------------------------------------------------------------------------------
# Which addresses may be reached


def parse_allow(value: str | bool | None) -> Allow:
    """RAG_ALLOW_PRIVATE_URLS → what `check_url` lets through although it is not public.

    "false", "" or None: nothing (the default); "true": everything; otherwise a comma-separated
    list of IP addresses and CIDR networks ("127.0.0.1,10.0.0.0/8"), returned as a tuple of
    networks. Raises ValueError with one sentence on an entry that is neither.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip()
    if text.lower() in ("", "false", "0", "no", "off", "none"):
        return False
    if text.lower() in ("true", "1", "yes", "on", "all"):
        return True
    networks: list[IPNetwork] = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            raise ValueError(
                f"RAG_ALLOW_PRIVATE_URLS has an entry that is not an IP address or network ({entry!r}); "
                "use true, false, or a comma-separated list such as 127.0.0.1,10.0.0.0/8."
            ) from None
    return tuple(networks)


def _coerce_allow(allow) -> Allow:
    if allow is None or isinstance(allow, (bool, str)):
        return parse_allow(allow)
    return tuple(allow)


def _embedded_ipv4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and routes to (mapped, 6to4, NAT64)."""
    if not isinstance(addr, ipaddress.IPv6Address):
        return None
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def _kind(addr: IPAddress) -> str | None:
    """'a loopback', 'a private network'... for an address that is not public; None when it is."""
    inner = _embedded_ipv4(addr)
    if inner is not None:  # e.g. ::ffff:10.0.0.1 reaches 10.0.0.1
        return _kind(inner)
    if addr in _METADATA_IPS:
        return "a cloud metadata"
    if addr.is_loopback:
        return "a loopback"
    if addr.is_unspecified:
        return "an unspecified"
    if addr.is_link_local:
        return "a link-local"
    if addr.is_multicast:
        return "a multicast"
    if isinstance(addr, ipaddress.IPv4Address) and addr in _SHARED:
        return "a shared (carrier-grade NAT)"
    if addr.is_private:
        return "a private network"
    if addr.is_reserved:
        return "a reserved"
    if not addr.is_global:
        return "a non-public"
    return None


def _allowed(addr: IPAddress, allow: Allow) -> bool:
    if allow is True:
        return True
    if not allow:
        return False
    candidates = [addr]
    inner = _embedded_ipv4(addr)
    if inner is not None:
        candidates.append(inner)
    return any(a in net for a in candidates for net in allow)  # type: ignore[union-attr]


class _Refused(Exception):
    """Why a URL is refused, as a verb phrase ('could not be resolved')."""

    def __init__(self, clause: str):
        super().__init__(clause)
        self.clause = clause


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url).strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        raise _Refused("is not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise _Refused("is not a web address (only http and https URLs can be fetched)")
    if not parsed.host:
        raise _Refused("has no host name")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise _Refused("has an invalid port number")
    return parsed.copy_with(fragment=None)


def _resolve(url: httpx.URL, allow: Allow) -> list[IPAddress]:
    """Every address the host resolves to, all checked; raises _Refused."""
    host = url.host.rstrip(".").lower()
    if host in _METADATA_HOSTS and allow is not True:
        raise _Refused("is a cloud metadata host that RAG_ALLOW_PRIVATE_URLS does not allow")
    try:
        addrs: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addrs = _lookup(url)
    for addr in addrs:
        kind = _kind(addr)
        if kind is not None and not _allowed(addr, allow):
            shown = f"::ffff:{addr.ipv4_mapped}" if getattr(addr, "ipv4_mapped", None) else str(addr)
            raise _Refused(f"points to {kind} address ({shown}) that RAG_ALLOW_PRIVATE_URLS does not allow")
    return addrs


def _lookup(url: httpx.URL) -> list[IPAddress]:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        infos = []
    addrs: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr not in addrs:
            addrs.append(addr)
    if not addrs:
        raise _Refused("could not be resolved (no such host name was found)")
    return addrs


def display_url(url: str | httpx.URL) -> str:
    """The URL as it may be shown or logged: no credentials, query string or fragment."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        if parts.scheme:
            netloc = parts.netloc.rsplit("@", 1)[-1]
            return urlunsplit((parts.scheme.lower(), netloc, parts.path or ("/" if netloc else ""), "", ""))
    except ValueError:
        pass
    text = re.sub(r"//[^/@?#]*@", "//", text)  # credentials
    return re.split(r"[?#]", text, maxsplit=1)[0] or "The URL"


def _sentence(start, hop, clause: str) -> str:
    clause = clause.replace(". ", "; ")
    if hop is None or str(hop) == str(start):
        return f"{display_url(start)} {clause}."
    return f"{display_url(start)} redirected to {display_url(hop)}, which {clause}."


def check_url(url: str, allow=None) -> None:
    """Raise FetchError (one sentence) unless `url` is an http(s) URL whose host resolves only to
    public addresses, or to addresses `allow` (see `parse_allow`) lets through."""
    try:
        _resolve(_parse(url), _coerce_allow(allow))
    except _Refused as refused:
        raise FetchError(_sentence(url, None, refused.clause)) from None


# ---------------------------------------------------------------------------------------------
# What was fetched


def _root_element(head: bytes) -> str:
    """The local name of the first element ('rss', 'feed', 'rdf', 'html'...), lower-cased; '' if
    none in `head`. Skips a BOM, XML declarations, processing instructions, comments and doctypes
    ('<!doctype html' counts as 'html')."""
    low = head.lower()
    i = 3 if low.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while i < len(low) and low[i:i + 1].isspace():
            i += 1
        if low.startswith(b"<?", i):
            close = b"?>"
        elif low.startswith(b"<!--", i):
            close = b"-->"
        elif low.startswith(b"<!doctype", i):
            if re.match(rb"<!doctype\s+html\b", low[i:]):
                return "html"
            close = b">"
        else:
            break
        end = low.find(close, i)
        if end < 0:
            return ""
        i = end + len(close)
    m = re.match(rb"<([a-z_][\w:.-]*)", low[i:])
    if not m:
        return ""
    return m.group(1).decode("ascii", "replace").rsplit(":", 1)[-1]


def _sniff(head: bytes, content_type: str, path: str) -> str | None:
    """The file suffix for a response from its first bytes, its content type and the URL path."""
    if head.lstrip()[:5] == b"%PDF-" or (content_type == "application/pdf" and b"%PDF-" in head):
        return ".pdf"
    root = _root_element(head)
    if root in _FEED_ROOTS:
        return ".xml"
    if root in _HTML_ROOTS or content_type in _HTML_TYPES:
        return ".html"
    if content_type in _FEED_TYPES:  # declared a feed; its root may lie beyond the first bytes
        return ".xml"
    path = path.lower()
    if content_type in _TEXT_TYPES or (content_type in _UNTYPED and path.endswith(
            (".txt", ".text", ".md", ".markdown", ".jsonl", ".ndjson"))):
        if b"\x00" in head:
            return None
        if path.endswith((".md", ".markdown")) or content_type in ("text/markdown", "text/x-markdown"):
            return ".md"
        if path.endswith((".jsonl", ".ndjson")) or content_type in _JSONL_TYPES:
            return ".jsonl"
        return ".txt"
    return None


def _unsupported(content_type: str, head: bytes) -> str:
    if content_type == "application/pdf":
        return "says it is a PDF but is not one"
    if content_type in ("application/xml", "text/xml") or _root_element(head):
        return (f"is XML but not an RSS or Atom feed ({content_type or 'no content type'}); "
                f"supported: {SUPPORTED}")
    return f"is of an unsupported type ({content_type or 'no content type'}); supported: {SUPPORTED}"


def _megabytes(n: int) -> str:
    return f"{n / 1e6:g}"


# ---------------------------------------------------------------------------------------------
# Fetching


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """certifi's roots (or SSL_CERT_FILE / SSL_CERT_DIR); verifies certificates and host names."""
    return httpx.create_ssl_context(verify=True, trust_env=True)


class _Abort(Exception):
    """A failure of one hop, as a verb phrase for `_sentence`."""

    def __init__(self, clause: str):
        super().__init__(clause)
        self.clause = clause


def _status_clause(status: int) -> str:
    if status in (404, 410):
        return f"was not found (HTTP {status})"
    if status in (401, 403, 407, 451):
        return f"refused access (HTTP {status})"
    if status == 429:
        return "is refusing requests for now because there were too many (HTTP 429)"
    if 400 <= status < 500:
        return f"rejected the request (HTTP {status})"
    if status >= 500:
        return f"failed with a server error (HTTP {status})"
    return f"answered with HTTP {status}, which is not a page"


def _connect_clause(exc: httpx.ConnectError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = (cause.verify_message or "certificate verify failed").rstrip(".")
            return f"has a security certificate that could not be verified ({reason})"
        if isinstance(cause, ssl.SSLError):
            return "failed the secure (TLS) connection handshake"
        if isinstance(cause, ConnectionRefusedError):
            return "refused the connection"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if "certificate" in text:
        return "has a security certificate that could not be verified"
    if "refused" in text:
        return "refused the connection"
    if "unreachable" in text:
        return "could not be reached (network unreachable)"
    return "could not be reached"


def _pinned(url: httpx.URL, addr: IPAddress) -> httpx.URL:
    # Credentials go in an auth header, not the URL: httpx logs request URLs at INFO level.
    return url.copy_with(host=str(addr), userinfo=b"")


def fetch(url: str, *, max_bytes: int, allow=None, connect_timeout: float = 5.0, read_timeout: float = 20.0,
          max_redirects: int = 5, etag: str = "", last_modified: str = "",
          user_agent: str = "rag-news/0.1") -> Fetched:
    """GET `url` (following up to `max_redirects` redirects, each hop checked like `check_url`) and
    return its bytes with the file suffix they should be stored under; raises FetchError."""
    allow = _coerce_allow(allow)
    try:
        start = _parse(url)
    except _Refused as refused:
        raise FetchError(_sentence(url, None, refused.clause)) from None
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    deadline = time.monotonic() + connect_timeout + TOTAL_READ_TIMEOUTS * read_timeout
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    current = start
    for hop in range(max_redirects + 1):
        try:
            current = _parse(current)  # http/https on every hop
            addrs = _resolve(current, allow)
        except _Refused as refused:
            raise FetchError(_sentence(start, current, refused.clause)) from None
        log.debug("fetching %s (%s)", display_url(current), addrs[0])
        try:
            result = _get(current, addrs, headers, timeout, deadline, max_bytes,
                          conditional=bool(etag or last_modified))
        except _Abort as abort:
            raise FetchError(_sentence(start, current, abort.clause)) from None
        if isinstance(result, httpx.URL):  # a redirect
            if hop == max_redirects:
                raise FetchError(f"{display_url(start)} led to too many redirects "
                                 f"(more than {max_redirects}).")
            current = result
            continue
        if result.get("not_modified"):  # a 304 need not repeat the validators: keep the caller's
            result["etag"] = result["etag"] or etag
            result["last_modified"] = result["last_modified"] or last_modified
        return Fetched(url=str(start), final_url=str(current), **result)
    raise AssertionError("unreachable")  # pragma: no cover


def _get(url: httpx.URL, addrs: list[IPAddress], headers: dict[str, str], timeout: httpx.Timeout,
         deadline: float, max_bytes: int, conditional: bool) -> httpx.URL | dict:
    """One request to the checked addresses (the next one only when one refuses the connection).
    Returns the redirect target, or the fields of a Fetched; raises _Abort."""
    hop_headers = {**headers, "Host": url.netloc.decode("ascii")}
    auth = httpx.BasicAuth(url.username, url.password) if (url.username or url.password) else None
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else None
    last_error: httpx.ConnectError | None = None
    for addr in addrs:
        # A client per request: a pooled connection must never carry one host's request (and
        # TLS server name) to a connection opened for another host on the same address.
        with httpx.Client(follow_redirects=False, trust_env=False, verify=_ssl_context(),
                          timeout=timeout) as client:
            try:
                with client.stream("GET", _pinned(url, addr), headers=hop_headers, auth=auth,
                                   extensions=extensions) as response:
                    return _read(url, response, deadline, max_bytes, conditional, timeout)
            except httpx.ConnectError as exc:
                last_error = exc
                continue
            except httpx.ConnectTimeout:
                raise _Abort(f"timed out (no connection within {timeout.connect:g} s)") from None
            except httpx.ReadTimeout:
                raise _Abort(f"timed out (no answer within {timeout.read:g} s)") from None
            except httpx.TimeoutException:
                raise _Abort("timed out") from None
            except httpx.RemoteProtocolError:
                raise _Abort("closed the connection before sending a complete answer") from None
            except httpx.ReadError:
                raise _Abort("reset the connection") from None
            except httpx.DecodingError:
                raise _Abort("sent a compressed answer that could not be decoded") from None
            except httpx.HTTPError as exc:
                raise _Abort(f"could not be fetched ({type(exc).__name__})") from None
    assert last_error is not None
    raise _Abort(_connect_clause(last_error))


def _read(url: httpx.URL, response: httpx.Response, deadline: float, max_bytes: int, conditional: bool,
          timeout: httpx.Timeout) -> httpx.URL | dict:
    status = response.status_code
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    meta = {"content_type": content_type, "etag": response.headers.get("etag", ""),
            "last_modified": response.headers.get("last-modified", "")}
    if status in _REDIRECTS:
        location = response.headers.get("location", "").strip()
        if not location:
            raise _Abort(f"redirected (HTTP {status}) without saying where to")
        try:
            return url.join(location).copy_with(fragment=None)
        except (httpx.InvalidURL, ValueError):
            raise _Abort(f"redirected (HTTP {status}) to an invalid URL") from None
    if status == 304 and conditional:
        return {"data": b"", "suffix": "", "not_modified": True, **meta}
    if not 200 <= status < 300:
        raise _Abort(_status_clause(status))

    length = response.headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > max_bytes:
        raise _Abort(f"is over the {_megabytes(max_bytes)} MB limit (RAG_MAX_FILE_MB); not added")
    buf = bytearray()
    suffix: str | None = None
    for chunk in response.iter_bytes():
        buf += chunk
        if suffix is None and len(buf) >= SNIFF_BYTES:
            suffix = _sniff(bytes(buf[:SNIFF_BYTES]), content_type, url.path)
            if suffix is None:
                raise _Abort(_unsupported(content_type, bytes(buf[:SNIFF_BYTES])))
        if len(buf) > max_bytes:
            raise _Abort(f"is over the {_megabytes(max_bytes)} MB limit (RAG_MAX_FILE_MB); not added")
        if time.monotonic() > deadline:
            raise _Abort(f"timed out (the download took longer than {TOTAL_READ_TIMEOUTS} times the "
                         f"{timeout.read:g} s read timeout)")
    if not buf:
        raise _Abort(f"sent an empty answer (HTTP {status})")
    if suffix is None:
        suffix = _sniff(bytes(buf[:SNIFF_BYTES]), content_type, url.path)
        if suffix is None:
            raise _Abort(_unsupported(content_type, bytes(buf[:SNIFF_BYTES])))
    return {"data": bytes(buf), "suffix": suffix, **meta}


# ---------------------------------------------------------------------------------------------
# File names

# Extensions of the URL's last path segment that the stored file's suffix replaces.
_WEB_EXTENSIONS = re.compile(
    r"\.(?:html?|shtml|xhtml|php\d?|aspx?|jspx?|cfm|cgi|pl|cms|pdf|xml|rss|atom|rdf|txt|md|markdown|jsonl?)$",
    re.I)
# Query parameters that only track where a reader came from: they do not change the page.
_TRACKING = re.compile(r"^(?:utm(?:_\w*)?|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|"
                       r"_ga|_gl|yclid|igshid|ref|ref_src|ref_url|referrer|source|src|cmpid|ocid|smid|"
                       r"at_medium|at_campaign|share|shared|via|ito|ns_mchannel|ns_source|ns_campaign)$",
                       re.I)
_MAX_NAME = 100


def _digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]


def _ascii_slug(text: str, sep: str) -> str:
    """Only [A-Za-z0-9._-]: accents dropped, other runs of characters become `sep` (which is
    not doubled), no '..' and nothing but a letter or digit at either end."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", sep, text)
    text = re.sub(r"\.{2,}", ".", text)
    if sep == "_":
        text = re.sub(r"_{2,}", "_", text)
    return text.strip("._-")


def name_for(url: str, suffix: str) -> str:
    """A safe, readable file name for what `url` holds: host + path slug + `suffix`.

    Only [A-Za-z0-9._-]; "www." and the path's own web extension are dropped; at most 100
    characters before the suffix (a longer name is cut and ends in an 8-hex digest of the full
    URL). The query string is dropped, except that parameters which are not known trackers
    (utm_*, fbclid...) add a digest, as does any query on an empty path, so that
    "/?page=1" and "/?page=2" (or "/article.php?id=1" and "?id=2") get different names.
    """
    suffix = "." + _ascii_slug(suffix.lstrip("."), "-") if suffix.strip(".") else ""
    full = url.strip().split("#", 1)[0]
    try:
        parts = urlsplit(full)
        host, port = (parts.hostname or ""), parts.port
    except ValueError:
        parts, host, port = urlsplit(""), "", None
    host = host.rstrip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    host = _ascii_slug(host, "-")
    if port is not None and port not in (80, 443):
        host = f"{host}-{port}"
    path = unquote(parts.path or "")
    path = _WEB_EXTENSIONS.sub("", path.rstrip("/"))
    slug = _ascii_slug(path.replace("/", "_"), "_")
    base = "_".join(p for p in (host, slug) if p) or "page"

    query = [p for p in parts.query.split("&") if p]
    if query and (not slug or any(not _TRACKING.match(unquote(p.split("=", 1)[0])) for p in query)):
        base = f"{base}_{_digest(full)}"
    if len(base) > _MAX_NAME:
        base = f"{base[:_MAX_NAME - 9].rstrip('._-')}_{_digest(full)}"
    return base + suffix
