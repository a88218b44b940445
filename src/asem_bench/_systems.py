"""The systems compared by ``asem-bench locomo``: baselines a user would pick instead, ablations, and ASEM."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from asem_core import ASEM, Embedder, Note
from asem_core.lexical import BM25Index
from asem_core.locomo import Batch, Turn, ingest_sessions

_TURNS: dict[str, dict[str, Turn]] = {}


def turn_note(conv: str, dia_id: str) -> Note:
    """A turn of an ingested conversation as a note (for the reader's context)."""
    t = _TURNS[conv][dia_id]
    return Note(id=t.dia_id, content=t.text, timestamp=t.timestamp, metadata={"speaker": t.speaker}, source_ids=[t.dia_id])


def _remember(conv: str, turns: Sequence[Turn]) -> None:
    _TURNS.setdefault(conv, {}).update({t.dia_id: t for t in turns})


__all__ = ["ASEMSystem", "BM25System", "DenseSystem", "FullContextSystem", "HybridSystem", "NoMemorySystem", "System", "turn_note", "unit_text"]


class System(Protocol):
    """A memory system under test: ingest turns, then rank source ids for a question."""

    name: str

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """Store the turns of one conversation."""
        ...

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """Ranked results for a question; each result is the list of source ids it stands for."""
        ...

    def feedback(self, conv: str, rewards: Mapping[int, float]) -> None:
        """Reward results of the last retrieval, by position (position -> reward; no-op for static systems)."""
        ...

    def context(self, conv: str, question: str, k: int) -> list[Note]:
        """What a reader gets to answer ``question``: notes (or turns as notes), best first."""
        ...


class _Static:
    def feedback(self, conv: str, rewards: Mapping[int, float]) -> None:
        """Static system: nothing to learn."""

    def context(self, conv: str, question: str, k: int) -> list[Note]:
        """The retrieved turns."""
        return [turn_note(conv, ids[0]) for ids in self.retrieve(conv, question, k)]

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        raise NotImplementedError


class NoMemorySystem(_Static):
    """No memory at all: the reader answers from the question alone."""

    name = "NoMemory"

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """Nothing is stored."""
        _remember(conv, turns)

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """Nothing is found."""
        return []


class FullContextSystem(_Static):
    """Every turn, in order, with its date: the reader gets the latest turns that fit its budget.

    Its "ranking" for evidence recall is the conversation from the end backwards.

    Args:
        budget_chars: Characters of context given to the reader (about 4 characters a token).
    """

    name = "FullContext"

    def __init__(self, budget_chars: int = 5000) -> None:
        self.budget_chars = budget_chars
        self._order: dict[str, list[str]] = {}

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """Keep the turns in order."""
        _remember(conv, turns)
        self._order[conv] = [t.dia_id for t in turns]

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """The last ``k`` turns, latest first."""
        return [[i] for i in reversed(self._order[conv][-k:])]

    def context(self, conv: str, question: str, k: int) -> list[Note]:
        """The latest turns that fit the budget, in conversation order."""
        out: list[Note] = []
        used = 0
        for dia in reversed(self._order[conv]):
            note = turn_note(conv, dia)
            used += len(note.content) + 40
            if used > self.budget_chars:
                break
            out.append(note)
        return out[::-1]


def unit_text(turn: Turn) -> str:
    """The text of one baseline unit: ``"Speaker: text"``, the usual LoCoMo formatting.

    Without the speaker name, dense MiniLM recall@10 drops from about 0.5 to 0.3 on LoCoMo.
    """
    return f"{turn.speaker}: {turn.text}"


class DenseSystem(_Static):
    """One unit per turn in a Chroma collection, MiniLM embeddings, cosine top-k: what LangChain's Chroma retriever does."""

    name = "Dense"

    def __init__(self, embedder: Embedder) -> None:
        import chromadb
        from chromadb.config import Settings

        self._embedder = embedder
        self._client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
        self._prefix = f"dense{uuid.uuid4().hex[:8]}_"
        self._cols: dict[str, Any] = {}

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """See :class:`System` (a conversation already ingested is skipped)."""
        _remember(conv, turns)
        if conv in self._cols:
            return
        col = self._client.get_or_create_collection(f"{self._prefix}{abs(hash(conv))}", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        texts = [unit_text(t) for t in turns]
        embs = self._embedder.embed(texts)
        col.add(ids=[t.dia_id for t in turns], embeddings=embs.tolist(), documents=texts)
        self._cols[conv] = col

    def ranked(self, conv: str, question: str, k: int) -> list[str]:
        """Turn ids, best first."""
        col = self._cols[conv]
        emb = self._embedder.embed([question])[0]
        got = col.query(query_embeddings=[emb.tolist()], n_results=min(k, col.count()), include=[])
        return list(got["ids"][0])

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """See :class:`System`."""
        return [[i] for i in self.ranked(conv, question, k)]


class BM25System(_Static):
    """One unit per turn, Okapi BM25 (stemmed, stop words removed)."""

    name = "BM25"

    def __init__(self) -> None:
        self._indexes: dict[str, BM25Index] = {}

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """See :class:`System` (a conversation already ingested is skipped)."""
        _remember(conv, turns)
        if conv in self._indexes:
            return
        index = BM25Index()
        for t in turns:
            index.add(t.dia_id, unit_text(t))
        self._indexes[conv] = index

    def ranked(self, conv: str, question: str, k: int) -> list[str]:
        """Turn ids, best first."""
        return [i for i, _ in self._indexes[conv].search(question, k)]

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """See :class:`System`."""
        return [[i] for i in self.ranked(conv, question, k)]


class HybridSystem(_Static):
    """Reciprocal rank fusion (k=60) of the Dense and BM25 rankings."""

    name = "Hybrid"

    def __init__(self, dense: DenseSystem, bm25: BM25System, depth: int = 50) -> None:
        self._dense = dense
        self._bm25 = bm25
        self._depth = depth

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """Ingest into both parts (each skips what it already holds)."""
        self._dense.ingest(conv, turns)
        self._bm25.ingest(conv, turns)

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """See :class:`System`."""
        scores: dict[str, float] = {}
        for ranked in (self._dense.ranked(conv, question, self._depth), self._bm25.ranked(conv, question, self._depth)):
            for rank, i in enumerate(ranked, start=1):
                scores[i] = scores.get(i, 0.0) + 1.0 / (60 + rank)
        order = sorted(scores, key=lambda i: -scores[i])[:k]
        return [[i] for i in order]


class ASEMSystem:
    """ASEM with a given configuration, one scope (user_id) per conversation.

    Args:
        name: Row name in the tables.
        embedder: Shared embedder.
        batch: Turns per ``add_many`` call (a session at most).
        progress: Print a line to stderr after each session (for slow LLM ingests).
        **options: Passed to :meth:`ASEM.ephemeral` (config fields, manager).
    """

    def __init__(self, name: str, embedder: Embedder, batch: int = 64, progress: bool = False, **options: Any) -> None:
        self.name = name
        self._progress = progress
        self.mem = ASEM.ephemeral(embedder=embedder, **options)
        self._batch = batch
        self._last: dict[str, list[str]] = {}
        self.ingest_seconds = 0.0
        self.turns = 0
        self.add_ms_per_turn: list[float] = []

    def ingest(self, conv: str, turns: Sequence[Turn]) -> None:
        """Add turns session by session (batched), so 'follows' links stay inside a session."""
        import time

        start = time.perf_counter()

        def progress(done: Batch) -> None:
            self.add_ms_per_turn.append(done.seconds * 1000 / done.size)
            if self._progress and done.last_in_session:
                took = time.perf_counter() - start
                calls = self.mem.llm.totals()["llm_calls"] if self.mem.llm is not None else 0
                line = f"{self.name} {conv}: session {done.session}/{done.sessions}, {done.done}/{done.total} turns"
                line += f", {took / done.done:.2f} s/turn, {calls} LLM calls"
                print(line, file=sys.stderr, flush=True)

        ingest_sessions(self.mem, [t.as_item() for t in turns], batch=self._batch, on_batch=progress, user_id=conv)
        self.ingest_seconds += time.perf_counter() - start
        self.turns += len(turns)

    def retrieve(self, conv: str, question: str, k: int) -> list[list[str]]:
        """See :class:`System`."""
        hits = self.mem.search(question, user_id=conv, k=k)
        self._last[conv] = [h.note.id for h in hits]
        return [h.note.source_ids for h in hits]

    def feedback(self, conv: str, rewards: Mapping[int, float]) -> None:
        """Reward the notes at the given positions of the last search (position -> reward), in one call."""
        last = self._last.get(conv, [])
        per_note = {last[i]: r for i, r in rewards.items() if i < len(last)}
        if per_note:
            self.mem.feedback(per_note, user_id=conv)

    def consolidate(self, conv: str, question: str, answer: str, positions: Sequence[int]) -> None:
        """Store the exchange as an experience note that leads to the hits at ``positions`` of the last search."""
        last = self._last.get(conv, [])
        used = [last[i] for i in positions if i < len(last)]
        if used:
            self.mem.consolidate(question, answer, 1.0, note_ids=used, user_id=conv)

    def context(self, conv: str, question: str, k: int) -> list[Note]:
        """The notes of a value-aware search."""
        return [h.note for h in self.mem.search(question, user_id=conv, k=k)]
