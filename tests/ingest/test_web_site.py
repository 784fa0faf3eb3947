"""The test site the web tests crawl: the real HTML, XML and robots.txt under tests/fixtures/site, served on
127.0.0.1 by a Starlette app that adds what files alone cannot (redirects, validators, a PDF with a wrong
Content-Type, oversized and slow answers) and records every request. Holds no tests itself.

    /robots.txt                      disallows /handbook/internal/ for "*" (and everything for BadBot)
    /sitemap.xml                     a sitemap index: sitemap-guide.xml and sitemap-more.xml.gz (gzipped)
    /handbook/                       index.html (canonical: index.html)
    /handbook/*.html                 with an ETag, except travel.html (Last-Modified only); 304 when they match
    /handbook/old-expenses           301 -> expenses.html (a relative Location)
    /handbook/loop, /loop-again      302 to each other
    /handbook/benefits               examples/handbook/benefits-and-travel.pdf served as text/html, no validators
    /handbook/to-metadata            302 -> http://169.254.169.254/latest/meta-data/
    /handbook/to-partner             302 -> https://partner.example/terms.html
    /big, /big-stream                300 KB with a Content-Length; 10 MB streamed without one
    /slow                            answers after 1 s
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import FIXTURES, HANDBOOK
from tests.servers import free_port, serve

SITE = FIXTURES / "site"
PDF = HANDBOOK / "benefits-and-travel.pdf"
LAST_MODIFIED = "Wed, 15 Jan 2025 09:00:00 GMT"
REDIRECTS = {
    "/handbook/old-expenses": ("expenses.html", 301),
    "/handbook/loop": ("/handbook/loop-again", 302),
    "/handbook/loop-again": ("/handbook/loop", 302),
    "/handbook/to-metadata": ("http://169.254.169.254/latest/meta-data/", 302),
    "/handbook/to-partner": ("https://partner.example/terms.html", 302),
}
TYPES = {".html": "text/html", ".xml": "application/xml", ".txt": "text/plain"}


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() when the request arrived


@dataclass
class Site:
    robots: str | None = None  # replaces robots.txt (a status code as text, e.g. "503", answers with it)
    slow_s: float = 0.0  # every answer waits this long
    hits: list[Hit] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._answer)])

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        self.hits.append(Hit(path, dict(request.headers), time.monotonic()))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.slow_s:
                await asyncio.sleep(self.slow_s)
            return await self._route(request, path, str(request.base_url).rstrip("/"))
        finally:
            self.in_flight -= 1

    async def _route(self, request: Request, path: str, base: str) -> Response:
        if path in REDIRECTS:
            target, status = REDIRECTS[path]
            return RedirectResponse(target, status)
        if path == "/handbook/benefits":
            return Response(PDF.read_bytes(), media_type="text/html")  # the bytes say PDF; the header lies
        if path == "/robots.txt" and self.robots is not None:
            if self.robots.isdigit():
                return Response("unavailable", int(self.robots))
            return Response(self.robots, media_type="text/plain")
        if path == "/sitemap-more.xml.gz":
            data = (SITE / "sitemap-more.xml").read_text().replace("__BASE__", base)
            return Response(gzip.compress(data.encode()), media_type="application/gzip")
        if path == "/big":
            return Response(b"<html><body><p>" + b"x" * 300_000 + b"</p></body></html>", media_type="text/html")
        if path == "/big-stream":
            return StreamingResponse(_endless(), media_type="text/html")
        if path == "/slow":
            await asyncio.sleep(1.0)
            return Response("<html><body><p>late</p></body></html>", media_type="text/html")
        return self._file(request, path, base)

    def _file(self, request: Request, path: str, base: str) -> Response:
        file = _site_file(path)
        if file is None:
            return Response("not found", 404, media_type="text/plain")
        data = file.read_bytes()
        if file.suffix in (".xml", ".txt"):
            data = data.replace(b"__BASE__", base.encode())
        media_type = TYPES.get(file.suffix, "application/octet-stream")
        if file.name == "travel.html":
            if request.headers.get("if-modified-since") == LAST_MODIFIED:
                return Response(status_code=304)
            return Response(data, media_type=media_type, headers={"Last-Modified": LAST_MODIFIED})
        if file.suffix != ".html":
            return Response(data, media_type=media_type)
        etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(data, media_type=media_type, headers={"ETag": etag})


def _site_file(path: str) -> Path | None:
    file = (SITE / path.lstrip("/")).resolve()
    if not file.is_relative_to(SITE.resolve()):
        return None
    if file.is_dir():
        file = file / "index.html"
    return file if file.is_file() else None


async def _endless() -> AsyncIterator[bytes]:
    yield b"<html><body><p>"
    for _ in range(160):
        yield b"y" * 65536


@contextmanager
def running(site: Site) -> Iterator[str]:
    """The site's base URL while it runs."""
    with serve(site.app()) as base:
        yield base


@contextmanager
def running_tls(site: Site, certfile: Path, keyfile: Path) -> Iterator[int]:
    """The site over HTTPS on 127.0.0.1: yields the port (the certificate names the host)."""
    port = free_port()
    config = uvicorn.Config(
        site.app(), host="127.0.0.1", port=port, log_level="warning", ssl_certfile=certfile, ssl_keyfile=keyfile
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the TLS test server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_certificates(folder: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``host`` signed by it: (ca, cert, key), by the openssl CLI."""
    ca, ca_key, cert, key, csr = (folder / n for n in ("ca.pem", "ca.key", "cert.pem", "cert.key", "cert.csr"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    extensions = folder / "server.ext"
    extensions.write_text(f"subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    for command in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=askdocs test CA"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={host}"],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            extensions,
        ],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return ca, cert, key
