"""Qdrant server: the configured collection name is an alias of ``<name>_initial``, later of ``<name>_<stamp>``, so
``askdocs index reembed`` can build a whole new collection beside the live one and switch to it in one atomic alias
update; the replaced collection is kept (named in the new one's metadata) and ``askdocs index restore`` switches
back to it."""

from __future__ import annotations

import time
from typing import Any

from qdrant_client import QdrantClient, models

MODEL_KEY = "askdocs_embedding_model"  # collection metadata: the model its vectors were made with
PRECISION_KEY = "askdocs_embedding_precisions"  # collection metadata: the number formats its vectors were made in
PREVIOUS_KEY = "askdocs_previous"  # collection metadata: the collection it replaced (to restore)


def initial_name(alias: str) -> str:
    """The first collection behind ``alias``: one name, not a time, so that processes making it at the same moment
    make one collection, not two of which the alias would keep the last (and lose what went into the other)."""
    return f"{alias}_initial"


def versioned_name(alias: str) -> str:
    """``<alias>_<UTC time to the millisecond>``: the collection an alias points at."""
    now = time.time()
    return f"{alias}_{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}{int(now * 1000) % 1000:03d}"


def alias_target(client: QdrantClient, alias: str) -> str | None:
    """The collection ``alias`` points at; None when no such alias exists."""
    found = client.get_aliases().aliases
    return next((a.collection_name for a in found if a.alias_name == alias), None)


def switch_alias(client: QdrantClient, alias: str, collection: str) -> None:
    """Point ``alias`` at ``collection`` in one request (Qdrant applies the delete and create atomically)."""
    operations: list[Any] = [
        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)),
        models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)),
    ]
    if alias_target(client, alias) is None:
        operations = operations[1:]
    client.update_collection_aliases(change_aliases_operations=operations)


def metadata_of(client: QdrantClient, collection: str) -> dict[str, Any]:
    return dict(client.get_collection(collection).config.metadata or {})


def record_origin(client: QdrantClient, collection: str, model: str, previous: str, previous_model: str) -> None:
    """Remember in ``collection``'s metadata the model of its vectors and the collection (and model) it replaces."""
    metadata = {MODEL_KEY: model, PREVIOUS_KEY: previous, f"{PREVIOUS_KEY}_model": previous_model}
    client.update_collection(collection, metadata=metadata)
