"""Vector caches and the composed joint embedding (one transformer pass over a fact's text).

A note keeps two vectors: the intent vector of its raw text and the joint vector it is searched
by, which also carries its speaker, context, keywords and tags. Embedding the whole joint text
costs about 2.3 raw passes; ``embed_mode="composed"`` adds the cached vector of the note's
context line (its speaker and date, which a conversation repeats turn after turn) to the raw
text's vector instead, so ingest embeds each fact's text once plus the context lines it has not
seen before. Keywords and tags are left out of it: both are drawn from the content (the tags by
the raw vector itself), and adding them lowered LoCoMo recall (README, Benchmark: speed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from ._types import Note

__all__ = ["VectorCache", "composed_joint", "context_piece"]


class VectorCache:
    """A bounded, thread-safe least-recently-used map of text to vector.

    Args:
        limit: Most texts kept; the least recently used go first.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(0, int(limit))
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def vectors(self, texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        """Vectors of ``texts``: cached ones are reused, the others embedded in one call and kept.

        Args:
            texts: The texts (repeats allowed).
            embed: Embeds a list of texts into unit rows.

        Returns:
            A float32 array with one row per text.
        """
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vec = self._items.get(text)
                if vec is not None:
                    self._items.move_to_end(text)
                    found[text] = vec
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = embed(missing)
            with self._lock:
                for text, vec in zip(missing, fresh):
                    found[text] = vec
                    self._items[text] = vec
                while len(self._items) > self.limit:
                    self._items.popitem(last=False)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)


def context_piece(note: Note) -> str:
    """The text whose cached vector joins a note's raw vector: its context line, led by its speaker.

    Empty when the note has neither.
    """
    context, speaker = note.context.strip(), note.speaker
    if speaker and speaker not in context:
        context = f"{speaker}: {context}" if context else speaker
    return f"Context: {context}" if context else ""


def composed_joint(intents: np.ndarray, notes: Sequence[Note], pieces: VectorCache, embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
    """Joint vectors: the normalised sum of each raw text's vector and its context line's vector.

    Args:
        intents: Unit vectors of the notes' raw texts, one row per note.
        notes: The notes.
        pieces: The cache of context-line vectors.
        embed: Embeds the context lines not cached yet.

    Returns:
        Unit joint vectors, one row per note (a note without a context line keeps its raw vector).
    """
    joint = np.array(intents, dtype=np.float32, copy=True)
    texts = [context_piece(n) for n in notes]
    rows = [i for i, t in enumerate(texts) if t]
    if rows:
        joint[rows] += pieces.vectors([texts[i] for i in rows], embed)
    joint /= np.maximum(np.linalg.norm(joint, axis=1, keepdims=True), 1e-12)
    return joint
