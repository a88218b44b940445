"""``asem-bench perf``: ingest throughput and search latency against the raw embedder and bare Chroma."""

from __future__ import annotations

import os
import resource
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from asem_core import ASEM, Embedder, Note, Scope

__all__ = ["disk_use", "perf_ingest", "perf_search", "synthetic_texts"]

_WORDS = (
    "dog cat garden painting guitar marathon pottery Lisbon Porto sister brother mother father school job bank studio "
    "dance store fashion trip camping beach book movie recipe dinner birthday wedding concert museum hiking lake forest "
    "car bike train flight hotel market coffee tea music violin piano volunteer shelter clinic nurse teacher coach"
).split()


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """Sentences of 8-20 words drawn from a fixed vocabulary with a fixed seed."""
    rng = np.random.default_rng(seed)
    return [f"I talked about {' '.join(rng.choice(_WORDS, size=int(rng.integers(8, 20))))} today." for _ in range(n)]


def _bare_collection(prefix: str) -> Any:
    """A fresh cosine collection in an in-process Chroma, with no embedding function: the bare baselines."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    return client.get_or_create_collection(f"{prefix}{uuid.uuid4().hex[:8]}", metadata={"hnsw:space": "cosine"}, embedding_function=None)


def perf_ingest(embedder: Embedder, texts: Sequence[str], batch: int = 64) -> dict[str, float]:
    """Throughput of ``add_many`` on ``texts`` against embedding the same texts once with the raw embedder.

    A second baseline, "embed + Chroma", also writes each batch to a bare Chroma collection
    (vector, document, one metadata field): the least any Chroma-backed memory does per text.
    """
    embedder.embed(["warm up"])
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed(list(texts[i : i + batch]))
    raw = time.perf_counter() - start
    bare = _bare_collection("ingest")
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        part = list(texts[i : i + batch])
        vectors = embedder.embed(part)
        bare.add(ids=[f"{i + j}" for j in range(len(part))], embeddings=vectors.tolist(), documents=part, metadatas=[{"user_id": "perf"}] * len(part))
    raw_chroma = time.perf_counter() - start
    mem = ASEM.ephemeral(embedder=embedder)
    add_times: list[float] = []

    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        chunk = [{"text": t} for t in texts[i : i + batch]]
        t0 = time.perf_counter()
        mem.add_many(chunk, user_id="perf")
        add_times.append((time.perf_counter() - t0) / len(chunk))
    asem = time.perf_counter() - start
    return {
        "texts": float(len(texts)),
        "raw_embedder_texts_per_s": len(texts) / raw,
        "asem_texts_per_s": len(texts) / asem,
        "ratio": raw / asem,
        "embed_and_chroma_texts_per_s": len(texts) / raw_chroma,
        "ratio_vs_embed_and_chroma": raw_chroma / asem,
        "embedded_texts_per_item": mem.stats(user_id="perf")["embedded_texts"] / len(texts),
        "add_p50_ms_per_item": float(np.percentile(add_times, 50) * 1000),
        "add_p95_ms_per_item": float(np.percentile(add_times, 95) * 1000),
    }


def _bulk_notes(mem: ASEM, scope: Scope, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Write ``n`` synthetic notes straight to the store (random unit vectors, synthetic text)."""
    texts = synthetic_texts(n, seed=int(rng.integers(1 << 30)))
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    for i in range(0, n, 5000):
        notes = [
            Note(
                id=uuid.uuid4().hex,
                content=t,
                timestamp=now,
                keywords=["synthetic"],
                tags=["synthetic"],
                context="perf",
                q=mem.config.q0,
                scope=scope,
                created_at=now,
                updated_at=now,
            )
            for t in texts[i : i + 5000]
        ]
        mem.store.put_notes(notes, vectors[i : i + 5000], vectors[i : i + 5000])
    return vectors


def _latency(fn: Callable[[str], Any], queries: Sequence[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 95) * 1000)


def _measure_size(embedder: Embedder, size: int, queries: Sequence[str], folder: Path | None, rng: np.random.Generator) -> dict[str, float]:
    dim = int(embedder.embed(["dimension probe"]).shape[1])
    path = str(folder / f"perf-{size}") if folder else None
    mem = ASEM(path=path, embedder=embedder, query_cache=0) if path else ASEM.ephemeral(embedder=embedder, query_cache=0)
    scoped, unscoped = Scope("user-a"), Scope()
    vectors = _bulk_notes(mem, scoped, size, dim, rng)
    _bulk_notes(mem, unscoped, size, dim, rng)
    for session in range(10):  # the same number of notes for one user, over ten sessions
        _bulk_notes(mem, Scope("user-s", session_id=f"s{session}"), max(size // 10, 1), dim, rng)
    shared = _bare_collection("bare")
    for i in range(0, size, 5000):
        chunk = vectors[i : i + 5000]
        shared.add(
            ids=[f"{i + j}" for j in range(len(chunk))],
            embeddings=chunk.tolist(),
            metadatas=[{"user_id": "user-a" if j % 2 == 0 else "user-b"} for j in range(len(chunk))],
        )
    own = mem.store._collection(scoped, "n")
    k = mem.config.k2
    for q in queries:  # warm runs: build each scope's lexical index and its posting arrays once
        mem.search(q, user_id="user-a")
        mem.search(q, user_id="user-s")
        mem.search(q)
    asem_s = _latency(lambda q: mem.search(q, user_id="user-a", k=k), queries)
    asem_u = _latency(lambda q: mem.search(q, k=k), queries)
    asem_user = _latency(lambda q: mem.search(q, user_id="user-s", k=k), queries)
    bare = _latency(lambda q: own.query(query_embeddings=embedder.embed([q]).tolist(), n_results=k), queries)
    bare_f = _latency(lambda q: shared.query(query_embeddings=embedder.embed([q]).tolist(), n_results=k, where={"user_id": "user-a"}), queries)
    feedback = _latency(lambda q: mem.feedback(1.0, user_id="user-a"), queries[:20])
    return {
        "notes": float(size),
        "asem_scoped_p50_ms": asem_s[0],
        "asem_scoped_p95_ms": asem_s[1],
        "asem_unscoped_p50_ms": asem_u[0],
        "asem_unscoped_p95_ms": asem_u[1],
        "bare_chroma_p50_ms": bare[0],
        "bare_chroma_p95_ms": bare[1],
        "bare_chroma_filtered_p50_ms": bare_f[0],
        "bare_chroma_filtered_p95_ms": bare_f[1],
        "ratio_scoped_p50": asem_s[0] / bare[0],
        "asem_user_10_sessions_p50_ms": asem_user[0],
        "asem_user_10_sessions_p95_ms": asem_user[1],
        "ratio_user_level_vs_scoped_p50": asem_user[0] / asem_s[0],
        "feedback_p50_ms": feedback[0],
        "store_mb": disk_use(path)[0] if path else 0.0,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def perf_search(embedder: Embedder, sizes: Sequence[int], queries: int = 50, folder: Path | None = None, seed: int = 0) -> list[dict[str, float]]:
    """Search latency at each store size, scoped and unscoped, against bare Chroma with the same query vector.

    Notes are synthetic (random unit vectors and sentences from a fixed vocabulary) and are written
    straight to the store, so sizes of 100k are reached in minutes. Each timing embeds the query,
    for ASEM (its query cache is off) and for the bare baselines alike, after one warm run. The bare "filtered" baseline is one shared collection
    queried with a ``where`` filter on the user, the usual single-collection design.
    """
    rng = np.random.default_rng(seed)
    qtexts = synthetic_texts(queries, seed=seed + 1)
    return [_measure_size(embedder, size, qtexts, folder, rng) for size in sizes]


def disk_use(path: str | os.PathLike[str]) -> tuple[float, int]:
    """MB and number of files under ``path``."""
    total, count = 0, 0
    for root, _, files in os.walk(path):
        for f in files:
            count += 1
            total += os.path.getsize(os.path.join(root, f))
    return total / 1e6, count
