"""``asem-bench perf``, continued: real LoCoMo turns against LangChain's Chroma, start-up, search under load."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from asem_core import ASEM, Embedder, Scope
from asem_core._embedder import resolve_embedder

from ._perf import _bare_collection, _bulk_notes, _latency, synthetic_texts

__all__ = ["perf_ingest_turns", "perf_load", "perf_startup"]


class _LangChainEmbeddings(Embeddings):
    """The same embedder behind LangChain's ``Embeddings`` interface (for ``langchain_chroma.Chroma``)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self._embedder.embed(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder.embed([text])[0]]


def perf_ingest_turns(embedder: Embedder, items: Sequence[dict[str, Any]], batch: int = 64, onnx: Embedder | None = None) -> dict[str, float]:
    """Ingest of real turns (``add_many`` items with speaker and source id), side by side in one run.

    Baselines on the same texts: the raw embedder; embed + one bare Chroma add per batch (the
    same persistent layout as ASEM's: a folder on disk); LangChain's ``Chroma.add_texts`` with the
    same embedder, persistent too. ASEM writes to a persistent store as well. With ``onnx``, the
    raw ONNX embedder and ASEM on it are timed too (``embed_backend="onnx"``).
    """
    texts = [str(it["text"]) for it in items]
    embedder.embed(["warm up"])
    out: dict[str, float] = {"texts": float(len(texts))}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i in range(0, len(texts), batch):
            embedder.embed(texts[i : i + batch])
        out["raw_embedder_texts_per_s"] = len(texts) / (time.perf_counter() - start)

        import chromadb
        from chromadb.config import Settings

        client = chromadb.PersistentClient(path=f"{tmp}/bare", settings=Settings(anonymized_telemetry=False))
        bare = client.get_or_create_collection("bare-turns", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        start = time.perf_counter()
        for i in range(0, len(texts), batch):
            part = texts[i : i + batch]
            bare.add(
                ids=[f"{i + j}" for j in range(len(part))],
                embeddings=embedder.embed(part).tolist(),
                documents=part,
                metadatas=[{"user_id": "perf"}] * len(part),
            )
        out["embed_and_chroma_texts_per_s"] = len(texts) / (time.perf_counter() - start)

        from langchain_chroma import Chroma

        store = Chroma(collection_name="langchain", embedding_function=_LangChainEmbeddings(embedder), persist_directory=f"{tmp}/lc")
        start = time.perf_counter()
        for i in range(0, len(texts), batch):
            store.add_texts(texts[i : i + batch], metadatas=[{"user_id": "perf"}] * len(texts[i : i + batch]))
        out["langchain_chroma_texts_per_s"] = len(texts) / (time.perf_counter() - start)

        mem = ASEM(path=f"{tmp}/asem", embedder=embedder)
        start = time.perf_counter()
        for i in range(0, len(items), batch):
            mem.add_many(list(items[i : i + batch]), user_id="perf")
        out["asem_texts_per_s"] = len(texts) / (time.perf_counter() - start)
        out["embedded_texts_per_item"] = mem.stats(user_id="perf")["embedded_texts"] / len(texts)
        mem.close()
        mem = ASEM(path=f"{tmp}/asem-joint", embedder=embedder, embed_mode="joint")  # the recipe before "composed"
        start = time.perf_counter()
        for i in range(0, len(items), batch):
            mem.add_many(list(items[i : i + batch]), user_id="perf")
        out["asem_joint_texts_per_s"] = len(texts) / (time.perf_counter() - start)
        mem.close()
        if onnx is not None:
            onnx.embed(["warm up"])
            start = time.perf_counter()
            for i in range(0, len(texts), batch):
                onnx.embed(texts[i : i + batch])
            out["raw_onnx_texts_per_s"] = len(texts) / (time.perf_counter() - start)
            mem = ASEM(path=f"{tmp}/asem-onnx", embedder=onnx)
            start = time.perf_counter()
            for i in range(0, len(items), batch):
                mem.add_many(list(items[i : i + batch]), user_id="perf")
            out["asem_onnx_texts_per_s"] = len(texts) / (time.perf_counter() - start)
            mem.close()
    out["ratio_vs_raw"] = out["asem_texts_per_s"] / out["raw_embedder_texts_per_s"]
    out["ratio_vs_embed_and_chroma"] = out["asem_texts_per_s"] / out["embed_and_chroma_texts_per_s"]
    out["ratio_vs_langchain_chroma"] = out["asem_texts_per_s"] / out["langchain_chroma_texts_per_s"]
    return out


_STARTUP = """
import time, sys
t0 = time.perf_counter()
import asem_core
t1 = time.perf_counter()
mem = asem_core.ASEM(path=sys.argv[1], embed_backend=sys.argv[2])
t2 = time.perf_counter()
mem.add("I moved to Porto last spring.", user_id="u")
t3 = time.perf_counter()
mem.search("Where do I live?", user_id="u")
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, "torch" in sys.modules)
"""


def _wall(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout.strip()


def perf_startup(backend: str = "torch") -> dict[str, float]:
    """Wall time of a fresh process: ``import asem_core``, ``ASEM()``, the first ``add`` and ``search``; adapter imports.

    Args:
        backend: ``ASEMConfig.embed_backend`` of the process (``"onnx"`` exports the model once, in the warm-up run).
    """
    with tempfile.TemporaryDirectory() as tmp:
        _wall(_STARTUP, f"{tmp}/warm", backend)  # model files cached (exported), OS caches warm
        *parts_text, torch_loaded = _wall(_STARTUP, f"{tmp}/s", backend).split()
    parts = [float(x) for x in parts_text]
    out = dict(zip(("import_s", "open_s", "first_add_s", "first_search_s"), parts))
    out["total_s"] = sum(parts)
    out["torch_imported"] = float(torch_loaded == "True")
    for pkg in ("asem_langchain", "asem_llamaindex"):
        out[f"import_{pkg}_s"] = float(_wall(f"import time; t = time.perf_counter(); import {pkg}; print(time.perf_counter() - t)"))
    return out


def _busy(n: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def _concurrent(call: Callable[[str], Any], queries: Sequence[str], workers: int = 8) -> tuple[float, float]:
    """p50/p95 of single calls while ``workers`` threads run them at once."""
    times: list[float] = []
    lock = threading.Lock()
    chunks = [list(queries[i::workers]) for i in range(workers)]

    def run(qs: list[str]) -> None:
        for q in qs:
            t = time.perf_counter()
            call(q)
            with lock:
                times.append(time.perf_counter() - t)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 95) * 1000)


def _async_concurrent(mem: ASEM, queries: Sequence[str], workers: int = 8) -> tuple[float, float]:
    times: list[float] = []

    async def one(q: str) -> None:
        t = time.perf_counter()
        await mem.asearch(q, user_id="user-a")
        times.append(time.perf_counter() - t)

    async def main() -> None:
        for i in range(0, len(queries), workers):
            await asyncio.gather(*(one(q) for q in queries[i : i + workers]))

    asyncio.run(main())
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 95) * 1000)


def perf_load(embedder: Embedder, notes: int = 1000, queries: int = 40, busy: Sequence[int] = (0, 1, 3)) -> list[dict[str, float]]:
    """Scoped search latency with 0, 1 and 3 busy processes on the CPU, and with 8 concurrent ``asearch`` calls.

    ASEM and the bare pipeline (query embedding + a Chroma query on a collection of the same
    notes) run under the same load, one after the other, with the same embedder (its thread
    count as configured).
    """
    rng = np.random.default_rng(7)
    qtexts = synthetic_texts(queries, seed=8)
    dim = int(embedder.embed(["probe"]).shape[1])
    mem = ASEM.ephemeral(embedder=embedder, query_cache=0)
    vectors = _bulk_notes(mem, Scope("user-a"), notes, dim, rng)
    bare = _bare_collection(f"load{uuid.uuid4().hex[:4]}")
    bare.add(ids=[str(i) for i in range(len(vectors))], embeddings=vectors.tolist())
    k = mem.config.k2
    for q in qtexts[:5]:
        mem.search(q, user_id="user-a")

    def asem(q: str) -> Any:
        return mem.search(q, user_id="user-a", k=k)

    def plain(q: str) -> Any:
        return bare.query(query_embeddings=embedder.embed([q]).tolist(), n_results=k)

    rows = []
    for n in busy:
        procs = _busy(n)
        try:
            time.sleep(0.5)
            a, b = _latency(asem, qtexts), _latency(plain, qtexts)
        finally:
            for p in procs:
                p.kill()
                p.wait()
        rows.append({"busy": float(n), "asem_p50_ms": a[0], "asem_p95_ms": a[1], "bare_p50_ms": b[0], "bare_p95_ms": b[1], "concurrent": 0.0})
    a = _async_concurrent(mem, qtexts)
    b = _concurrent(plain, qtexts)
    rows.append({"busy": 0.0, "asem_p50_ms": a[0], "asem_p95_ms": a[1], "bare_p50_ms": b[0], "bare_p95_ms": b[1], "concurrent": 8.0})
    for r in rows:
        r["ratio_p50"] = r["asem_p50_ms"] / r["bare_p50_ms"]
        r["ratio_p95"] = r["asem_p95_ms"] / r["bare_p95_ms"]
    mem.close()
    return rows


def report_more(embedder: Embedder, items: Sequence[dict[str, Any]], load_notes: int, threads: int | None) -> dict[str, Any]:
    """Run the real-turn ingest, start-up and load measurements, print them, and return the figures."""
    onnx = resolve_embedder(None, threads, backend="onnx")
    turns = perf_ingest_turns(embedder, items, onnx=onnx)
    print(f"Ingest of {int(turns['texts'])} real LoCoMo turns (persistent stores, batches of 64), side by side:")
    print(
        f"  raw embedder {turns['raw_embedder_texts_per_s']:.1f}/s · embed + bare Chroma {turns['embed_and_chroma_texts_per_s']:.1f}/s · "
        f"LangChain Chroma.add_texts {turns['langchain_chroma_texts_per_s']:.1f}/s · ASEM {turns['asem_texts_per_s']:.1f}/s"
    )
    print(
        f"  ASEM / raw {turns['ratio_vs_raw']:.2f} · ASEM / (embed + bare Chroma) {turns['ratio_vs_embed_and_chroma']:.2f} (target 0.7) · "
        f"ASEM / LangChain Chroma {turns['ratio_vs_langchain_chroma']:.2f} (target 1.0) · texts embedded per item {turns['embedded_texts_per_item']:.2f}"
    )
    print(f"  ASEM with embed_mode='joint' (the whole joint text embedded) {turns['asem_joint_texts_per_s']:.1f}/s")
    print(
        f"  ONNX backend, same weights: raw {turns['raw_onnx_texts_per_s']:.1f}/s · ASEM {turns['asem_onnx_texts_per_s']:.1f}/s "
        f"(ASEM-onnx / (embed + bare Chroma) {turns['asem_onnx_texts_per_s'] / turns['embed_and_chroma_texts_per_s']:.2f})\n"
    )
    start = {backend: perf_startup(backend) for backend in ("torch", "onnx")}
    for backend, st in start.items():
        print(
            f"Start-up of a fresh process, embed_backend={backend!r} (model files cached): import asem_core {st['import_s']:.2f} s + "
            f"ASEM() {st['open_s']:.2f} s + first add {st['first_add_s']:.2f} s + first search {st['first_search_s']:.2f} s = "
            f"{st['total_s']:.2f} s (target 5; torch imported: {bool(st['torch_imported'])})"
        )
    st = start["torch"]
    print(f"import asem_langchain {st['import_asem_langchain_s']:.2f} s, asem_llamaindex {st['import_asem_llamaindex_s']:.2f} s (target 1.5)\n")
    load = perf_load(embedder, load_notes)
    print(f"Scoped search under load, {load_notes} notes, embedder threads {threads or 'torch default'} (ms):\n")
    print("| load | ASEM p50 / p95 | bare p50 / p95 | ratio p50 / p95 |")
    print("|---|---|---|---|")
    for r in load:
        what = "8 concurrent asearch" if r["concurrent"] else f"{int(r['busy'])} busy process(es)"
        cells = [what, f"{r['asem_p50_ms']:.1f} / {r['asem_p95_ms']:.1f}", f"{r['bare_p50_ms']:.1f} / {r['bare_p95_ms']:.1f}"]
        print("| " + " | ".join([*cells, f"{r['ratio_p50']:.2f} / {r['ratio_p95']:.2f}"]) + " |")
    print()
    return {"turns": turns, "startup": start, "load": load}
