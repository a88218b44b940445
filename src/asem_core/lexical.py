"""An incremental in-memory BM25 index (the lexical channel of phase A)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ._text import lexical_tokens

__all__ = ["BM25Index"]


class BM25Index:
    """Okapi BM25 over a growing set of documents, keyed by note id.

    Re-adding an id replaces its document; removing it hides it. Postings are kept as
    Python lists and turned into NumPy arrays lazily; document lengths and liveness live in
    growable NumPy arrays, so a query does no per-document Python work at 100k notes.

    Args:
        saturation: Term-frequency saturation (BM25's "k1"; named apart from
            :attr:`ASEMConfig.k1 <asem_core.ASEMConfig.k1>`, the phase-A candidate count).
        length_norm: Length normalisation (BM25's "b").
    """

    def __init__(self, saturation: float = 1.2, length_norm: float = 0.75) -> None:
        self.saturation = saturation
        self.length_norm = length_norm
        self._ids: list[str] = []
        self._slot: dict[str, int] = {}
        self._lengths = np.zeros(64, dtype=np.float32)
        self._alive = np.zeros(64, dtype=bool)
        self._postings: dict[str, tuple[list[int], list[int]]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._total_len = 0
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def __contains__(self, note_id: object) -> bool:
        return note_id in self._slot

    def add(self, note_id: str, text: str) -> None:
        """Index (or re-index) one document."""
        self.add_tokens(note_id, lexical_tokens(text))

    def add_tokens(self, note_id: str, tokens: Sequence[str]) -> None:
        """Index (or re-index) one document already split by :func:`~asem_core._text.lexical_tokens`."""
        self.remove(note_id)
        slot = len(self._ids)
        if slot == self._alive.size:
            self._lengths = np.concatenate([self._lengths, np.zeros(slot, dtype=np.float32)])
            self._alive = np.concatenate([self._alive, np.zeros(slot, dtype=bool)])
        self._ids.append(note_id)
        self._slot[note_id] = slot
        self._lengths[slot] = len(tokens)
        self._alive[slot] = True
        self._total_len += len(tokens)
        self._live += 1
        for term, tf in Counter(tokens).items():
            docs, tfs = self._postings.setdefault(term, ([], []))
            docs.append(slot)
            tfs.append(tf)
            self._arrays.pop(term, None)

    def remove(self, note_id: str) -> None:
        """Hide a document (no-op when unknown)."""
        slot = self._slot.pop(note_id, None)
        if slot is None:
            return
        self._alive[slot] = False
        self._total_len -= int(self._lengths[slot])
        self._live -= 1

    def _array(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        cached = self._arrays.get(term)
        if cached is None:
            posting = self._postings.get(term)
            if posting is None:
                return None
            cached = (np.asarray(posting[0], dtype=np.int64), np.asarray(posting[1], dtype=np.float32))
            self._arrays[term] = cached
        return cached

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Return up to ``k`` (note id, BM25 score) pairs, best first, scores > 0."""
        if self._live == 0 or k <= 0:
            return []
        terms = set(lexical_tokens(query))
        if not terms:
            return []
        n_slots = len(self._ids)
        alive = self._alive[:n_slots]
        lengths = self._lengths[:n_slots]
        avg = max(self._total_len / max(self._live, 1), 1e-9)
        norm = self.saturation * (1.0 - self.length_norm + self.length_norm * lengths / avg)
        scores = np.zeros(n_slots, dtype=np.float32)
        for term in terms:
            arrays = self._array(term)
            if arrays is None:
                continue
            docs, tfs = arrays
            live_docs = alive[docs]
            df = int(live_docs.sum())
            if df == 0:
                continue
            idf = math.log(1.0 + (self._live - df + 0.5) / (df + 0.5))
            scores[docs] += live_docs * idf * tfs * (self.saturation + 1.0) / (tfs + norm[docs])
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        if candidates.size > k:
            part = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[part]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in order]
