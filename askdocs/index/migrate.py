"""Move the embedded index to a Qdrant server or cluster (``askdocs index migrate``).

The points are copied as stored (ids, dense and BM25 vectors, payloads), not ingested again, into a collection
``<name>_<stamp>`` made the way the server adapter makes its collections (:meth:`ServerIndex.ensure_collection`).
The configured name becomes an alias of it only once the copy is verified, so a service pointed at the alias
never sees half a copy. An interrupted copy is finished by running again with ``resume``: the collection marks
which embedded shard it copies (``askdocs_migration`` in its metadata), the shard is read in point-id order and
every batch skips the ids the target already holds, so nothing is written twice and nothing is left out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from askdocs.embedding import Embedder
from askdocs.errors import DimensionMismatchError, InputError, ModelMismatchError, VectorIndexError
from askdocs.index.aliases import MODEL_KEY, alias_target, metadata_of, record_origin, switch_alias, versioned_name
from askdocs.index.edge import EdgeIndex
from askdocs.index.layout import Layout
from askdocs.index.pointer import read_live
from askdocs.index.points import chunk_of, point_id_of
from askdocs.index.protocol import check_model
from askdocs.index.server import ServerIndex
from askdocs.index.shard_reader import ShardReader, to_point
from askdocs.index.verify import Retriever, check_counts, check_sources, sample_questions
from askdocs.models import Chunk
from askdocs.settings import Settings

T = TypeVar("T")
MIGRATION_KEY = "askdocs_migration"  # collection metadata: {"from": the embedded shard copied, "done": verified}
Advance = Callable[[int, int], None]  # (points just read, points in all)
SAMPLE = 20  # questions that verify a copy


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    alias: str  # the collection name the service will be configured with
    force: bool = False  # a non-empty target: build the copy beside it and switch the alias to it
    resume: bool = False  # finish the copy an interrupted run left
    batch: int = 256

    @property
    def where(self) -> str:
        return f"Qdrant server {self.url}"

    def __post_init__(self) -> None:
        if self.force and self.resume:
            raise InputError("give --force (start over) or --resume (carry on), not both")
        if self.batch < 1:
            raise InputError(f"the batch size must be at least 1, not {self.batch}")


@dataclass(frozen=True, slots=True)
class Plan:
    collection: str  # where the points go; not live until verified
    replaces: str | None  # the collection the alias points at now: kept, for `askdocs index restore`
    resumed: bool = False
    live: bool = False  # the alias points at it already (a finished migration, run again with --resume)


@dataclass(frozen=True, slots=True)
class Copied:
    plan: Plan
    model: str  # the embedding model of the vectors, recorded on the copy
    written: int  # points this run wrote
    held: int  # points the target already held (an interrupted run's)
    sample: list[Chunk]  # whose first words make the verification's questions


@dataclass(frozen=True, slots=True)
class Migrated:
    url: str
    alias: str
    copied: Copied
    points: int
    documents: int
    questions: int  # sample questions that found the same passages on both sides, in each of ``MODES``
    shards: int
    warnings: list[str]
    seconds: float


def migrate(
    settings: Settings, target: Target, client: QdrantClient, embedder: Embedder, retriever: Retriever, advance: Advance
) -> Migrated:
    """Copy, verify, then switch; ``settings``: the embedded index's (the source), ``client``: the target's."""
    started = time.perf_counter()
    live = read_live(settings.data_dir / "qdrant", settings.qdrant.collection)
    path = settings.data_dir / "qdrant" / live.shard
    where = target.where
    copied = copy_index(path, live.model, target, client, embedder, settings, advance)
    r = settings.retrieval
    source = EdgeIndex(path, fusion=r.fusion, dense_weight=r.dense_weight, model=live.model)
    copy = _collection(client, where, copied.plan.collection, settings)
    try:
        points, documents = check_counts(source, copy, copied.plan.collection)
        shards = _shards(client, where, copied.plan.collection)
        questions = sample_questions(copied.sample)
        warnings = check_sources(source, copy, questions, retriever, shards)
    finally:
        source.close()
    go_live(client, where, target.alias, copied, str(path.resolve()))
    seconds = time.perf_counter() - started
    return Migrated(target.url, target.alias, copied, points, documents, len(questions), shards, warnings, seconds)


def copy_index(
    path: Path,
    recorded: str | None,
    target: Target,
    client: QdrantClient,
    embedder: Embedder,
    settings: Settings,
    advance: Advance,
) -> Copied:
    """The embedded shard at ``path`` into the collection the plan names (created, or left by an earlier run)."""
    where = target.where
    dimension = EdgeIndex(path).stored_dimension()  # read from its config file: opens nothing
    if dimension is None:
        raise VectorIndexError(
            f"there is no embedded index at {path}: nothing to migrate (ASKDOCS_DATA_DIR and "
            "ASKDOCS_QDRANT__COLLECTION name the index to move)"
        )
    source = str(path.resolve())
    with ShardReader(path) as reader:  # holds the shard's lock until the copy is done: no ingest changes it
        if reader.count() == 0:
            raise VectorIndexError(f"the embedded index at {path} is empty: nothing to migrate")

        @cache  # the model is loaded only when needed: a target refused for other reasons is refused at once
        def model() -> str:
            return _source_model(path, dimension, recorded, embedder)

        plan = make_plan(client, where, target, source, dimension, model)
        model()  # the configured model must be the index's before anything is written to the target
        if not plan.resumed:
            _collection(client, where, plan.collection, settings).ensure_collection(dimension)
            _call(where, client.update_collection, plan.collection, metadata=_marker(source, model(), done=False))
        written, held, sample = copy_points(reader, client, where, plan.collection, target.batch, advance)
    return Copied(plan, model(), written, held, sample)


def _source_model(path: Path, dimension: int, recorded: str | None, embedder: Embedder) -> str:
    """The embedded index's model, which the configured model must be (it embeds the questions that verify the
    copy)."""
    model = recorded or embedder.model_id
    check_model(model, embedder.model_id)
    if dimension != embedder.dimension:
        raise DimensionMismatchError(
            f"the embedded index at {path} holds {dimension}-dimensional vectors but the configured embedding "
            f"model makes {embedder.dimension}-dimensional ones: set ASKDOCS_EMBEDDING__MODEL_PATH to the model "
            "the index was built with"
        )
    return model


def copy_points(
    reader: ShardReader, client: QdrantClient, where: str, collection: str, batch: int, advance: Advance
) -> tuple[int, int, list[Chunk]]:
    """Every point into ``collection``, but those it already holds: (written, already held, sampled chunks)."""
    total = reader.count()
    every = -(-total // SAMPLE)  # the points whose text makes the sample questions, spread over the index
    written = held = seen = 0
    sample: list[Chunk] = []
    for records in reader.batches(batch):
        try:
            ids = [point_id_of(r.id, r.payload) for r in records]
            there = _held(client, where, collection, ids)
            missing = [to_point(r) for r, point_id in zip(records, ids, strict=True) if point_id not in there]
            if missing:
                _call(where, client.upsert, collection, points=missing, wait=True)
        except VectorIndexError as exc:
            raise VectorIndexError(
                f"{exc}. The copy stopped after {seen} of {total} points in collection {collection!r} (not live); "
                "run the same command with --resume to carry on from there"
            ) from exc
        sample += [chunk_of(r.id, r.payload) for i, r in enumerate(records, seen) if i % every == 0]
        written, held, seen = written + len(missing), held + len(there), seen + len(records)
        advance(len(records), total)
    return written, held, sample


def _held(client: QdrantClient, where: str, collection: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` the collection holds already (written by an interrupted run)."""
    return {str(p.id) for p in _call(where, client.retrieve, collection, ids, with_payload=False)}


def make_plan(
    client: QdrantClient, where: str, target: Target, source: str, dimension: int, model: Callable[[], str]
) -> Plan:
    """Where the copy goes; refuses a target it must not write to, saying which flag would allow it."""
    current = _call(where, alias_target, client, target.alias)  # also: the server answers, the key is accepted
    existing = ServerIndex(client, target.alias, where=where)
    _check_compatible(existing, target.alias, where, dimension, model)
    if current is None and existing.stored_dimension() is not None:
        raise VectorIndexError(
            f"{target.alias!r} on the {where} is a plain collection, not an alias askdocs can switch: choose "
            "another name with --collection (or delete that collection)"
        )
    left = _interrupted(client, where, target.alias, source)
    if left and target.resume:
        return Plan(left, current, resumed=True)
    if left and not target.force:
        held = _call(where, client.count, left, exact=True).count
        raise VectorIndexError(
            f"an interrupted migration left {held} points in collection {left!r} on the {where}: run again "
            "with --resume to finish it, or with --force to start over"
        )
    if left:
        _call(where, client.delete_collection, left)  # never live, and a copy of what is still here
    if target.resume:
        if current and metadata_of(client, current).get(MIGRATION_KEY) == {"from": source, "done": True}:
            return Plan(current, None, resumed=True, live=True)  # verified again, nothing switched
        raise VectorIndexError(f"no interrupted migration of {source} on the {where}: nothing to resume")
    points = existing.count() if current else 0
    if points and not target.force:
        raise VectorIndexError(
            f"collection {target.alias!r} on the {where} already holds {points} points. Run again with --force "
            "to copy beside it and switch the alias once verified (it is kept: `askdocs index restore` switches "
            "back), or choose another name with --collection"
        )
    return Plan(versioned_name(target.alias), current)


def _check_compatible(existing: ServerIndex, alias: str, where: str, dimension: int, model: Callable[[], str]) -> None:
    stored = existing.stored_dimension()
    if stored is not None and stored != dimension:
        raise DimensionMismatchError(
            f"collection {alias!r} on the {where} holds {stored}-dimensional vectors, the embedded index "
            f"{dimension}-dimensional ones: choose another name with --collection"
        )
    theirs = existing.stored_model() if stored is not None else None
    if theirs is not None and theirs != model():
        raise ModelMismatchError(
            f"collection {alias!r} on the {where} holds vectors of the embedding model {theirs!r}, the embedded "
            f"index those of {model()!r}: choose another name with --collection"
        )


def _interrupted(client: QdrantClient, where: str, alias: str, source: str) -> str | None:
    """The newest collection an unfinished migration of ``source`` left for ``alias``, if any."""
    stamped = re.compile(re.escape(alias) + r"_\d{8}T\d{9}")
    names = [c.name for c in _call(where, client.get_collections).collections if stamped.fullmatch(c.name)]
    for name in sorted(names, reverse=True):
        if _call(where, metadata_of, client, name).get(MIGRATION_KEY) == {"from": source, "done": False}:
            return name
    return None


def _marker(source: str, model: str, *, done: bool) -> dict[str, Any]:
    return {MODEL_KEY: model, MIGRATION_KEY: {"from": source, "done": done}}


def go_live(client: QdrantClient, where: str, alias: str, copied: Copied, source: str) -> None:
    """Mark the copy verified, then point the alias at it (in one request when it replaces another)."""
    plan, model = copied.plan, copied.model
    _call(where, client.update_collection, plan.collection, metadata=_marker(source, model, done=True))
    if plan.live:
        return
    if plan.replaces:
        previous_model = str(_call(where, metadata_of, client, plan.replaces).get(MODEL_KEY) or "")
        _call(where, record_origin, client, plan.collection, model, plan.replaces, previous_model)
    _call(where, switch_alias, client, alias, plan.collection)


def _collection(client: QdrantClient, where: str, name: str, settings: Settings) -> ServerIndex:
    """The target collection, made and read by the server adapter (one way to create a collection)."""
    r = settings.retrieval
    layout = Layout.from_settings(settings.qdrant)  # ASKDOCS_QDRANT__SHARD_NUMBER and the others, peers checked
    return ServerIndex(
        client, name, where=where, fusion=r.fusion, dense_weight=r.dense_weight, physical=True, layout=layout
    )


def _shards(client: QdrantClient, where: str, collection: str) -> int:
    return int(_call(where, client.get_collection, collection).config.params.shard_number or 1)


def _call(where: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except UnexpectedResponse as exc:
        if exc.status_code in (401, 403):
            raise VectorIndexError(
                f"the {where} refused the request ({exc.status_code} {exc.reason_phrase}): give its API key "
                "with --api-key or ASKDOCS_QDRANT__API_KEY"
            ) from exc
        detail = exc.content.decode(errors="replace")[:300]
        raise VectorIndexError(f"the {where} failed: {exc.status_code} {exc.reason_phrase} {detail}") from exc
    except (ResponseHandlingException, ConnectionError, OSError) as exc:
        raise VectorIndexError(f"the {where} cannot be reached: {exc}") from exc
