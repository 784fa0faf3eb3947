"""Build the configured VectorIndex. Called from main() or the service lifespan, never at import."""

from __future__ import annotations

from askdocs.index.protocol import VectorIndex
from askdocs.settings import Settings


def open_index(settings: Settings) -> VectorIndex:
    if settings.qdrant.url:
        from askdocs.index.layout import Layout
        from askdocs.index.server import ServerIndex

        key = settings.qdrant.api_key.get_secret_value() if settings.qdrant.api_key else None
        return ServerIndex.connect(
            settings.qdrant.url,
            key,
            settings.qdrant.collection,
            settings.qdrant.timeout_s,
            fusion=settings.retrieval.fusion,
            dense_weight=settings.retrieval.dense_weight,
            layout=Layout.from_settings(settings.qdrant),
            hybrid_factor=settings.retrieval.hybrid_factor,
        )
    from askdocs.index.edge import EdgeIndex
    from askdocs.index.pointer import read_live

    qdrant_dir = settings.data_dir / "qdrant"
    live = read_live(qdrant_dir, settings.qdrant.collection)
    r = settings.retrieval
    return EdgeIndex(
        qdrant_dir / live.shard,
        fusion=r.fusion,
        dense_weight=r.dense_weight,
        model=live.model,
        hybrid_factor=r.hybrid_factor,
        min_free_mb=settings.qdrant.min_free_mb,
    )
