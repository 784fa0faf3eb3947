"""The one rule for which URLs askdocs fetches: http and https only."""

from __future__ import annotations

from urllib.parse import urlsplit

HTTP_SCHEMES = ("http", "https")
ONLY_HTTP = "only http:// and https:// URLs can be ingested"


def is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.netloc)
