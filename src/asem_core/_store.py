"""The Chroma-backed store: one collection pair per scope, plus history, operation log and meta.

Layout (``P`` is the store's collection prefix)::

    P meta          schema version, embedder, registered scopes
    P n_<scopekey>  notes of one scope: joint embedding, content, note fields as metadata
    P i_<scopekey>  intent embedding (raw content) of each note of that scope
    P history       every version of every note (JSON snapshot per version), keyed by scope
    P oplog         every operation with its reason
    P journal       batches being written, through a server (see :mod:`asem_core._journal`);
                    a local folder keeps them as files in ``journal/``, an in-memory store needs none

A collection per scope keeps scoped search as fast as an unfiltered query (filtered queries
are much slower in Chroma 1.5) and makes isolation structural rather than a filter.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ConfigError, InvalidInputError, SchemaVersionError, StoreError, StoreUnavailableError
from ._journal import DUMMY, Batch, record_to_note
from ._journal_store import ChromaJournal, FileJournal, Journal, JournaledWrites, NoJournal, chroma_error
from ._kept import KEPT
from ._lock import acquire_folder_lock, first_hold, release_folder_lock
from ._types import Note, Scope

__all__ = ["SCHEMA_VERSION", "ChromaStore"]

SCHEMA_VERSION = 1
_PAGE = 5000
_REGISTRIES: dict[str, list[Scope]] = {}
"""The scope registry of each store this process is the only writer of (a local folder it holds
locked, or an in-memory store), keyed by folder lock and prefix: every open store of that folder
in this process shares it, so a filtered read of the registry (slow in Chroma) is done once."""
_REGISTRY_LOCK = threading.Lock()


class ChromaStore(JournaledWrites):
    """Low-level persistence over a Chroma client. Thread-safety is the caller's (ASEM holds a lock).

    Args:
        client: A Chroma client (persistent, ephemeral or HTTP).
        prefix: Prefix of every collection name, so several stores can share one client.
        embedder_name: Recorded in the store on creation; the recorded name is readable as ``embedder_name``.
    """

    def __init__(self, client: Any, prefix: str = "asem_", embedder_name: str = "", lock_key: str | None = None, journal: Journal | None = None) -> None:
        self._client = client
        self.lock_key = lock_key
        self.prefix = prefix
        self.journal: Journal = journal if journal is not None else ChromaJournal(client, f"{prefix}journal")
        self._collections: dict[str, Any] = {}
        sole = lock_key is not None or isinstance(self.journal, NoJournal)
        self._registry_key = f"{lock_key}|{prefix}" if sole else None
        try:
            self._meta = client.get_or_create_collection(f"{prefix}meta", embedding_function=None)
            self._history = client.get_or_create_collection(f"{prefix}history", embedding_function=None)
            self._oplog = client.get_or_create_collection(f"{prefix}oplog", embedding_function=None)
        except Exception as exc:
            raise chroma_error(exc, "open the store") from exc
        self._check_schema(embedder_name)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        url: str | None = None,
        ephemeral: bool = False,
        embedder_name: str = "",
        lock_timeout: float = 10.0,
        namespace: str | None = None,
        recover_after: float = 120.0,
    ) -> ChromaStore:
        """Open a persistent folder (locked for this process), a Chroma server URL or a fresh in-memory store.

        Batches a killed process left half-written are completed (:meth:`recover`): in a local
        folder at once, by the first open of this process; through a server, those whose journal
        record is at least ``recover_after`` seconds old.
        """
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        prefix = f"asem_{namespace}_" if namespace else "asem_"
        try:
            if url is not None:
                from urllib.parse import urlparse

                parsed = urlparse(url if "://" in url else f"http://{url}")
                if not parsed.hostname:
                    msg = f"not a Chroma server URL: {url!r}"
                    raise InvalidInputError(msg)
                port = parsed.port or (443 if parsed.scheme == "https" else 8000)
                client = chromadb.HttpClient(host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=settings)
                client.heartbeat()
                store = cls(client, prefix=prefix, embedder_name=embedder_name)
                store.recover(recover_after)
                return store
            if ephemeral:
                client = chromadb.EphemeralClient(settings=settings)
                # Ephemeral clients of one process share their data: a unique prefix isolates this store.
                return cls(client, prefix=f"asem{uuid.uuid4().hex[:12]}_", embedder_name=embedder_name, journal=NoJournal())
            assert path is not None
            folder = Path(path).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            key = acquire_folder_lock(folder, lock_timeout)
            try:
                client = chromadb.PersistentClient(path=str(folder), settings=settings)
                store = cls(client, prefix=prefix, embedder_name=embedder_name, lock_key=key, journal=FileJournal(folder / "journal", prefix))
                if first_hold(key):  # no other open store of this process can be mid-batch
                    with _REGISTRY_LOCK:  # another process may have written since this process last held it
                        _REGISTRIES.pop(f"{key}|{prefix}", None)
                    KEPT.reset(f"{key}|{prefix}")
                    store.recover(0.0)
                return store
            except BaseException:
                release_folder_lock(key)
                raise
        except (InvalidInputError, StoreError):
            raise
        except Exception as exc:
            raise chroma_error(exc, f"open {url or path or 'an in-memory store'}") from exc

    @property
    def client(self) -> Any:
        """The underlying Chroma client."""
        return self._client

    def close(self) -> None:
        """Release the folder lock (if any). The store must not be used afterwards."""
        if self.lock_key is not None:
            release_folder_lock(self.lock_key)
            self.lock_key = None

    def _check_schema(self, embedder_name: str) -> None:
        got = self._meta.get(ids=["schema"], include=["metadatas"])
        self._fresh = not got["ids"]
        if self._fresh:
            self.embedder_name = embedder_name or "unknown"
            self._schema: dict[str, Any] = {"version": SCHEMA_VERSION, "embedder": self.embedder_name}
            self._meta.upsert(ids=["schema"], embeddings=[DUMMY], metadatas=[self._schema])
            return
        meta = self._schema = dict(got["metadatas"][0] or {})
        version = int(meta.get("version", 0))
        if version > SCHEMA_VERSION:
            msg = f"this store has schema version {version}; this ASEM reads up to {SCHEMA_VERSION}: upgrade asem"
            raise SchemaVersionError(msg)
        if version < 1:
            msg = f"this store has an unknown schema version {version!r}; export it with the ASEM that wrote it"
            raise SchemaVersionError(msg)
        self.embedder_name = str(meta.get("embedder", ""))

    def settle_embed_mode(self, requested: str | None, default: str) -> str:
        """The recipe of this store's joint vectors (``ASEMConfig.embed_mode``), recorded in the store.

        A new store records ``requested`` (else ``default``); a store written before the recipe was
        recorded holds ``"joint"`` vectors. One store keeps one recipe, so its vectors compare.

        Raises:
            ConfigError: ``requested`` differs from the recipe the store was written with (the
                store is closed then, its folder lock released).
        """
        recorded = self._schema.get("embed_mode")
        if recorded is None:
            recorded = (requested or default) if self._fresh else "joint"
            self._schema = {**self._schema, "embed_mode": recorded}
            try:
                self._meta.upsert(ids=["schema"], embeddings=[DUMMY], metadatas=[self._schema])
            except Exception as exc:
                raise chroma_error(exc, "record the store's embedding recipe") from exc
        if requested is not None and requested != recorded:
            msg = (
                f"this store's notes were embedded with embed_mode={recorded!r}, not {requested!r}: open it with embed_mode={recorded!r} "
                f"(or leave embed_mode unset), or export it and import the file into a new store made with embed_mode={requested!r}"
            )
            self.close()
            raise ConfigError(msg)
        return str(recorded)

    # ------------------------------------------------------------------ scopes
    def _collection(self, scope: Scope, kind: str, create: bool = True) -> Any:
        name = f"{self.prefix}{kind}_{scope.key}"
        col = self._collections.get(name)
        if col is None:
            try:
                if create:
                    col = self._client.get_or_create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
                    if self._registry_key is None or scope not in self.scopes():  # a scope's second collection: registered already
                        self._meta.upsert(ids=[f"scope:{scope.key}"], embeddings=[DUMMY], metadatas=[{"kind": "scope", **scope.to_dict()}])
                        self._registered(scope)
                else:
                    col = self._client.get_collection(name, embedding_function=None)
            except Exception as exc:
                err = chroma_error(exc, f"open the collection of scope {scope}")
                if not create and not isinstance(err, StoreUnavailableError):
                    return None  # no such collection: nothing was written in this scope
                raise err from exc
            self._collections[name] = col
        return col

    def _read_registry(self, where: dict[str, Any]) -> list[Scope]:
        try:
            got = self._meta.get(where=where, include=["metadatas"])
        except Exception as exc:
            raise chroma_error(exc, "list scopes") from exc
        return [Scope(m.get("user_id"), m.get("agent_id"), m.get("session_id")) for m in got["metadatas"] or []]

    def _registered(self, scope: Scope) -> None:
        if self._registry_key is not None:
            with _REGISTRY_LOCK:
                known = _REGISTRIES.get(self._registry_key)
                if known is not None and scope not in known:
                    known.append(scope)

    def scopes(self) -> list[Scope]:
        """Every scope that has been written to.

        Read from Chroma each time through a server (other clients add scopes); kept in memory
        for a store this process alone writes (a local folder it holds, or an in-memory store).
        """
        if self._registry_key is None:
            return self._read_registry({"kind": "scope"})
        with _REGISTRY_LOCK:
            known = _REGISTRIES.get(self._registry_key)
            if known is None:
                known = _REGISTRIES[self._registry_key] = self._read_registry({"kind": "scope"})
            return list(known)

    def scopes_under(self, scope: Scope) -> list[Scope]:
        """Scopes written to that ``scope`` covers, other than itself (see :meth:`Scope.covers`)."""
        if scope.is_global:
            return []
        if self._registry_key is None:
            found = self._read_registry({"$and": [{"kind": "scope"}, *({k: v} for k, v in scope.to_dict().items())]})
        else:
            found = self.scopes()
        return sorted((s for s in found if s != scope and scope.covers(s)), key=lambda s: s.key)

    def has_scope(self, scope: Scope) -> bool:
        """True when ``scope`` has been written to."""
        try:
            return bool(self._meta.get(ids=[f"scope:{scope.key}"], include=[])["ids"])
        except Exception as exc:
            raise chroma_error(exc, "list scopes") from exc

    def drop_scope(self, scope: Scope) -> None:
        """Remove a scope's collections and registration (only to roll back an import into a new scope)."""
        try:
            names = {c.name for c in self._client.list_collections()}
            for kind in ("n", "i"):
                name = f"{self.prefix}{kind}_{scope.key}"
                self._collections.pop(name, None)
                if name in names:
                    self._client.delete_collection(name)
            self._meta.delete(ids=[f"scope:{scope.key}"])
        except Exception as exc:
            raise chroma_error(exc, f"remove scope {scope}") from exc
        finally:
            if self._registry_key is not None:
                with _REGISTRY_LOCK:
                    _REGISTRIES.pop(self._registry_key, None)
                KEPT.forget(self._registry_key, scope.key)

    def count(self, scope: Scope) -> int:
        """Number of notes (valid or not) in a scope (kept in memory for a store this process alone writes)."""
        sole = self._registry_key
        generation = KEPT.generation(sole, scope.key) if sole is not None else 0
        kept = KEPT.count(sole, scope.key) if sole is not None else None
        if kept is not None:
            return kept
        col = self._collection(scope, "n", create=False)
        try:
            count = int(col.count()) if col is not None else 0
        except Exception as exc:
            raise chroma_error(exc, "count notes") from exc
        if sole is not None:
            KEPT.put_count(sole, scope.key, count, generation)
        return count

    def write_rows(self, batch: Batch) -> None:
        """See :meth:`JournaledWrites.write_rows`; the scope's kept count and the rows written are dropped afterwards."""
        try:
            super().write_rows(batch)
        finally:
            if self._registry_key is not None:  # only the rows this batch wrote changed
                KEPT.forget(self._registry_key, batch.scope.key, [r.id for r in batch.notes])

    def delete_rows(self, scope: Scope, note_ids: Sequence[str], history_ids: Sequence[str], log_ids: Sequence[str]) -> None:
        """See :meth:`JournaledWrites.delete_rows`; the scope's kept count and the rows deleted are dropped afterwards."""
        try:
            super().delete_rows(scope, note_ids, history_ids, log_ids)
        finally:
            if self._registry_key is not None:
                KEPT.forget(self._registry_key, scope.key, note_ids)

    # ------------------------------------------------------------------ notes
    def put_notes(self, notes: Sequence[Note], embeddings: np.ndarray, intents: np.ndarray) -> None:
        """Bulk-load new notes of one scope with no history, log or journal record (benchmark fixtures only)."""
        if notes:
            batch = Batch(notes[0].scope)
            batch.put_notes(notes, embeddings, intents)
            self.write_rows(batch)

    def get_notes(self, scope: Scope, ids: Sequence[str], embeddings: bool = False) -> tuple[list[Note], np.ndarray | None]:
        """Fetch notes of one scope by id, in the order given; unknown ids are skipped.

        With ``embeddings``, a store this process alone writes serves rows it read before (and no
        write of the scope has changed since) from memory.
        """
        sole = self._registry_key if embeddings else None
        generation = KEPT.generation(sole, scope.key) if sole is not None else 0
        rows = KEPT.rows(sole, scope.key, ids) if sole is not None else {}
        missing = [i for i in ids if i not in rows]
        col = self._collection(scope, "n", create=False) if missing else None
        if missing and col is not None:
            include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
            try:
                got = col.get(ids=missing, include=include)
            except Exception as exc:
                raise chroma_error(exc, "read notes") from exc
            raw = got.get("embeddings") if embeddings else None
            empty = np.zeros(0, np.float32)
            read = {
                note_id: (record_to_note(note_id, got["documents"][n], got["metadatas"][n]), np.asarray(raw[n], np.float32) if raw is not None else empty)
                for n, note_id in enumerate(got["ids"])
            }
            if sole is not None:
                KEPT.put_rows(sole, scope.key, read, generation)
            rows.update(read)
        found = [rows[i] for i in ids if i in rows]
        notes = [note for note, _ in found]
        if not embeddings:
            return notes, None
        return notes, (np.stack([vec for _, vec in found]) if found else np.zeros((0, 0), np.float32))

    def iter_notes(self, scope: Scope) -> Iterator[Note]:
        """Every note of a scope (valid or not), page by page."""
        col = self._collection(scope, "n", create=False)
        if col is None:
            return
        offset = 0
        while True:
            try:
                got = col.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            except Exception as exc:
                raise chroma_error(exc, "list notes") from exc
            for note_id, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield record_to_note(note_id, doc, meta)
            if len(got["ids"]) < _PAGE:
                return
            offset += _PAGE

    def query(
        self, scope: Scope, embedding: np.ndarray, n: int, kind: str = "n", total: int | None = None, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest neighbours of a vector in a scope: (id, cosine similarity) pairs.

        ``total`` (the scope's note count, when the caller knows it) saves a round trip; ``ids``
        limits the search to these notes (then ``total`` is their number).
        """
        return self.query_many(scope, embedding[None, :], n, kind, total, ids)[0]

    def query_many(
        self, scope: Scope, embeddings: np.ndarray, n: int, kind: str = "n", total: int | None = None, ids: Sequence[str] | None = None
    ) -> list[list[tuple[str, float]]]:
        """Batched :meth:`query`."""
        if ids is not None:
            total = len(ids)
        col = self._collection(scope, kind, create=False)
        if col is None or len(embeddings) == 0:
            return [[] for _ in range(len(embeddings))]
        try:
            total = col.count() if total is None else total
            if total == 0:
                return [[] for _ in range(len(embeddings))]
            extra: dict[str, Any] = {} if ids is None else {"ids": list(ids)}
            got = col.query(query_embeddings=embeddings.tolist(), n_results=min(n, total), include=["distances"], **extra)
        except Exception as exc:
            raise chroma_error(exc, "query notes") from exc
        return [[(i, 1.0 - float(d)) for i, d in zip(ids, dists)] for ids, dists in zip(got["ids"], got["distances"])]

    def intent_embeddings(self, scope: Scope, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Intent embeddings of some notes."""
        col = self._collection(scope, "i", create=False)
        if col is None or not ids:
            return {}
        try:
            got = col.get(ids=list(ids), include=["embeddings"])
        except Exception as exc:
            raise chroma_error(exc, "read intent embeddings") from exc
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}
