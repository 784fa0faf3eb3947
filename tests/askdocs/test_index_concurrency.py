"""The embedded index under concurrent use: searches beside each other and beside writes stay correct, and the
readers-writer lock lets readers share while the exclusive side waits for them."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from askdocs.index.edge import EdgeIndex
from askdocs.index.rwlock import ReadWriteLock
from askdocs.models import Chunk

DIM = 384


def chunk(i: int) -> Chunk:
    acl = ("hr",) if i % 5 == 0 else ()
    pid = str(uuid.UUID(int=i + 1))
    return Chunk(pid, f"doc{i // 10}", f"s{i // 10}", "t", f"text {i}", f"text {i}", i % 10, 10, "c", "v", "", acl=acl)


def vectors(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_searches_during_upserts_find_what_is_stored_and_never_fail(tmp_path: Path) -> None:
    index = EdgeIndex(tmp_path / "shard")
    index.ensure_collection(DIM)
    first, more = vectors(600, 1), vectors(1200, 2)
    index.upsert([chunk(i) for i in range(600)], first)
    stop = threading.Event()
    wrong: list[str] = []

    def search(seed: int) -> int:
        rng, done = np.random.default_rng(seed), 0
        while not stop.is_set() or done < 20:
            i = int(rng.integers(10, 600))  # doc0 (points 0-9) is deleted meanwhile
            groups = ["eng"] if i % 2 else None  # with the groups filter and without
            hits = index.search(first[i], 3, groups=groups)
            visible = groups is None or i % 5 != 0
            if visible and (not hits or hits[0].chunk.point_id != chunk(i).point_id):
                wrong.append(f"point {i}: {[h.chunk.point_id for h in hits]}")
            if not visible and any(h.chunk.acl for h in hits):
                wrong.append(f"a restricted chunk for group eng: {i}")
            done += 1
        return done

    with ThreadPoolExecutor(8) as pool:
        searches = [pool.submit(search, seed) for seed in range(8)]
        for at in range(0, 1200, 100):
            index.upsert([chunk(600 + i) for i in range(at, at + 100)], more[at : at + 100])
        index.delete_document("doc0")
        stop.set()
        counts = [s.result(timeout=120) for s in searches]
    assert not wrong, wrong[:5]
    assert min(counts) >= 20
    assert index.count() == 1800 - 10
    for i in range(0, 1200, 37):
        assert index.search(more[i], 1)[0].chunk.point_id == chunk(600 + i).point_id
    index.close()
    reopened = EdgeIndex(tmp_path / "shard")
    assert reopened.count() == 1790
    reopened.close()


def test_readers_share_and_the_exclusive_side_waits_for_them() -> None:
    lock = ReadWriteLock()
    inside, release, exclusive_in = threading.Barrier(3), threading.Event(), threading.Event()

    def reader() -> None:
        with lock.shared():
            inside.wait(timeout=10)  # both readers inside at once, or this times out
            release.wait(timeout=10)

    def writer() -> None:
        with lock.exclusive():
            exclusive_in.set()

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    inside.wait(timeout=10)
    w = threading.Thread(target=writer)
    w.start()
    assert not exclusive_in.wait(timeout=0.3)  # the readers still hold it
    release.set()
    assert exclusive_in.wait(timeout=10)
    for t in [*readers, w]:
        t.join(timeout=10)
