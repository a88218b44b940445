"""The journaled write path of the store, and its history and operation-log reads (a part of :class:`ChromaStore`)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import StoreError, StoreUnavailableError
from ._journal import DUMMY, Batch, Row, chunks, version_from_document
from ._types import Scope, Version

__all__ = ["ChromaJournal", "FileJournal", "Journal", "JournaledWrites", "NoJournal", "chroma_error"]

_CHUNK = 4_000_000
"""Characters per journal row (a large batch is recorded in several rows of one upsert)."""


def chroma_error(exc: Exception, what: str) -> StoreError:
    """A Chroma failure as a :class:`StoreError` (:class:`StoreUnavailableError` when the server is gone)."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if any(s in lowered for s in ("connect", "refused", "timed out", "timeout", "unreachable", "name or service")):
        return StoreUnavailableError(f"Chroma server unavailable while trying to {what}: {text}")
    return StoreError(f"Chroma failed to {what}: {text}")


def _upsert_rows(collection: Any, rows: Sequence[Row]) -> None:
    """Upsert rows looked up by id only (history, log)."""
    if rows:
        collection.upsert(ids=[r.id for r in rows], embeddings=[DUMMY] * len(rows), documents=[r.document for r in rows], metadatas=[r.metadata for r in rows])


class ChromaJournal:
    """Journal records as rows of a Chroma collection (a store shared through a server)."""

    def __init__(self, client: Any, name: str) -> None:
        self._client, self._name = client, name
        self._col: Any = None

    def _collection(self) -> Any:
        if self._col is None:
            self._col = self._client.get_or_create_collection(self._name, embedding_function=None)
        return self._col

    def record(self, record: str, batch: Batch) -> None:
        """Store a batch under ``record`` (one upsert, in pieces of at most 4 M characters)."""
        parts = chunks(batch.to_json(), _CHUNK)
        at = time.time()
        self._collection().upsert(
            ids=[f"{record}:{i}" for i in range(len(parts))],
            embeddings=[DUMMY] * len(parts),
            documents=parts,
            metadatas=[{"record": record, "part": i, "parts": len(parts), "at": at} for i in range(len(parts))],
        )

    def forget(self, record: str) -> None:
        """Drop a record."""
        self._collection().delete(where={"record": record})

    def pending(self, min_age: float) -> list[tuple[str, Batch | None]]:
        """Records at least ``min_age`` seconds old, oldest first (None for an incomplete one)."""
        got = self._collection().get(include=["documents", "metadatas"])
        records: dict[str, dict[int, str]] = {}
        info: dict[str, tuple[float, int]] = {}
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
            records.setdefault(str(meta["record"]), {})[int(meta["part"])] = doc
            info[str(meta["record"])] = (float(meta["at"]), int(meta["parts"]))
        now = time.time()
        out: list[tuple[str, Batch | None]] = []
        for record in sorted(records, key=lambda r: info[r][0]):
            at, n = info[record]
            if now - at >= min_age:
                parts = records[record]
                out.append((record, Batch.from_json("".join(parts[i] for i in range(n))) if len(parts) == n else None))
        return out


class FileJournal:
    """Journal records as files in the store's folder (a local store: one writing process holds the lock).

    A record is written to a temporary name, flushed to disk and renamed, so a record file is
    always whole; a crash while writing it leaves only the temporary file, which is ignored.
    """

    def __init__(self, folder: Path, prefix: str) -> None:
        self._folder, self._prefix = folder, prefix

    def _path(self, record: str) -> Path:
        return self._folder / f"{self._prefix}{record}.json"

    def record(self, record: str, batch: Batch) -> None:
        """Store a batch under ``record``."""
        self._folder.mkdir(parents=True, exist_ok=True)
        tmp = self._folder / f".{self._prefix}{record}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(batch.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path(record))

    def forget(self, record: str) -> None:
        """Drop a record."""
        self._path(record).unlink(missing_ok=True)

    def pending(self, min_age: float) -> list[tuple[str, Batch | None]]:
        """Records at least ``min_age`` seconds old, oldest first."""
        if not self._folder.is_dir():
            return []
        for tmp in self._folder.glob(f".{self._prefix}*.tmp"):  # cut short before its rename: never applied
            tmp.unlink(missing_ok=True)
        now = time.time()
        files = sorted(self._folder.glob(f"{self._prefix}*.json"), key=lambda p: (p.stat().st_mtime, p.name))
        out: list[tuple[str, Batch | None]] = []
        for path in files:
            if now - path.stat().st_mtime < min_age:
                continue
            record = path.name[len(self._prefix) : -len(".json")]
            try:
                out.append((record, Batch.from_json(path.read_text(encoding="utf-8"))))
            except (ValueError, KeyError, TypeError):
                out.append((record, None))
        return out


class NoJournal:
    """No journal: an in-memory store does not outlive its process, so there is nothing to complete."""

    def record(self, record: str, batch: Batch) -> None:
        """Nothing to record."""

    def forget(self, record: str) -> None:
        """Nothing to drop."""

    def pending(self, min_age: float) -> list[tuple[str, Batch | None]]:
        """Never any."""
        return []


Journal = ChromaJournal | FileJournal | NoJournal


class JournaledWrites:
    """Writes through the journal, history and log reads (a mixin of :class:`~asem_core._store.ChromaStore`)."""

    _history: Any
    _oplog: Any
    journal: Journal

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
        try:
            self.journal.record(record, batch)
        except Exception as exc:
            raise chroma_error(exc, f"record a batch of writes in scope {batch.scope}") from exc
        self.write_rows(batch)
        self.forget(record)

    def forget(self, record: str) -> None:
        """Drop a journal record (its batch is written, or was undone)."""
        try:
            self.journal.forget(record)
        except Exception as exc:
            raise chroma_error(exc, "clear the journal") from exc

    def write_rows(self, batch: Batch) -> None:
        """Write a batch's rows in the order history -> notes -> intent vectors -> utilities -> log."""
        scope = batch.scope
        try:
            _upsert_rows(self._history, batch.history)
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
            _upsert_rows(self._oplog, batch.log)
        except Exception as exc:
            raise chroma_error(exc, f"write {len(batch.notes)} note row(s) in scope {scope}") from exc

    def pending(self, min_age: float = 0.0) -> list[tuple[str, Batch | None]]:
        """Journal records older than ``min_age`` seconds, oldest first: (record id, batch or None when incomplete)."""
        try:
            return self.journal.pending(min_age)
        except Exception as exc:
            raise chroma_error(exc, "read the journal") from exc

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
