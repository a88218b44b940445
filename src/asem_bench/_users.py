"""``asem-bench users``: many users in one local store (per-add latency as the store fills, disk, open time)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from asem_core import ASEM, Embedder

from ._perf import disk_use

__all__ = ["perf_users", "probe_layouts", "report_users"]

_FACTS = ("I live in {city}.", "My favourite food is {food}.", "I work as a {job}.")
_CITIES = ("Lisbon", "Oslo", "Porto", "Quito", "Lyon", "Busan", "Perth", "Cork")
_FOODS = ("ramen", "paella", "curry", "tacos", "pho", "falafel", "risotto", "dumplings")
_JOBS = ("nurse", "pilot", "chef", "teacher", "plumber", "lawyer", "painter", "baker")

_OPEN = """
import sys, time
t0 = time.perf_counter()
from asem_core import ASEM
mem = ASEM(path=sys.argv[1], embed_backend="onnx")
t1 = time.perf_counter()
hits = mem.search("Where do I live?", user_id=sys.argv[2])
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, len(hits))
"""


def _facts(user: int, per_user: int) -> list[str]:
    out = []
    for i in range(per_user):
        template = _FACTS[i % len(_FACTS)]
        out.append(template.format(city=_CITIES[(user + i) % 8], food=_FOODS[(user * 3 + i) % 8], job=_JOBS[(user * 5 + i) % 8]))
    return out


def perf_users(embedder: Embedder, store: Path, users: int, per_user: int = 3, window: int = 1000) -> dict[str, Any]:
    """Add ``per_user`` facts for each of ``users`` users (one ``add_many`` each) into one local store.

    Returns the mean add time of the first and the last ``window`` users (``window`` is cut to a
    tenth of ``users`` for small runs), their ratio, disk use per user, and the wall time of a
    fresh process to open the store and serve a first search.
    """
    window = max(1, min(window, users // 10 or 1))
    times: list[float] = []
    with ASEM(path=store, embedder=embedder) as mem:
        mem.add_many(["warm up"], user_id="warm-up")
        for user in range(users):
            start = time.perf_counter()
            mem.add_many(_facts(user, per_user), user_id=f"user-{user}")
            times.append(time.perf_counter() - start)
    first, last = float(np.mean(times[:window]) * 1000), float(np.mean(times[-window:]) * 1000)
    mb, files = disk_use(store)
    opened = subprocess.run([sys.executable, "-c", _OPEN, str(store), f"user-{users // 2}"], capture_output=True, text=True, check=True).stdout.split()
    return {
        "users": users,
        "facts_per_user": per_user,
        "window": window,
        "first_window_add_ms": first,
        "last_window_add_ms": last,
        "ratio_last_to_first": last / first,
        "store_mb": mb,
        "files": files,
        "mb_per_user": mb / users,
        "open_s": float(opened[0]),
        "first_search_s": float(opened[1]),
    }


def report_users(embedder: Embedder, store: Path, users: int, per_user: int) -> dict[str, Any]:
    """Run :func:`perf_users`, print its figures and return them."""
    r = perf_users(embedder, store, users, per_user)
    print(f"{r['users']} users x {r['facts_per_user']} facts in one local store (a collection pair per scope):")
    print(
        f"  add_many per user: first {r['window']} users {r['first_window_add_ms']:.1f} ms, last {r['window']} users "
        f"{r['last_window_add_ms']:.1f} ms, ratio {r['ratio_last_to_first']:.2f} (target 1.3)"
    )
    print(f"  disk {r['store_mb']:.0f} MB in {r['files']} files ({r['mb_per_user'] * 1000:.0f} kB per user)")
    print(f"  a fresh process opens the store in {r['open_s']:.2f} s and serves the first search in {r['first_search_s']:.2f} s (ONNX backend)")
    layouts = probe_layouts(embedder, store.parent / f"{store.name}-layouts", users, per_user)
    print(f"The two candidate layouts in bare Chroma, {users} users (first / last {r['window']} users, ms):")
    print("| layout | write first / last | query first / last | disk MB | files |")
    print("|---|---|---|---|---|")
    for name, f in layouts.items():
        print(
            f"| {name} | {f['write_first_ms']:.1f} / {f['write_last_ms']:.1f} | {f['query_first_ms']:.1f} / {f['query_last_ms']:.1f} "
            f"| {f['store_mb']:.0f} | {int(f['files'])} |"
        )
    return {**r, "layouts": layouts}


def probe_layouts(embedder: Embedder, folder: Path, users: int, per_user: int = 3, window: int = 1000) -> dict[str, dict[str, float]]:
    """The two candidate layouts in bare Chroma, side by side: a collection per user vs one shared collection.

    Per user: ``per_user`` rows written (one ``add``), then one query of that user's rows (its own
    collection, or the shared one with a ``where`` filter on the user). Returns, for each layout,
    the mean write and query time of the first and last ``window`` users and the disk use.
    """
    import chromadb
    from chromadb.config import Settings

    window = max(1, min(window, users // 10 or 1))
    vectors = embedder.embed([*_facts(0, per_user), "Where do I live?"])
    rows, query = vectors[:-1].tolist(), vectors[-1:].tolist()
    out: dict[str, dict[str, float]] = {}
    for layout in ("collection per user", "shared collection"):
        path = folder / layout.replace(" ", "-")
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
        shared = client.get_or_create_collection("shared", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        writes: list[float] = []
        reads: list[float] = []
        for user in range(users):
            start = time.perf_counter()
            if layout == "shared collection":
                col, where = shared, {"user": f"u{user}"}
                col.add(ids=[f"u{user}-{i}" for i in range(per_user)], embeddings=rows, metadatas=[{"user": f"u{user}"}] * per_user)
            else:
                col, where = client.get_or_create_collection(f"user-{user}", metadata={"hnsw:space": "cosine"}, embedding_function=None), None
                col.add(ids=[f"{i}" for i in range(per_user)], embeddings=rows, metadatas=[{"user": f"u{user}"}] * per_user)
            writes.append(time.perf_counter() - start)
            start = time.perf_counter()
            col.query(query_embeddings=query, n_results=per_user, where=where)  # type: ignore[arg-type]
            reads.append(time.perf_counter() - start)
        mb, files = disk_use(path)
        out[layout] = {
            "write_first_ms": float(np.mean(writes[:window]) * 1000),
            "write_last_ms": float(np.mean(writes[-window:]) * 1000),
            "query_first_ms": float(np.mean(reads[:window]) * 1000),
            "query_last_ms": float(np.mean(reads[-window:]) * 1000),
            "store_mb": mb,
            "files": float(files),
        }
    return out
