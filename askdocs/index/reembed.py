"""Switch the index to another embedding model without re-parsing a document: read every stored chunk from the
live collection, embed its text again into a new collection beside it, and switch to the new one only once it is
complete (a Qdrant alias on a server, the live-shard pointer file in embedded mode). The old collection is kept:
:func:`restore` switches back to it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from askdocs.embedding import Embedder
from askdocs.errors import VectorIndexError
from askdocs.index.aliases import (
    MODEL_KEY,
    PREVIOUS_KEY,
    alias_target,
    metadata_of,
    record_origin,
    switch_alias,
    versioned_name,
)
from askdocs.index.edge import EdgeIndex
from askdocs.index.layout import Layout
from askdocs.index.pointer import Live, read_live, switch_live
from askdocs.index.protocol import VectorIndex
from askdocs.index.server import ServerIndex
from askdocs.sentences import embed_chunks
from askdocs.sparse import Bm25Encoder

Advance = Callable[[int, int], None]  # (chunks just written, chunks in all)


@dataclass(frozen=True, slots=True)
class Switched:
    live: str  # the collection (server) or shard directory (embedded) now live
    previous: str  # the one it replaced, kept for restore
    model: str | None
    chunks: int
    seconds: float


def copy_reembedded(source: VectorIndex, target: VectorIndex, embedder: Embedder, advance: Advance) -> int:
    """Every chunk of ``source`` into ``target`` with ``embedder``'s vectors (and BM25 vectors and the answer
    candidates' vectors, as ingest makes)."""
    target.ensure_collection(embedder.dimension)
    target.record_embedding(embedder.model_id, embedder.precision.precision)
    sparse = Bm25Encoder()
    total = source.count()
    copied = 0
    for chunks in source.iter_chunks(256):
        vectors, sentences = embed_chunks(embedder, chunks)  # the answer candidates' vectors too, in one pass
        target.upsert(chunks, vectors, sparse.encode_documents([c.embed_text for c in chunks]), sentences)
        copied += len(chunks)
        advance(len(chunks), total)
    if copied != source.count() or target.count() != copied:
        raise VectorIndexError(
            f"the live index changed while it was re-embedded ({copied} chunks copied, {source.count()} live, "
            f"{target.count()} in the new collection); nothing was switched: run it again with no ingest running"
        )
    return copied


def reembed_edge(
    qdrant_dir: Path,
    collection: str,
    current_model: str,
    embedder: Embedder,
    advance: Advance = lambda n, total: None,
    *,
    source: EdgeIndex | None = None,
) -> Switched:
    """A new shard directory beside the live one, then the pointer file swapped. ``source``: the live shard
    already open in this process (a second open would find it locked)."""
    started = time.perf_counter()
    live = read_live(qdrant_dir, collection)
    reader = source or EdgeIndex(qdrant_dir / live.shard, model=live.model)
    target_name = versioned_name(collection)
    target = EdgeIndex(qdrant_dir / target_name)
    try:
        if reader.count() == 0:
            raise VectorIndexError(f"the index at {qdrant_dir / live.shard} is empty: nothing to re-embed")
        copied = copy_reembedded(reader, target, embedder, advance)
    except BaseException:
        target.close()
        shutil.rmtree(qdrant_dir / target_name, ignore_errors=True)  # never live: nothing refers to it
        raise
    finally:
        target.close()
        if source is None:
            reader.close()
    model = embedder.model_id
    switch_live(qdrant_dir, collection, Live(target_name, model, live.shard, live.model or current_model))
    return Switched(target_name, live.shard, model, copied, time.perf_counter() - started)


def reembed_server(
    client: QdrantClient, alias: str, current_model: str, embedder: Embedder, advance: Advance = lambda n, total: None
) -> Switched:
    """A new collection beside the one ``alias`` points at, then the alias switched in one request. The new one is
    laid out as the live one (shards, copies, on disk, quantisation), not as the settings say: a re-embed changes
    the model, and a laptop re-embedding a cluster's index with no cluster settings must not shrink it."""
    started = time.perf_counter()
    with _server_errors():
        live = _live_collection(client, alias)
        reader = ServerIndex(client, live, physical=True)
        if reader.count() == 0:
            raise VectorIndexError(f"collection {live!r} is empty: nothing to re-embed")
        target_name = versioned_name(alias)
        target = ServerIndex(client, target_name, physical=True, layout=Layout.of_collection(client, live))
        try:
            copied = copy_reembedded(reader, target, embedder, advance)
        except VectorIndexError as exc:
            left = _drop_unfinished(client, target_name)
            if left:
                raise VectorIndexError(f"{exc}{left}") from exc
            raise
        except BaseException:  # an interrupt: the same clean-up, quietly
            _drop_unfinished(client, target_name)
            raise
        model = embedder.model_id
        record_origin(client, target_name, model, live, reader.stored_model() or current_model)
        switch_alias(client, alias, target_name)
    return Switched(target_name, live, model, copied, time.perf_counter() - started)


@contextmanager
def _server_errors() -> Iterator[None]:
    """qdrant-client's errors, where this module calls it directly, as the index's error."""
    try:
        yield
    except (UnexpectedResponse, ResponseHandlingException, OSError) as exc:
        raise VectorIndexError(f"the Qdrant server failed: {exc}") from exc


def _drop_unfinished(client: QdrantClient, name: str) -> str:
    """Drop the half-built collection (never live: nothing refers to it); when that fails too, what was left."""
    try:
        if client.collection_exists(name):
            client.delete_collection(name)
        return ""
    except (UnexpectedResponse, ResponseHandlingException, OSError) as exc:
        return (
            f". The unfinished collection {name!r} is left on the server (dropping it failed too: {exc}); nothing "
            f"refers to it: delete it once the server answers (DELETE /collections/{name}); a new re-embed "
            "builds another"
        )


def _live_collection(client: QdrantClient, alias: str) -> str:
    target = alias_target(client, alias)
    if target is not None:
        return target
    if client.collection_exists(alias):
        raise VectorIndexError(
            f"{alias!r} on the Qdrant server is a plain collection, made before askdocs named its collections "
            "through an alias, so it cannot be replaced in one step. Ingest into a new ASKDOCS_QDRANT__COLLECTION "
            "(askdocs now creates it as an alias), then re-embed that one"
        )
    raise VectorIndexError(f"there is no collection {alias!r} on the Qdrant server: nothing to re-embed")


def restore_edge(qdrant_dir: Path, collection: str) -> Switched:
    """Switch the embedded index back to the shard the live one replaced (twice: forth again)."""
    live = read_live(qdrant_dir, collection)
    if not live.previous:
        raise VectorIndexError(f"the embedded index {collection!r} records no previous shard: nothing to restore")
    switch_live(qdrant_dir, collection, Live(live.previous, live.previous_model, live.shard, live.model))
    return Switched(live.previous, live.shard, live.previous_model, 0, 0.0)


def restore_server(client: QdrantClient, alias: str) -> Switched:
    """Point ``alias`` back at the collection the live one replaced (twice: forth again)."""
    with _server_errors():
        return _restore_server(client, alias)


def _restore_server(client: QdrantClient, alias: str) -> Switched:
    live = _live_collection(client, alias)
    metadata = metadata_of(client, live)
    previous = metadata.get(PREVIOUS_KEY)
    if not previous or not client.collection_exists(previous):
        raise VectorIndexError(
            f"collection {live!r} records no previous collection that still exists: nothing to restore"
        )
    previous_model = metadata.get(f"{PREVIOUS_KEY}_model") or ""
    record_origin(client, previous, previous_model, live, str(metadata.get(MODEL_KEY) or ""))
    switch_alias(client, alias, previous)
    return Switched(previous, live, previous_model or None, 0, 0.0)
