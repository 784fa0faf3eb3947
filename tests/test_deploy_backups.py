"""docs/DEPLOY.md's backups, done the way it says, on the real engines: a Qdrant collection snapshot taken and
recovered with docker/qdrant-api.sh (bash's /dev/tcp, as inside the image) on the v1.16.3 binary after the
collection is lost, and a state store dumped with pg_dump and restored with pg_restore on PostgreSQL 16."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from askdocs.index.protocol import point_id_for
from askdocs.index.server import ServerIndex
from askdocs.store.engine import current_revision, make_engine
from askdocs.store.keys import KeyStore
from tests.chunks import make_chunk
from tests.conftest import ENGINE
from tests.deploy import ROOT
from tests.qdrant import QdrantNode

SCRIPT = ROOT / "docker" / "qdrant-api.sh"


def qdrant_api(port: int, *args: str) -> tuple[int, dict[str, object]]:
    """``bash -s -- METHOD PATH [BODY] < docker/qdrant-api.sh``, as DEPLOY.md runs it in the container."""
    with SCRIPT.open("rb") as script:
        done = subprocess.run(
            ["bash", "-s", "--", *args],
            stdin=script,
            capture_output=True,
            env=os.environ | {"QDRANT_PORT": str(port)},
            timeout=120,
        )
    body = done.stdout.decode().split("\r\n\r\n", 1)[-1]
    return done.returncode, json.loads(body) if body.strip().startswith("{") else {}


def test_a_snapshot_brings_the_collection_and_its_alias_back_after_they_are_lost(
    qdrant_server: QdrantNode, qdrant_collection: str
) -> None:
    port = qdrant_server.http_port
    index = ServerIndex.connect(qdrant_server.url, None, qdrant_collection, 30)
    index.ensure_collection(8)
    index.upsert([make_chunk(point_id_for(d, "v1:0"), doc_id=d) for d in "abc"], np.eye(8, dtype=np.float32)[:3])
    status, taken = qdrant_api(port, "POST", f"/collections/{qdrant_collection}/snapshots")
    assert status == 0, taken
    (snapshot,) = (qdrant_server.root / "snapshots").glob(f"{qdrant_collection}*/{taken['result']['name']}")
    collection = snapshot.parent.name  # the collection behind the alias: a snapshot keeps no aliases
    assert qdrant_api(port, "DELETE", f"/collections/{collection}")[0] == 0  # lost, alias and all
    assert qdrant_api(port, "GET", f"/collections/{qdrant_collection}")[0] != 0, "a failed call exits non-zero"
    location = json.dumps({"location": f"file://{snapshot}"})
    assert qdrant_api(port, "PUT", f"/collections/{collection}/snapshots/recover", location)[0] == 0
    alias = {"actions": [{"create_alias": {"collection_name": collection, "alias_name": qdrant_collection}}]}
    assert qdrant_api(port, "POST", "/collections/aliases", json.dumps(alias))[0] == 0
    back = ServerIndex.connect(qdrant_server.url, None, qdrant_collection, 30)
    assert sorted(d.doc_id for d in back.documents()) == ["a", "b", "c"]
    back.close()
    index.close()


def pg_tool(name: str) -> str:
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


def libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.store
def test_a_pg_dump_of_the_state_store_restores_its_keys_and_schema(
    database_url: str, empty_store_url: str, tmp_path: Path
) -> None:
    if ENGINE != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL: the PostgreSQL pass of `make test` runs this")
    engine = make_engine(database_url)
    KeyStore(engine).create("slack-bot", "frontend", ("staff",))
    revision = current_revision(engine)
    engine.dispose()
    dump = tmp_path / "askdocs.dump"
    subprocess.run([pg_tool("pg_dump"), "-Fc", "-f", str(dump), "--dbname", libpq(database_url)], check=True)
    restore = [pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--dbname", libpq(empty_store_url)]
    subprocess.run([*restore, str(dump)], check=True, capture_output=True)
    restored = make_engine(empty_store_url)
    try:
        keys = KeyStore(restored).keys()
        assert [(k.name, k.scope, k.groups) for k in keys] == [("slack-bot", "frontend", ("staff",))]
        assert current_revision(restored) == revision
    finally:
        restored.dispose()
