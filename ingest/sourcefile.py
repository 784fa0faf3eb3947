"""``sources.yaml``: the sources the worker keeps the index in sync with. Validated at start, errors name the line.

sources:
  - name: handbook            # unique; becomes the ``origin`` of every document it brings in
    folder: /srv/handbook     # exactly one of: folder, url (one or a list), sitemap, crawl (one or a list)
    chunker: structural       # optional: chunker, chunk_size, chunk_overlap (default: the settings)
    acl: [staff]              # optional: groups allowed to see its documents (default: everyone)
    schedule: 1h              # every 30s / 15m / 1h / 1d, or "manual" (only when asked)
  - name: wiki
    crawl: https://wiki.internal/docs/
    allow_private_network: true   # internal wikis live on private addresses
    max_depth: 3
    max_pages: 500
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from askdocs.errors import ConfigError
from askdocs.models import Provenance
from askdocs.settings import MAX_CHUNK_TOKENS, MIN_CHUNK_TOKENS, ChunkingSettings
from askdocs.urls import is_http_url
from chunkers import available

SourceKind = Literal["folder", "url", "sitemap", "crawl"]
_KINDS: tuple[SourceKind, ...] = ("folder", "url", "sitemap", "crawl")
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(value: str) -> float | None:
    """Seconds between syncs; None for "manual"."""
    if value.strip().lower() == "manual":
        return None
    match = _INTERVAL.match(value.lower())
    if not match:
        raise ValueError(f"schedule {value!r} is not an interval like 30s, 15m, 1h, 1d, or 'manual'")
    seconds = float(match[1]) * _UNIT_S[match[2]]
    if seconds < 1:
        raise ValueError("schedule must be at least 1s")
    return seconds


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    folder: Path | None = None
    url: list[str] | None = None
    sitemap: str | None = None
    crawl: list[str] | None = None
    chunker: str | None = None
    chunk_size: int | None = Field(default=None, ge=MIN_CHUNK_TOKENS, le=MAX_CHUNK_TOKENS)
    chunk_overlap: int | None = Field(default=None, ge=0)
    acl: list[str] = []
    schedule: str = "1h"
    # The web sources' limits (see ingest.web.WebPolicy).
    allow_hosts: list[str] = []
    allow_prefixes: list[str] = []
    allow_private_network: bool = False
    max_depth: int = Field(default=3, ge=0, le=50)
    max_pages: int = Field(default=500, ge=1, le=1_000_000)
    concurrency: int = Field(default=4, ge=1, le=32)
    delay_s: float = Field(default=0.0, ge=0, le=60)
    respect_robots: bool = True

    @field_validator("url", "crawl", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("chunker")
    @classmethod
    def _known_chunker(cls, value: str | None) -> str | None:
        if value is not None and value not in available():
            raise ValueError(f"unknown chunker {value!r}; available: {', '.join(available())}")
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("url", "crawl")
    @classmethod
    def _web_urls(cls, value: list[str] | None) -> list[str] | None:
        for url in value or []:
            _check_url(url)
        return value

    @field_validator("sitemap")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return _check_url(value) if value is not None else None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> SourceSpec:
        given = [k for k in _KINDS if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(_KINDS)} (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> SourceKind:
        return next(k for k in _KINDS if getattr(self, k))

    @property
    def interval_s(self) -> float | None:
        return parse_schedule(self.schedule)

    @property
    def provenance(self) -> Provenance:
        return Provenance(origin=self.name, acl=tuple(sorted(set(self.acl))))

    def chunking(self, defaults: ChunkingSettings) -> ChunkingSettings:
        update = {
            k: v
            for k, v in {
                "chunker": self.chunker,
                "chunk_size": self.chunk_size,
                "chunk_overlap": self.chunk_overlap,
            }.items()
            if v is not None
        }
        return defaults.model_copy(update=update)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[SourceSpec]

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}; names must be unique")
            seen.add(source.name)
        return self

    def get(self, name: str) -> SourceSpec | None:
        return next((s for s in self.sources if s.name == name), None)


def _check_url(url: str) -> str:
    if not is_http_url(url):
        raise ValueError(f"{url!r}: only http:// and https:// URLs")
    return url


def load_sources(path: Path) -> SourcesFile:
    """Parse and validate; every problem is reported with the file and line it is on."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources file ({exc.strerror or exc})") from exc
    return parse_sources(text, str(path))


def parse_sources(text: str, where: str = "sources.yaml") -> SourcesFile:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    if not isinstance(data, dict) or "sources" not in data:
        raise ConfigError(f"{where} line 1: expected a mapping with a 'sources:' list")
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(root, err, where) for err in exc.errors()]
        raise ConfigError("invalid sources file:\n  " + "\n  ".join(problems)) from exc


def _describe(root: yaml.Node | None, err: Any, where: str) -> str:
    loc = tuple(err["loc"])
    line, name = _line_of(root, loc)
    field = ".".join(str(p) for p in loc[1:] if not isinstance(p, int)) or "source"
    label = f" (source {name!r})" if name else ""
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where} line {line}{label}: {field}: {message}"


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, str]:
    """The 1-based line of the deepest YAML node ``loc`` reaches, and the name of the source it is in."""
    node = root
    line = (node.start_mark.line + 1) if node is not None else 1
    name = ""
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child = key if isinstance(value, yaml.ScalarNode) and value.value == "" else value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            if isinstance(child, yaml.MappingNode):
                name = next((v.value for k, v in child.value if k.value == "name" and hasattr(v, "value")), "")
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line, str(name) if isinstance(name, str) else ""
