"""How a collection askdocs creates on a Qdrant server is laid out: its shards, the copies of each shard, how many
copies must apply a write before it is acknowledged, and where the dense vectors live.

A new index takes the layout from the settings (``ASKDOCS_QDRANT__SHARD_NUMBER`` and the others); a re-embed reads
it off the live collection, so that the collection replacing it is laid out alike. Qdrant accepts a replication
factor above its peer count and silently keeps fewer copies (seen with v1.16.3), so the peers are counted first and
a layout the cluster cannot hold is refused before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from askdocs.errors import ConfigError
from askdocs.index.points import DENSE, INTEGER_INDEXES, KEYWORD_INDEXES, SENTENCES, SPARSE
from askdocs.settings import QdrantSettings

# int8 copies of the dense vectors for the search itself, kept in RAM even when the vectors are on disk; the 1 %
# most extreme values are clipped (Qdrant's recommended quantile). Hits' cosines come from the original vectors.
INT8 = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
)


@dataclass(frozen=True, slots=True)
class Layout:
    shard_number: int | None = None  # None: Qdrant's default, one shard per peer at creation
    replication_factor: int = 1
    write_consistency_factor: int = 1
    on_disk: bool = False
    quantization: models.QuantizationConfig | None = None
    copied_from: str | None = None  # the collection it was read off (named in errors); None: the settings

    @classmethod
    def from_settings(cls, qdrant: QdrantSettings) -> Layout:
        return cls(
            qdrant.shard_number,
            qdrant.replication_factor,
            qdrant.write_consistency_factor,
            qdrant.on_disk,
            INT8 if qdrant.quantization == "int8" else None,
        )

    @classmethod
    def of_collection(cls, client: QdrantClient, name: str) -> Layout:
        config = client.get_collection(name).config
        params = config.params
        dense = params.vectors.get(DENSE) if isinstance(params.vectors, dict) else None
        return cls(
            params.shard_number,
            params.replication_factor or 1,
            params.write_consistency_factor or 1,
            bool(dense and dense.on_disk),
            (dense.quantization_config if dense else None) or config.quantization_config,
            copied_from=name,
        )

    def create_args(self, dimension: int) -> dict[str, Any]:
        """The keyword arguments of ``QdrantClient.create_collection`` for a collection of this layout."""
        dense = models.VectorParams(size=dimension, distance=models.Distance.COSINE, on_disk=self.on_disk or None)
        return {
            "vectors_config": {DENSE: dense, SENTENCES: sentence_params(dimension, self.on_disk)},
            "sparse_vectors_config": {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            "shard_number": self.shard_number,
            "replication_factor": self.replication_factor,
            "write_consistency_factor": self.write_consistency_factor,
            "quantization_config": self.quantization,
        }

    def check_peers(self, peers: int, where: str) -> None:
        """Refuse a layout with more copies of a shard than ``where`` has peers to put them on."""
        if peers >= self.replication_factor:
            return
        has = f"the {where} has {peers} peer{'s' if peers != 1 else ''}" + (" (cluster mode off)" if peers == 1 else "")
        if self.copied_from is None:
            raise ConfigError(
                f"ASKDOCS_QDRANT__REPLICATION_FACTOR={self.replication_factor} needs {self.replication_factor} "
                f"Qdrant peers, one for each copy of a shard, but {has}: nothing was created. Lower "
                f"ASKDOCS_QDRANT__REPLICATION_FACTOR to at most {peers} (and __WRITE_CONSISTENCY_FACTOR with it), "
                "or add peers to the cluster"
            )
        raise ConfigError(
            f"collection {self.copied_from!r} keeps {self.replication_factor} copies of each shard, but {has}: "
            "its replacement was not created. Bring the cluster back to "
            f"{self.replication_factor} peers first"
        )


def sentence_params(dimension: int, on_disk: bool) -> models.VectorParams:
    """The answer candidates' vectors (a multivector, one row per candidate): read by point id only, never
    searched, so no HNSW graph (m=0), and in float16."""
    return models.VectorParams(
        size=dimension,
        distance=models.Distance.COSINE,
        multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
        hnsw_config=models.HnswConfigDiff(m=0),
        datatype=models.Datatype.FLOAT16,
        on_disk=on_disk or None,
    )


def count_peers(client: QdrantClient) -> int:
    """The peers of the cluster ``client`` talks to, as its consensus knows them (a peer that is down still counts;
    one removed does not); 1 when cluster mode is off."""
    status = client.cluster_status()
    return len(getattr(status, "peers", None) or {}) or 1


def create_collection(client: QdrantClient, name: str, dimension: int, layout: Layout, alias: str | None) -> None:
    """Collection ``name`` laid out as ``layout``, with askdocs's payload indexes, and ``alias`` pointing at it.
    Safe when several processes make the same name at once (two workers' first ingest): Qdrant creates it once
    and answers the others 409, who then use it; indexes and the alias are the same whoever makes them."""
    for attempt in (1, 2):
        try:
            client.create_collection(name, **layout.create_args(dimension))
            break
        except UnexpectedResponse as exc:
            if exc.status_code == 409:  # made a moment ago, by another process or by the first attempt
                break
            if attempt == 2 or not (exc.status_code == 500 and b"consensus" in exc.content):
                raise
        except ResponseHandlingException:
            if attempt == 2:
                raise
        # Not confirmed in time (seen with v1.16.3, a peer down): Qdrant waits 10 s for the new replicas on a dead
        # peer before it answers, past a 10 s client timeout, and drops a change proposed while the peers elect a
        # new leader. Made or not, a second attempt settles it.
    for field in KEYWORD_INDEXES:
        client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)
    for field in INTEGER_INDEXES:
        client.create_payload_index(name, field, models.PayloadSchemaType.INTEGER)
    if alias is not None:
        create = models.CreateAlias(collection_name=name, alias_name=alias)
        client.update_collection_aliases([models.CreateAliasOperation(create_alias=create)])
