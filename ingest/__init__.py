"""Ingest: load sources, split them with a chunker, embed, and store in the vector index."""
