"""Vector index: one Protocol (``VectorIndex``), two adapters (embedded qdrant-edge-py, server qdrant-client)."""

from askdocs.index.protocol import FILTERABLE_FIELDS, Filters, VectorIndex, point_id_for

__all__ = ["FILTERABLE_FIELDS", "Filters", "VectorIndex", "point_id_for"]
