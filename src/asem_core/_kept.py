"""Scope counts and note rows of the stores this process alone writes, kept in memory.

Every search checks the scope's note count (is its in-memory index stale?) and reads the rows of
its candidate pool back; on a persistent collection Chroma's ``count`` costs about 4 ms and the
``get`` of a pool about 2.5 ms, together a third of a whole search over 1,000 notes. A store this
process alone writes (a local folder it holds locked, or an in-memory store) keeps both here
instead, shared by every open store of that folder in the process. Each write of a scope drops
its count and the rows it wrote, and bumps its generation; a value read from Chroma is kept only
if no write of that scope finished while it was read, so nothing stale is ever served.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from ._types import Note

__all__ = ["KEPT", "ScopeCache"]

_Key = tuple[str, str]


class ScopeCache:
    """Counts and note rows by store key and scope key, with a write generation per scope.

    Args:
        max_rows: Note rows kept in all (least recently used go first).
    """

    def __init__(self, max_rows: int = 20_000) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._counts: dict[_Key, int] = {}
        self._generations: dict[_Key, int] = {}
        self._rows: OrderedDict[tuple[str, str, str], tuple[Note, np.ndarray]] = OrderedDict()
        self._row_ids: dict[_Key, set[str]] = {}

    def generation(self, store: str, scope: str) -> int:
        """The scope's write generation: read it before reading Chroma, hand it to a ``put``."""
        with self._lock:
            return self._generations.get((store, scope), 0)

    def count(self, store: str, scope: str) -> int | None:
        """The kept note count of a scope, or ``None``."""
        with self._lock:
            return self._counts.get((store, scope))

    def put_count(self, store: str, scope: str, count: int, generation: int) -> None:
        """Keep a count read from Chroma, unless a write of the scope finished since ``generation``."""
        with self._lock:
            if self._generations.get((store, scope), 0) == generation:
                self._counts[(store, scope)] = count

    def rows(self, store: str, scope: str, ids: Sequence[str]) -> dict[str, tuple[Note, np.ndarray]]:
        """Kept rows among ``ids``: copies of the notes (callers may change them) and their joint vectors."""
        out: dict[str, tuple[Note, np.ndarray]] = {}
        with self._lock:
            for note_id in ids:
                row = self._rows.get((store, scope, note_id))
                if row is not None:
                    self._rows.move_to_end((store, scope, note_id))
                    out[note_id] = row
        return {i: (note.copy(), vec) for i, (note, vec) in out.items()}

    def put_rows(self, store: str, scope: str, rows: Mapping[str, tuple[Note, np.ndarray]], generation: int) -> None:
        """Keep rows read from Chroma, unless a write of the scope finished since ``generation``."""
        with self._lock:
            if self._generations.get((store, scope), 0) != generation:
                return
            ids = self._row_ids.setdefault((store, scope), set())
            for note_id, (note, vec) in rows.items():
                self._rows[(store, scope, note_id)] = (note.copy(), vec)
                ids.add(note_id)
            while len(self._rows) > self.max_rows:
                (s, sc, note_id), _ = self._rows.popitem(last=False)
                self._row_ids.get((s, sc), set()).discard(note_id)

    def forget(self, store: str, scope: str, ids: Sequence[str] | None = None) -> None:
        """A write of the scope finished (or failed part-way): drop its count and the rows of ``ids`` (all rows: ``None``)."""
        with self._lock:
            self._drop((store, scope), ids)

    def reset(self, store: str) -> None:
        """Drop everything kept of a store (another process may have written it)."""
        with self._lock:
            for key in {k for k in (*self._generations, *self._counts, *self._row_ids) if k[0] == store}:
                self._drop(key)

    def _drop(self, key: _Key, ids: Sequence[str] | None = None) -> None:
        self._counts.pop(key, None)
        kept = self._row_ids.get(key, set())
        for note_id in list(kept) if ids is None else ids:
            if note_id in kept:
                kept.discard(note_id)
                self._rows.pop((key[0], key[1], note_id), None)
        self._generations[key] = self._generations.get(key, 0) + 1


KEPT = ScopeCache()
"""The process-wide cache."""
