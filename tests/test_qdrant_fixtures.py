"""The real Qdrant server the tests use (tests/qdrant.py): the pinned binary, one node, a 3-peer cluster."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from askdocs.index.protocol import point_id_for
from askdocs.index.server import ServerIndex
from tests.chunks import make_chunk
from tests.qdrant import SHASUM, VERSION, QdrantNode, peers


def test_the_node_is_the_pinned_version_and_the_server_adapter_stores_and_finds(
    qdrant_server: QdrantNode, qdrant_collection: str
) -> None:
    assert httpx.get(qdrant_server.url, timeout=5).json()["version"] == VERSION and len(SHASUM) == 40
    index = ServerIndex.connect(qdrant_server.url, None, qdrant_collection, 10)
    index.ensure_collection(8)
    chunks = [make_chunk(point_id_for(doc, "v1:0"), doc_id=doc) for doc in ("a", "b")]
    index.upsert(chunks, np.eye(8, dtype=np.float32)[:2])
    [hit, *_] = index.search(np.eye(8, dtype=np.float32)[0], 2)
    index.close()
    assert hit.chunk.doc_id == "a" and hit.score > 0.9


@pytest.mark.slow
def test_three_peers_form_a_cluster_and_a_killed_one_rejoins(qdrant_cluster: list[QdrantNode]) -> None:
    first, _, last = qdrant_cluster
    assert peers(first) == 3
    last.kill()
    last.start()
    last.wait_ready()
    assert peers(last) == 3
