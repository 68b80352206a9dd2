"""An article from a link: fetched with httpx, within a budget, never from this machine or a private
network.

Only http and https; a timeout for each step and for the whole fetch; at most ``MAX_BYTES`` read
(the size a file may have); at most ``MAX_REDIRECTS`` redirects, each followed as a new link; HTML,
plain text and Markdown accepted by content type. Every connection is checked where it is made:
the host name is resolved once, and each address it is about to be connected to must be a public
one (``ipaddress``'s ``is_global``: not loopback, private, link-local as cloud metadata services
are, shared, reserved or multicast), so neither a link, a redirect nor a DNS answer that changes
between a check and the connection reaches an internal address.

>>> check_link("ftp://example.com/a.txt")
Traceback (most recent call last):
...
qa.errors.DocumentError: only http and https links can be read, not ftp://example.com/a.txt
>>> check_link("not a url")
Traceback (most recent call last):
...
qa.errors.DocumentError: 'not a url' is not a link: give one that starts with https:// or http://
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpcore
import httpx

from qa.documents import MAX_FILE_BYTES, Document, document_from_bytes
from qa.errors import DocumentError

logger = logging.getLogger(__name__)

MAX_BYTES = MAX_FILE_BYTES
MAX_REDIRECTS = 5
# Seconds to connect, between two reads, and for the whole fetch: a slow server costs one visitor
# at most this long, and no one else anything.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
TOTAL_SECONDS = 20.0
MAX_LINK_CHARS = 2000
# Content types read, by the file suffix they are read as.
CONTENT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
USER_AGENT = "article-qa (reads one article a reader asked for)"


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address on the public internet.

    >>> [is_public(ipaddress.ip_address(a)) for a in ("93.184.216.34", "127.0.0.1", "10.1.2.3", "169.254.169.254", "::ffff:127.0.0.1", "100.64.0.1")]
    [True, False, False, False, False, False]
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_link(link: str) -> str:
    """``link`` stripped, if it can be fetched at all (http or https, a host, no credentials, not too
    long); DocumentError saying why not otherwise."""
    link = link.strip()
    if len(link) > MAX_LINK_CHARS:
        raise DocumentError(f"that link is {len(link):,} characters long; links up to {MAX_LINK_CHARS:,} can be read")
    parts = urlsplit(link)
    if not parts.scheme:  # "not a url", "example.com/story": said as such, not as a scheme refused
        raise DocumentError(f"{link[:200]!r} is not a link: give one that starts with https:// or http://")
    if parts.scheme.lower() not in ("http", "https"):
        raise DocumentError(f"only http and https links can be read, not {link[:200]}")
    if not parts.hostname:
        raise DocumentError(f"{link[:200]} names no web site")
    if parts.username or parts.password:
        raise DocumentError("links with a user name or password in them are not read")
    return link


def looks_like_link(text: str) -> bool:
    """True for text that is one http(s) link and nothing else (pasted where an article goes).

    >>> looks_like_link(" https://example.com/news/1 "), looks_like_link("See https://example.com")
    (True, False)
    """
    text = text.strip()
    return bool(text) and len(text.split()) == 1 and text.lower().startswith(("http://", "https://"))


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses ``allow`` accepts, checked on the very address connected to."""

    def __init__(self, allow: Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]) -> None:
        self.allow = allow

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise DocumentError(f"{host} could not be found: check the link") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        refused = [a for a in addresses if not self.allow(a)]
        if refused or not addresses:
            logger.warning("refused a link to %s (%s)", host, ", ".join(map(str, refused)))
            raise DocumentError(f"{host} is on this machine or a private network: links there are not read")
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


def _client(allow: Callable) -> httpx.Client:
    transport = httpx.HTTPTransport(retries=0, trust_env=False)
    # httpx builds its connection pool without a way to name the network backend; the same pool,
    # with the guarded one.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=4, retries=0, network_backend=_GuardedBackend(allow)
    )
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False,
                        headers={"User-Agent": USER_AGENT, "Accept": ", ".join(CONTENT_TYPES)})


def fetch_article(link: str, *, allow: Callable = is_public) -> Document:
    """The article at ``link``, read as a saved page (or text) of the same content type would be;
    DocumentError with a sentence for every way it can fail. ``allow`` decides which addresses may
    be connected to (public ones; tests let their local server through)."""
    link = check_link(link)
    deadline = time.monotonic() + TOTAL_SECONDS
    with _client(allow) as client:
        for _ in range(MAX_REDIRECTS + 1):
            data, content_type, redirect = _get(client, link, deadline)
            if redirect is None:
                break
            link = check_link(str(httpx.URL(link).join(redirect)))
        else:
            raise DocumentError(f"that link redirects more than {MAX_REDIRECTS} times: give the article's own link")
    suffix = CONTENT_TYPES.get(content_type)
    if suffix is None:
        raise DocumentError(f"that link is {content_type or 'of no stated type'}, not a web page or text: give the article's page")
    name = (urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1] or urlsplit(link).hostname or "article").rsplit(".", 1)[0]
    document = document_from_bytes(data, name + suffix)
    meta = {**document.meta, "url": document.meta.get("url") or link}
    return Document(document.id, document.title, document.text, link, meta)


def _get(client: httpx.Client, link: str, deadline: float) -> tuple[bytes, str, str | None]:
    """The body and content type at ``link``, or the redirect's target."""
    try:
        with client.stream("GET", link) as response:
            if response.is_redirect:
                return b"", "", response.headers.get("location")
            if response.status_code >= 400:
                raise DocumentError(f"the site answered {response.status_code} {response.reason_phrase} for that link")
            declared = int(response.headers.get("content-length") or 0)
            if declared > MAX_BYTES:
                raise DocumentError(f"that page is {declared:,} bytes; pages up to {MAX_BYTES:,} can be read")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise DocumentError(f"that page is over {MAX_BYTES:,} bytes, the most that can be read")
                if time.monotonic() > deadline:
                    raise DocumentError(f"that page took over {TOTAL_SECONDS:.0f} s to arrive: try again later")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return bytes(body), content_type, None
    except httpx.TimeoutException:
        raise DocumentError("the site did not answer in time: try again later") from None
    except httpx.HTTPError as error:
        logger.info("fetching %s failed: %r", link, error)
        raise DocumentError(f"that link could not be read ({error.__class__.__name__})") from None
