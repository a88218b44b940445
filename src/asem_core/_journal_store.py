"""The journaled write path of the store, and its history and operation-log reads (a part of :class:`ChromaStore`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ._errors import StoreError, StoreUnavailableError
from ._journal import DUMMY, Batch, Row, chunks, version_from_document
from ._types import Scope, Version

__all__ = ["JournaledWrites", "chroma_error"]

_DUMMY = DUMMY
_CHUNK = 4_000_000
"""Characters per journal row (a large batch is recorded in several rows of one upsert)."""


def chroma_error(exc: Exception, what: str) -> StoreError:
    """A Chroma failure as a :class:`StoreError` (:class:`StoreUnavailableError` when the server is gone)."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if any(s in lowered for s in ("connect", "refused", "timed out", "timeout", "unreachable", "name or service")):
        return StoreUnavailableError(f"Chroma server unavailable while trying to {what}: {text}")
    return StoreError(f"Chroma failed to {what}: {text}")


class JournaledWrites:
    """Writes through the journal, history and log reads (a mixin of :class:`~asem_core._store.ChromaStore`)."""

    _history: Any
    _oplog: Any
    _journal: Any

    def _collection(self, scope: Scope, kind: str, create: bool = True) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ journaled writes
    def commit(self, batch: Batch, record: str | None = None) -> None:
        """Write a batch whole: record it in the journal, write its rows, drop the record.

        A process killed after the record was written leaves it for :meth:`recover`; a write
        that fails with an error leaves it too (the next open completes the batch), unless the
        caller undoes the batch and calls :meth:`forget`.

        Args:
            batch: The rows.
            record: The journal record's id (default: a new one).
        """
        if not batch:
            return
        record = record or uuid.uuid4().hex
        parts = chunks(batch.to_json(), _CHUNK)
        try:
            self._journal.upsert(
                ids=[f"{record}:{i}" for i in range(len(parts))],
                embeddings=[_DUMMY] * len(parts),
                documents=parts,
                metadatas=[{"record": record, "part": i, "parts": len(parts), "at": time.time(), "scope": batch.scope.key} for i in range(len(parts))],
            )
        except Exception as exc:
            raise chroma_error(exc, f"record a batch of writes in scope {batch.scope}") from exc
        self.write_rows(batch)
        self.forget(record)

    def forget(self, record: str) -> None:
        """Drop a journal record (its batch is written, or was undone)."""
        try:
            self._journal.delete(where={"record": record})
        except Exception as exc:
            raise chroma_error(exc, "clear the journal") from exc

    def write_rows(self, batch: Batch) -> None:
        """Write a batch's rows in the order history -> notes -> intent vectors -> utilities -> log."""
        scope = batch.scope
        try:
            if batch.history:
                self._history.upsert(
                    ids=[r.id for r in batch.history],
                    embeddings=[_DUMMY] * len(batch.history),
                    documents=[r.document for r in batch.history],
                    metadatas=[r.metadata for r in batch.history],
                )
            full = [r for r in batch.notes if r.embedding is not None]
            partial = [r for r in batch.notes if r.embedding is None]
            if full:
                self._collection(scope, "n").upsert(
                    ids=[r.id for r in full],
                    embeddings=[r.embedding.tolist() for r in full if r.embedding is not None],
                    documents=[r.document or "" for r in full],
                    metadatas=[r.metadata for r in full],
                )
            if batch.intents:
                self._collection(scope, "i").upsert(ids=list(batch.intents), embeddings=[v.tolist() for v in batch.intents.values()])
            if partial:  # metadata merged into stored rows; ids no longer stored are skipped by Chroma
                self._collection(scope, "n").update(ids=[r.id for r in partial], metadatas=[r.metadata for r in partial])
            if batch.log:
                self._oplog.upsert(
                    ids=[r.id for r in batch.log],
                    embeddings=[_DUMMY] * len(batch.log),
                    documents=[r.document for r in batch.log],
                    metadatas=[r.metadata for r in batch.log],
                )
        except Exception as exc:
            raise chroma_error(exc, f"write {len(batch.notes)} note row(s) in scope {scope}") from exc

    def pending(self, min_age: float = 0.0) -> list[tuple[str, Batch | None]]:
        """Journal records older than ``min_age`` seconds, oldest first: (record id, batch or None when incomplete)."""
        try:
            got = self._journal.get(include=["documents", "metadatas"])
        except Exception as exc:
            raise chroma_error(exc, "read the journal") from exc
        records: dict[str, dict[int, str]] = {}
        info: dict[str, tuple[float, int]] = {}
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
            records.setdefault(str(meta["record"]), {})[int(meta["part"])] = doc
            info[str(meta["record"])] = (float(meta["at"]), int(meta["parts"]))
        out: list[tuple[str, Batch | None]] = []
        now = time.time()
        for record in sorted(records, key=lambda r: info[r][0]):
            at, n = info[record]
            if now - at < min_age:
                continue
            parts = records[record]
            whole = len(parts) == n
            out.append((record, Batch.from_json("".join(parts[i] for i in range(n))) if whole else None))
        return out

    def recover(self, min_age: float = 0.0) -> int:
        """Complete the batches a killed process left half-written (see :mod:`asem_core._journal`).

        Args:
            min_age: Only records at least this many seconds old (on a shared server, a younger
                record may belong to a writer that is still running).

        Returns:
            The number of batches replayed.
        """
        done = 0
        for record, batch in self.pending(min_age):
            if batch is not None:
                self.write_rows(batch)
                done += 1
            self.forget(record)
        return done

    def delete_rows(self, scope: Scope, note_ids: Sequence[str], history_ids: Sequence[str], log_ids: Sequence[str]) -> None:
        """Remove rows by id (only to roll back an import that failed part-way)."""
        try:
            for kind in ("n", "i"):
                col = self._collection(scope, kind, create=False)
                if col is not None and note_ids:
                    col.delete(ids=list(note_ids))
            if history_ids:
                self._history.delete(ids=list(history_ids))
            if log_ids:
                self._oplog.delete(ids=list(log_ids))
        except Exception as exc:
            raise chroma_error(exc, f"roll back writes in scope {scope}") from exc

    # ------------------------------------------------------------------ history and log
    def versions(self, scope: Scope, note_id: str) -> list[Version]:
        """Every stored version of a note of ``scope``, oldest first."""
        try:
            got = self._history.get(where={"$and": [{"note_id": note_id}, {"scope": scope.key}]}, include=["documents"])
        except Exception as exc:
            raise chroma_error(exc, "read history") from exc
        by_version: dict[int, Version] = {}
        for row_id, doc in zip(got["ids"], got["documents"] or []):
            version = version_from_document(doc)
            if version.note.version not in by_version or ":" in row_id:  # a scoped row wins over a row of schema 1.0
                by_version[version.note.version] = version
        return [by_version[v] for v in sorted(by_version)]

    def history_rows(self, note_ids: Sequence[str]) -> list[Row]:
        """History rows of these note ids in any scope (their ``scope`` metadata says whose)."""
        if not note_ids:
            return []
        try:
            got = self._history.get(where={"note_id": {"$in": list(note_ids)}}, include=["documents", "metadatas"])
        except Exception as exc:
            raise chroma_error(exc, "read history") from exc
        return [Row(i, d, m) for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])]

    def log_owners(self, ids: Sequence[str]) -> dict[str, str]:
        """Stored operation-log row ids among ``ids`` -> the key of the scope each belongs to."""
        if not ids:
            return {}
        try:
            got = self._oplog.get(ids=list(ids), include=["metadatas"])
        except Exception as exc:
            raise chroma_error(exc, "read the operation log") from exc
        return {i: str(m.get("scope")) for i, m in zip(got["ids"], got["metadatas"] or [])}

    def ops(self, scope: Scope, limit: int | None = None) -> list[dict[str, Any]]:
        """The logged operations of a scope, oldest first."""
        try:
            got = self._oplog.get(where={"scope": scope.key}, include=["documents"])
        except Exception as exc:
            raise chroma_error(exc, "read the operation log") from exc
        rows = [{**json.loads(d), "id": i} for i, d in zip(got["ids"], got["documents"] or [])]
        rows.sort(key=lambda r: r["seq"])
        return rows[-limit:] if limit else rows
