"""``ASEM``: the memory object users hold — ingest, search, feedback, history, export."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._config import ASEMConfig
from ._embedder import Embedder, resolve_embedder
from ._enrich import HeuristicEnricher, joint_text, lexical_text
from ._errors import ConfigError, DataFormatError, InvalidInputError, NoteNotFoundError
from ._manager import Decision, Fact, MemoryManager, Neighbour, resolve_manager
from ._retrieval import ScopeState, two_phase_search
from ._store import ChromaStore
from ._text import normalize_timestamp, now_iso, validate_text
from ._types import Hit, Link, Note, Operation, OpType, Scope, Version

__all__ = ["ASEM", "default_home"]


_QUERY_CACHE = 1024
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def default_home() -> Path:
    """``$ASEM_HOME`` or ``~/.asem``."""
    return Path(os.environ.get("ASEM_HOME", "~/.asem")).expanduser()


@dataclass
class _Item:
    text: str
    timestamp: str
    metadata: dict[str, Any]
    speaker: str | None
    source_id: str | None


def _speaker_of(note: Note) -> str | None:
    speaker = note.metadata.get("speaker")
    return str(speaker) if speaker is not None else None


def _check_metadata(metadata: object, where: str) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        msg = f"{where}: metadata must be a dict, got {type(metadata).__name__}"
        raise InvalidInputError(msg)
    try:
        json.dumps(dict(metadata))
    except (TypeError, ValueError) as exc:
        msg = f"{where}: metadata must be JSON-serialisable ({exc})"
        raise InvalidInputError(msg) from exc
    if "source_id" in metadata and not isinstance(metadata["source_id"], (str, int)):
        msg = f"{where}: metadata['source_id'] must be a string or int"
        raise InvalidInputError(msg)
    return dict(metadata)


def _message_parts(message: Any, where: str) -> tuple[str, str]:
    """(role, content) of a dict message or a LangChain-style message object."""
    if isinstance(message, Mapping):
        role, content = message.get("role") or message.get("speaker") or message.get("type"), message.get("content", message.get("text"))
    else:
        role, content = getattr(message, "type", None), getattr(message, "content", None)
        name = getattr(message, "name", None)
        role = name or role
    if not isinstance(content, str):
        msg = f"{where}: a message needs string content (a dict with 'content' or an object with .content)"
        raise InvalidInputError(msg)
    return str(role or "user"), content


class ASEM:
    """Agentic self-evolving memory over a Chroma store.

    Args:
        path: Folder of a persistent local store (default ``$ASEM_HOME`` or ``~/.asem``).
        url: URL of a Chroma server (``chroma run``) instead of a local folder.
        embedder: Model name or path, an :class:`Embedder`, or a LangChain/LlamaIndex embedding.
        manager: ``"heuristic"`` (default) or a :class:`MemoryManager`.
        namespace: Keeps several independent memories in one folder or on one server.
        config: An :class:`ASEMConfig`; keyword overrides below are applied on top.
        **overrides: Any :class:`ASEMConfig` field, e.g. ``lam=0.3``.

    Raises:
        ConfigError: Bad options.
        StoreError: The store cannot be opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        url: str | None = None,
        *,
        embedder: Embedder | str | Any | None = None,
        manager: MemoryManager | str | None = None,
        config: ASEMConfig | None = None,
        namespace: str | None = None,
        _ephemeral: bool = False,
        **overrides: Any,
    ) -> None:
        if path is not None and url is not None:
            msg = "give either path= (a local store) or url= (a Chroma server), not both"
            raise ConfigError(msg)
        if namespace is not None and not _NAMESPACE.fullmatch(namespace):
            msg = f"namespace must be 1-40 letters, digits, '_' or '-', got {namespace!r}"
            raise ConfigError(msg)
        self.config = (config or ASEMConfig()).replace(**overrides) if overrides else (config or ASEMConfig())
        self.embedder = resolve_embedder(embedder)
        self.manager = resolve_manager(manager, self.config)
        self.enricher = HeuristicEnricher(self.embedder, keywords=self.config.keywords_per_note)
        if _ephemeral:
            self.store = ChromaStore.open(ephemeral=True, embedder_name=self.embedder.name)
        elif url is not None:
            self.store = ChromaStore.open(url=url, embedder_name=self.embedder.name, namespace=namespace)
        else:
            self.store = ChromaStore.open(
                path=Path(path) if path is not None else default_home(),
                embedder_name=self.embedder.name,
                lock_timeout=self.config.lock_timeout,
                namespace=namespace,
            )
        self._finalizer = weakref.finalize(self, self.store.close)
        self._lock = threading.RLock()
        self._states: dict[str, ScopeState] = {}
        self._counters: dict[str, int] = {"searches": 0, "feedbacks": 0, "embedded_texts": 0}
        self._query_cache: dict[str, np.ndarray] = {}

    def close(self) -> None:
        """Release the store (and the lock on a local folder). Also done when the object is collected."""
        self._finalizer()

    def __enter__(self) -> ASEM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def ephemeral(cls, **kwargs: Any) -> ASEM:
        """An in-process store with nothing on disk; takes the same options as :class:`ASEM`."""
        return cls(_ephemeral=True, **kwargs)

    # ------------------------------------------------------------------ helpers
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self._counters["embedded_texts"] += len(texts)
        return self.embedder.embed(texts)

    def _embed_query(self, query: str) -> np.ndarray:
        """Query vector, from a small LRU cache (agents and benchmarks repeat queries)."""
        with self._lock:
            cached = self._query_cache.pop(query, None)
            if cached is not None:
                self._query_cache[query] = cached
                return cached
        vector: np.ndarray = self._embed([query])[0]
        with self._lock:
            self._query_cache[query] = vector
            while len(self._query_cache) > _QUERY_CACHE:
                self._query_cache.pop(next(iter(self._query_cache)))
        return vector

    def _state(self, scope: Scope) -> ScopeState:
        """The scope's in-memory index, (re)loaded when the store holds notes it has not seen."""
        state = self._states.get(scope.key)
        count = self.store.count(scope)
        if state is not None and state.count == count:
            return state
        state = ScopeState()
        for note in self.store.iter_notes(scope):
            self._index(state, note)
        state.count = count
        self._states[scope.key] = state
        return state

    def _index(self, state: ScopeState, note: Note) -> None:
        """Bring the scope's in-memory index up to date with one (new or changed) note.

        The lexical document of a note is its own text plus, with ``lexical_window``, the text of
        the notes it is linked to by "follows" (the turns around it), so a reply is found by the
        words of the question it answers.
        """
        state.links[note.id] = [link.target for link in note.links]
        state.follows[note.id] = [link.target for link in note.links if link.relation == "follows"]
        for sid in note.source_ids:
            state.sources[sid] = note.id
        if note.valid:
            state.valid.add(note.id)
            state.texts[note.id] = lexical_text(note.content, note.keywords, note.context)
        else:
            state.valid.discard(note.id)
            state.texts.pop(note.id, None)
            state.bm25.remove(note.id)
        for nid in [note.id, *state.follows[note.id]]:
            if nid in state.valid and nid in state.texts:
                window = (
                    [state.texts[o] for o in state.follows.get(nid, ())[: 2 * self.config.lexical_window] if o in state.texts]
                    if self.config.lexical_window
                    else []
                )
                state.bm25.add(nid, " ".join([state.texts[nid], *window]))

    def _embeddings_for(self, notes: Sequence[Note], known: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(joint, intent) embeddings of notes; intents already in ``known`` are not recomputed."""
        known = known or {}
        missing = [n for n in notes if n.id not in known]
        fresh = dict(zip((n.id for n in missing), self._embed([n.content for n in missing]))) if missing else {}
        intents = np.stack([known[n.id] if n.id in known else fresh[n.id] for n in notes]).astype(np.float32)
        if self.config.embed_mode == "mean":
            metas = self._embed([joint_text("", n.keywords, n.tags, n.context, _speaker_of(n)) for n in notes])
            joint = intents + metas
            joint /= np.linalg.norm(joint, axis=1, keepdims=True)
        else:
            joint = self._embed([joint_text(n.content, n.keywords, n.tags, n.context, _speaker_of(n)) for n in notes])
        return joint, intents

    def _get_in_scope(self, note_id: str, scope: Scope) -> Note:
        if not isinstance(note_id, str) or not note_id:
            msg = f"note id must be a non-empty string, got {note_id!r}"
            raise InvalidInputError(msg)
        notes, _ = self.store.get_notes(scope, [note_id])
        if not notes:
            msg = f"no note {note_id!r} in scope {scope}"
            raise NoteNotFoundError(msg)
        return notes[0]

    # ------------------------------------------------------------------ ingest
    def add(
        self,
        text: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        timestamp: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Operation]:
        """Add one fact through the memory manager.

        Args:
            text: The fact.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            timestamp: When the event happened (ISO, free-form date, datetime, epoch; default now).
            metadata: Kept unchanged on the note; ``speaker`` and ``source_id`` are understood.

        Returns:
            The operations performed (one per fact).
        """
        item = {"text": text, "timestamp": timestamp, "metadata": metadata}
        return self.add_many([item], user_id=user_id, agent_id=agent_id, session_id=session_id)

    def add_messages(
        self,
        messages: Sequence[Any],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        timestamp: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Operation]:
        """Add a chat turn list: dicts with ``role``/``content`` or LangChain-style messages.

        Each message becomes a fact whose ``speaker`` is its role (or name); consecutive
        messages are linked ("follows").
        """
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
            msg = "messages must be a list of messages"
            raise InvalidInputError(msg)
        items = []
        for i, message in enumerate(messages):
            role, content = _message_parts(message, f"messages[{i}]")
            meta = {"speaker": role, **_check_metadata(metadata, "add_messages")}
            items.append({"text": content, "timestamp": timestamp, "metadata": meta})
        return self.add_many(items, user_id=user_id, agent_id=agent_id, session_id=session_id)

    def _parse_items(self, items: Iterable[Any]) -> list[_Item]:
        parsed: list[_Item] = []
        for i, raw in enumerate(items):
            where = f"item {i}"
            if isinstance(raw, str):
                raw = {"text": raw}
            if not isinstance(raw, Mapping):
                msg = f"{where}: must be a string or a dict with 'text', got {type(raw).__name__}"
                raise InvalidInputError(msg)
            text = validate_text(raw.get("text"), self.config.max_text_chars, f"{where}: text")
            meta = _check_metadata(raw.get("metadata"), where)
            ts = normalize_timestamp(raw.get("timestamp"))
            speaker = meta.get("speaker")
            sid = meta.get("source_id")
            parsed.append(_Item(text, ts, meta, str(speaker) if speaker is not None else None, str(sid) if sid is not None else None))
        return parsed

    def add_many(
        self,
        items: Iterable[Mapping[str, Any] | str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        link_adjacent: bool | None = None,
    ) -> list[Operation]:
        """Add many facts in one batch (embedding, neighbour search and writes are batched).

        Args:
            items: Strings or dicts ``{"text", "timestamp", "metadata"}``.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            link_adjacent: Link consecutive items ("follows"); default from the config.

        Returns:
            One operation per item, in order. Items whose ``metadata["source_id"]`` is already
            in the scope give a NOOP (re-running an ingest is idempotent).

        Raises:
            InvalidInputError: Any item is invalid; then nothing is written.
        """
        scope = Scope(user_id, agent_id, session_id)
        parsed = self._parse_items(items)
        if not parsed:
            return []
        adjacent = self.config.link_adjacent if link_adjacent is None else link_adjacent
        with self._lock:
            return self._ingest(scope, parsed, adjacent)

    def _ingest(self, scope: Scope, items: list[_Item], adjacent: bool) -> list[Operation]:
        cfg = self.config
        state = self._state(scope)
        now = now_iso()
        intents = self._embed([it.text for it in items])
        enrich = self.enricher.enrich([it.text for it in items], [it.timestamp for it in items], [it.speaker for it in items], intents)
        n_near = max(cfg.link_k, 5)
        store_near = self.store.query_many(scope, intents, n_near + 8, kind="i", total=state.count) if state.valid else [[] for _ in items]
        wanted = {i for near in store_near for i, _ in near if i in state.valid}
        known: dict[str, Note] = {n.id: n for n in self.store.get_notes(scope, sorted(wanted))[0]}

        changed: dict[str, Note] = {}  # notes to write, new or modified
        versions: dict[str, tuple[OpType, str]] = {}  # note id -> (op, reason) of its new version
        reembed: set[str] = set()
        new_intent: dict[str, np.ndarray] = {}
        ops: list[Operation] = []
        batch_ids: list[str | None] = []  # note holding each item (for in-batch neighbours/links)
        seen_sources: dict[str, str] = {}
        prev_id: str | None = None

        def current(note_id: str) -> Note:
            return changed.get(note_id) or known[note_id]

        def link(a: str, b: str, relation: str) -> None:
            for src, dst in ((a, b), (b, a)):
                note = current(src)
                if any(lk.target == dst for lk in note.links):
                    continue
                if src not in changed:
                    note = Note.from_dict(note.to_dict())
                    changed[src] = note
                note.links.append(Link(dst, relation))

        for i, (item, enr) in enumerate(zip(items, enrich)):
            sid = item.source_id
            if sid is not None and (sid in state.sources or sid in seen_sources):
                target = state.sources.get(sid) or seen_sources[sid]
                ops.append(Operation(OpType.NOOP, target, f"source_id {sid!r} already in memory (idempotent re-ingest)", item.text, target))
                batch_ids.append(None)
                continue
            # neighbours: stored notes (by intent) and notes made earlier in this batch
            cands: dict[str, float] = {}
            for nid, sim in store_near[i]:
                if nid in known and (current(nid).valid):
                    cands[nid] = sim
            for j in range(i):
                holder = batch_ids[j]
                if holder is not None and holder in changed and changed[holder].valid:
                    vec = new_intent.get(holder)
                    if vec is not None:
                        cands[holder] = max(cands.get(holder, -1.0), float(vec @ intents[i]))
            near = sorted(cands.items(), key=lambda kv: -kv[1])[:n_near]
            neighbours = [Neighbour(current(nid), sim) for nid, sim in near]
            fact = Fact(item.text, item.timestamp, item.speaker, item.metadata)
            decision = self.manager.decide(fact, neighbours)
            decision = self._check_decision(decision, {n.note.id for n in neighbours})
            note_id: str | None = None
            if decision.op in (OpType.ADD, OpType.DELETE):
                if decision.op is OpType.DELETE:
                    assert decision.target_id is not None
                    old = Note.from_dict(current(decision.target_id).to_dict())
                    old.valid, old.version, old.updated_at = False, old.version + 1, now
                    changed[old.id] = old
                    versions[old.id] = (OpType.DELETE, decision.reason)
                note_id = uuid.uuid4().hex
                note = Note(
                    id=note_id,
                    content=item.text,
                    timestamp=item.timestamp,
                    keywords=enr.keywords,
                    tags=enr.tags,
                    context=enr.context,
                    q=cfg.q0,
                    scope=scope,
                    created_at=now,
                    updated_at=now,
                    metadata=item.metadata,
                    source_ids=[sid] if sid is not None else [],
                )
                changed[note_id] = note
                known[note_id] = note
                new_intent[note_id] = intents[i]
                versions[note_id] = (OpType.ADD, decision.reason if decision.op is OpType.ADD else f"fact kept after DELETE: {decision.reason}")
                for nid, sim in near[: cfg.link_k]:
                    if sim >= cfg.link_threshold and nid != note_id:
                        link(note_id, nid, "similar")
                if adjacent and prev_id is not None and prev_id != note_id:
                    link(note_id, prev_id, "follows")
                ops.append(Operation(decision.op, note_id, decision.reason, item.text, decision.target_id, note_id if decision.op is OpType.DELETE else None))
            elif decision.op is OpType.UPDATE:
                assert decision.target_id is not None
                note = Note.from_dict(current(decision.target_id).to_dict())
                note.content = decision.content or f"{note.content} {item.text}"
                note.version, note.updated_at, note.timestamp = note.version + 1, now, max(note.timestamp, item.timestamp)
                note.keywords = list(dict.fromkeys(note.keywords + enr.keywords))[: 2 * cfg.keywords_per_note]
                if sid is not None and sid not in note.source_ids:
                    note.source_ids.append(sid)
                changed[note.id] = note
                versions[note.id] = (OpType.UPDATE, decision.reason)
                reembed.add(note.id)
                note_id = note.id
                ops.append(Operation(OpType.UPDATE, note_id, decision.reason, item.text, note_id))
            else:  # NOOP
                note_id = decision.target_id
                if note_id is not None and sid is not None:
                    note = Note.from_dict(current(note_id).to_dict())
                    note.source_ids.append(sid)
                    note.version, note.updated_at = note.version + 1, now
                    changed[note_id] = note
                    versions[note_id] = (OpType.NOOP, f"provenance {sid!r} merged: {decision.reason}")
                ops.append(Operation(OpType.NOOP, note_id, decision.reason, item.text, decision.target_id))
            if sid is not None and note_id is not None:
                seen_sources[sid] = note_id
            batch_ids.append(note_id)
            if note_id is not None:
                prev_id = note_id

        self._flush(scope, state, changed, versions, reembed, new_intent, ops, now)
        return ops

    @staticmethod
    def _check_decision(decision: Decision, allowed: set[str]) -> Decision:
        """A decision whose target is unknown (or missing) falls back to ADD: the fact is never lost."""
        if decision.op is OpType.ADD:
            return decision
        if decision.target_id is None and decision.op is OpType.NOOP:
            return decision
        if decision.target_id not in allowed:
            return Decision(OpType.ADD, f"manager chose {decision.op.value} on unknown target {decision.target_id!r}; added instead")
        return decision

    def _flush(
        self,
        scope: Scope,
        state: ScopeState,
        changed: dict[str, Note],
        versions: dict[str, tuple[OpType, str]],
        reembed: set[str],
        new_intent: dict[str, np.ndarray],
        ops: Sequence[Operation],
        now: str,
    ) -> None:
        """Write a batch: history first (every note has its history), then notes, then the log.

        Existing notes are re-read just before the write and this batch's changes are merged into
        the fresh copies (links and sources united, utility kept), so a writer in another process
        (through a Chroma server) loses no link, source or utility update made in the meantime.
        """
        if changed:
            self._merge_fresh(scope, changed, new_intent, versions)
            to_embed = [n for nid, n in changed.items() if nid in new_intent or nid in reembed]
            plain = [n for nid, n in changed.items() if nid not in new_intent and nid not in reembed]
            self.store.put_versions([Version(changed[nid], op, reason, now) for nid, (op, reason) in versions.items()])
            if to_embed:
                joint, intents = self._embeddings_for(to_embed, {k: v for k, v in new_intent.items() if k not in reembed})
                self.store.put_notes(to_embed, joint, intents)
            if plain:
                self.store.put_notes(plain, None, None)
        self.store.log(
            scope, [{"op": o.op.value, "note_id": o.note_id, "target_id": o.target_id, "reason": o.reason, "text": o.text[:2000], "at": now} for o in ops]
        )
        for note in changed.values():
            self._index(state, note)
        state.count = self.store.count(scope)

    def _merge_fresh(self, scope: Scope, changed: dict[str, Note], new_intent: Mapping[str, np.ndarray], versions: Mapping[str, tuple[OpType, str]]) -> None:
        existing = [nid for nid in changed if nid not in new_intent]
        if not existing:
            return
        fresh, _ = self.store.get_notes(scope, existing)
        for current in fresh:
            mine = changed[current.id]
            targets = {lk.target for lk in current.links}
            current.links += [lk for lk in mine.links if lk.target not in targets]
            current.source_ids += [sid for sid in mine.source_ids if sid not in current.source_ids]
            if current.id in versions:
                current.content, current.valid, current.timestamp = mine.content, mine.valid, mine.timestamp
                current.keywords, current.updated_at = mine.keywords, mine.updated_at
                current.version = max(current.version + 1, mine.version)
            changed[current.id] = current

    # ------------------------------------------------------------------ search and feedback
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        k: int | None = None,
    ) -> list[Hit]:
        """Two-phase, value-aware search in one scope.

        Args:
            query: What to look for.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            k: Hits to return (default ``config.k2``).
        """
        query = validate_text(query, self.config.max_text_chars, "query")
        k = self.config.k2 if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            msg = f"k must be a positive integer, got {k!r}"
            raise InvalidInputError(msg)
        scope = Scope(user_id, agent_id, session_id)
        query_emb = self._embed_query(query)
        with self._lock:
            state = self._state(scope)
            self._counters["searches"] += 1
            cfg = self.config if k <= self.config.k1 else self.config.replace(k1=k)
            return two_phase_search(self.store, state, scope, query, query_emb, cfg, k)

    def feedback(
        self,
        reward: float,
        note_ids: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> list[Note]:
        """Update utilities with q ← q + α(r − q) for the notes used in an answer.

        Args:
            reward: r in [-1, 1].
            note_ids: Notes used; default: the hits of the last search in this scope.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.

        Returns:
            The updated notes.

        Raises:
            InvalidInputError: Reward not a finite number in [-1, 1], or no notes to update.
            NoteNotFoundError: An id is not in this scope (nothing is changed).
        """
        if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward) or not -1.0 <= reward <= 1.0:
            msg = f"reward must be a finite number in [-1, 1], got {reward!r}"
            raise InvalidInputError(msg)
        if isinstance(note_ids, str):
            msg = "note_ids must be a list of ids, not a string"
            raise InvalidInputError(msg)
        scope = Scope(user_id, agent_id, session_id)
        cfg = self.config
        with self._lock:
            state = self._state(scope)
            ids = list(dict.fromkeys(note_ids if note_ids is not None else state.last_hits))
            if not ids:
                msg = "feedback needs note_ids, or a search in this scope first"
                raise InvalidInputError(msg)
            notes, _ = self.store.get_notes(scope, ids)
            missing = set(ids) - {n.id for n in notes}
            if missing:
                msg = f"no note(s) {sorted(missing)} in scope {scope}; no utility was changed"
                raise NoteNotFoundError(msg)
            for note in notes:
                note.q = note.q + cfg.alpha * (float(reward) - note.q)
                note.uses += 1
            others: list[Note] = []
            if cfg.shrink > 0 and note_ids is None:
                rest = [i for i in state.last_pool if i not in set(ids)]
                others, _ = self.store.get_notes(scope, rest)
                for note in others:
                    note.q = note.q + cfg.shrink * (cfg.q0 - note.q)
            self.store.put_notes(notes + others, None, None)
            self.store.log(
                scope, [{"op": "FEEDBACK", "note_id": n.id, "reward": float(reward), "q": n.q, "reason": "utility update", "at": now_iso()} for n in notes]
            )
            self._counters["feedbacks"] += 1
            return notes

    # ------------------------------------------------------------------ explicit edits and reads
    def get(self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> Note:
        """One note of a scope (valid or not). Raises :class:`NoteNotFoundError` if absent."""
        return self._get_in_scope(note_id, Scope(user_id, agent_id, session_id))

    def all(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, include_invalid: bool = False) -> list[Note]:
        """Every note of a scope, oldest first (deleted ones only with ``include_invalid``)."""
        notes = [n for n in self.store.iter_notes(Scope(user_id, agent_id, session_id)) if include_invalid or n.valid]
        notes.sort(key=lambda n: (n.created_at, n.timestamp))
        return notes

    def update(
        self,
        note_id: str,
        text: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        reason: str = "explicit update",
    ) -> Operation:
        """Replace a note's content with a new version; the old one stays in :meth:`history`."""
        text = validate_text(text, self.config.max_text_chars)
        scope = Scope(user_id, agent_id, session_id)
        with self._lock:
            note = self._get_in_scope(note_id, scope)
            if not note.valid:
                msg = f"note {note_id!r} was deleted; add the fact again instead of updating it"
                raise InvalidInputError(msg)
            now = now_iso()
            note.content, note.version, note.updated_at = text, note.version + 1, now
            op = Operation(OpType.UPDATE, note.id, reason, text, note.id)
            self._flush(scope, self._state(scope), {note.id: note}, {note.id: (OpType.UPDATE, reason)}, {note.id}, {}, [op], now)
            return op

    def delete(
        self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, reason: str = "explicit delete"
    ) -> Operation:
        """Mark a note invalid: it leaves search results but stays readable in :meth:`history`."""
        scope = Scope(user_id, agent_id, session_id)
        with self._lock:
            note = self._get_in_scope(note_id, scope)
            now = now_iso()
            if not note.valid:
                return Operation(OpType.NOOP, note.id, "already deleted", "", note.id)
            note.valid, note.version, note.updated_at = False, note.version + 1, now
            op = Operation(OpType.DELETE, note.id, reason, "", note.id)
            self._flush(scope, self._state(scope), {note.id: note}, {note.id: (OpType.DELETE, reason)}, set(), {}, [op], now)
            return op

    def history(self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> list[Version]:
        """Every version of a note, oldest first."""
        self._get_in_scope(note_id, Scope(user_id, agent_id, session_id))
        return self.store.versions(note_id)

    def operations(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The operation log of a scope (every write with its reason), oldest first."""
        return self.store.ops(Scope(user_id, agent_id, session_id), limit)

    def stats(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Counts for one scope, or for the whole store when no scope id is given."""
        scopes = [Scope(user_id, agent_id, session_id)] if (user_id or agent_id or session_id) else self.store.scopes()
        notes = valid = links = 0
        for scope in scopes:
            for note in self.store.iter_notes(scope):
                notes += 1
                valid += int(note.valid)
                links += len(note.links)
        return {
            "notes": notes,
            "valid_notes": valid,
            "deleted_notes": notes - valid,
            "links": links,
            "scopes": len(scopes),
            "manager": self.manager.name,
            "embedder": self.embedder.name,
            "llm_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "llm_stages": {},
            **self._counters,
        }

    # ------------------------------------------------------------------ export / import
    def export(self, path: str | os.PathLike[str], *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> int:
        """Write notes with their full history as JSONL (one scope, or all). Returns the note count."""
        scopes = [Scope(user_id, agent_id, session_id)] if (user_id or agent_id or session_id) else self.store.scopes()
        count = 0
        with open(path, "w", encoding="utf-8") as fh:
            for scope in scopes:
                for note in self.store.iter_notes(scope):
                    history = [{"note": v.note.to_dict(), "op": v.op.value, "reason": v.reason, "at": v.at} for v in self.store.versions(note.id)]
                    fh.write(json.dumps({"note": note.to_dict(), "history": history}, ensure_ascii=False) + "\n")
                    count += 1
        return count

    def import_(self, path: str | os.PathLike[str]) -> int:
        """Load a JSONL dump written by :meth:`export` (ids, utilities and history kept). Returns the note count.

        Raises:
            DataFormatError: The file is not an ASEM export; nothing is written.
        """
        rows: list[tuple[Note, list[Version]]] = []
        try:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    data = json.loads(line)
                    note = Note.from_dict(data["note"])
                    hist = [Version(Note.from_dict(v["note"]), OpType(v["op"]), str(v["reason"]), str(v["at"])) for v in data.get("history", [])]
                    rows.append((note, hist))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            msg = f"{path}: not an ASEM export ({type(exc).__name__}: {exc})"
            raise DataFormatError(msg) from exc
        with self._lock:
            by_scope: dict[str, list[tuple[Note, list[Version]]]] = {}
            for row in rows:
                by_scope.setdefault(row[0].scope.key, []).append(row)
            for group in by_scope.values():
                notes = [r[0] for r in group]
                self.store.put_versions([v for r in group for v in r[1]])
                joint, intents = self._embeddings_for(notes)
                self.store.put_notes(notes, joint, intents)
                self._states.pop(notes[0].scope.key, None)
        return len(rows)

    # ------------------------------------------------------------------ async twins
    async def aadd(self, text: str, **kwargs: Any) -> list[Operation]:
        """Async :meth:`add` (runs in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.add, text, **kwargs)

    async def aadd_messages(self, messages: Sequence[Any], **kwargs: Any) -> list[Operation]:
        """Async :meth:`add_messages`."""
        return await asyncio.to_thread(self.add_messages, messages, **kwargs)

    async def aadd_many(self, items: Iterable[Mapping[str, Any] | str], **kwargs: Any) -> list[Operation]:
        """Async :meth:`add_many`."""
        return await asyncio.to_thread(self.add_many, list(items), **kwargs)

    async def asearch(self, query: str, **kwargs: Any) -> list[Hit]:
        """Async :meth:`search`."""
        return await asyncio.to_thread(self.search, query, **kwargs)

    async def afeedback(self, reward: float, note_ids: Sequence[str] | None = None, **kwargs: Any) -> list[Note]:
        """Async :meth:`feedback`."""
        return await asyncio.to_thread(self.feedback, reward, note_ids, **kwargs)

    async def aget(self, note_id: str, **kwargs: Any) -> Note:
        """Async :meth:`get`."""
        return await asyncio.to_thread(self.get, note_id, **kwargs)

    async def aupdate(self, note_id: str, text: str, **kwargs: Any) -> Operation:
        """Async :meth:`update`."""
        return await asyncio.to_thread(self.update, note_id, text, **kwargs)

    async def adelete(self, note_id: str, **kwargs: Any) -> Operation:
        """Async :meth:`delete`."""
        return await asyncio.to_thread(self.delete, note_id, **kwargs)

    async def ahistory(self, note_id: str, **kwargs: Any) -> list[Version]:
        """Async :meth:`history`."""
        return await asyncio.to_thread(self.history, note_id, **kwargs)

    async def aall(self, **kwargs: Any) -> list[Note]:
        """Async :meth:`all`."""
        return await asyncio.to_thread(self.all, **kwargs)
