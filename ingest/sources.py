"""Turn command-line arguments into raw sources: files, folders (recursive) and http(s) URLs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from askdocs.errors import LoadError
from askdocs.formats import SUFFIXES
from askdocs.settings import IngestSettings
from askdocs.urls import ONLY_HTTP, is_http_url
from ingest.loaders import RawSource
from ingest.web import Failed, Fetched, WebPolicy, fetch_page


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source named by the user, not yet read."""

    location: str  # absolute path or URL

    @property
    def is_url(self) -> bool:
        return is_http_url(self.location)


def expand(arguments: list[str]) -> tuple[list[SourceRef], list[LoadError]]:
    """Files and URLs as given; folders walked for the formats askdocs reads. Missing paths are errors."""
    refs: list[SourceRef] = []
    errors: list[LoadError] = []
    for arg in arguments:
        if is_http_url(arg):
            refs.append(SourceRef(arg))
            continue
        if "://" in arg:
            errors.append(LoadError(arg, ONLY_HTTP))
            continue
        path = Path(arg).expanduser()
        if path.is_dir():
            refs.extend(SourceRef(str(p.resolve())) for p in sorted(_walk(path)))
        elif path.is_file():
            refs.append(SourceRef(str(path.resolve())))
        else:
            errors.append(LoadError(arg, "no such file or folder"))
    return refs, errors


def _walk(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix.lower() in SUFFIXES and not path.name.startswith("."):
            yield path


class Reader:
    """Reads one source's bytes, from disk or over HTTP, within a size limit.

    URLs go through the web guard (ingest.web): any host, but no private, loopback or link-local address unless
    ``allow_private_network``; redirects are checked hop by hop. robots.txt is not consulted: a person named the
    URL. A page's identity is its canonical URL when it declares one on its own host.
    """

    def __init__(
        self, max_bytes: int, timeout_s: float, user_agent: str, *, allow_private_network: bool = False
    ) -> None:
        self._max_bytes = max_bytes
        self._policy = WebPolicy(
            allow_hosts=("*",),
            allow_private_network=allow_private_network,
            max_bytes=max_bytes,
            timeout_s=timeout_s,
            user_agent=user_agent,
            respect_robots=False,
        )

    @classmethod
    def from_settings(cls, settings: IngestSettings, *, allow_private_network: bool | None = None) -> Reader:
        """The reader of the ingest settings (size limit, timeout, user agent, private network)."""
        private = settings.allow_private_network if allow_private_network is None else allow_private_network
        return cls(
            settings.max_file_mb * 2**20, settings.http_timeout_s, settings.user_agent, allow_private_network=private
        )

    def read(self, ref: SourceRef) -> RawSource:
        return self._fetch(ref.location) if ref.is_url else self._file(Path(ref.location))

    def _file(self, path: Path) -> RawSource:
        try:
            size = path.stat().st_size
            if size > self._max_bytes:
                raise LoadError(str(path), f"file is {size / 2**20:.1f} MiB, over the {self._limit_mb} MiB limit")
            return RawSource(str(path), path.read_bytes())
        except OSError as exc:
            raise LoadError(str(path), f"cannot read file ({exc.strerror or exc})") from exc

    @property
    def _limit_mb(self) -> float:
        return round(self._max_bytes / 2**20, 1)

    def _fetch(self, url: str) -> RawSource:
        result = fetch_page(url, self._policy)
        if isinstance(result, Fetched):
            return result.raw
        raise LoadError(url, result.reason if isinstance(result, Failed) else "not modified")
