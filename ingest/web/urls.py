"""URLs in one spelling, and which links are worth following."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"

# Links to these are never pages: images, styles, scripts, data, fonts, media, archives, office files, binaries.
_NOT_PAGES = frozenset(
    {
        *(".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".ico", ".bmp", ".tif", ".tiff"),
        *(".css", ".js", ".mjs", ".map", ".json", ".xml", ".rss", ".atom", ".csv", ".txt", ".md"),
        *(".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".m4a", ".webm", ".ogg", ".wav", ".avi"),
        *(".mov", ".mkv", ".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".rar", ".7z", ".exe", ".dmg", ".msi"),
        *(".pkg", ".deb", ".rpm", ".apk", ".iso", ".bin", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx"),
        *(".odt", ".ods"),
    }
)


def normalise(url: str) -> str:
    """Lower-case scheme and host (IDNA for non-ASCII), no default port, no user info, no fragment, dot segments
    resolved, ``/`` for an empty path, unsafe characters percent-encoded. Raises ValueError if unparsable."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port  # ValueError when not a number or out of range
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"invalid host name {host!r}") from exc
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = quote(_remove_dot_segments(parts.path), safe=_PATH_SAFE) or "/"
    return urlunsplit((scheme, netloc, path, quote(parts.query, safe=_QUERY_SAFE), ""))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on whole segments."""
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/".join(out)


def resolve(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base`` and normalised; None unless it is an http(s) URL."""
    try:
        url = urljoin(base, href.strip())
        if urlsplit(url).scheme.lower() not in _DEFAULT_PORTS:
            return None  # mailto:, javascript:, tel:, data:, ftp: ...
        return normalise(url)
    except ValueError:
        return None


def looks_like_page(url: str) -> bool:
    """HTML- or PDF-ish by its name: no suffix, a page suffix, or anything but a known non-page type."""
    return PurePosixPath(urlsplit(url).path).suffix.lower() not in _NOT_PAGES


def same_host(a: str, b: str) -> bool:
    return urlsplit(a).netloc == urlsplit(b).netloc
