"""``ASEM``: the memory object users hold — ingest, search, feedback, history, export."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._config import ASEMConfig
from ._embedder import Embedder, resolve_embedder
from ._enrich import HeuristicEnricher
from ._errors import ConfigError, DataFormatError, InvalidInputError, NoteNotFoundError
from ._ingest import IngestPipeline, check_metadata, message_parts
from ._llm import MeteredLLM, resolve_llm
from ._llm_stages import Answer, AnswerAgent, LLMEnricher, LLMLinker, consolidate_prompt, experience_text
from ._manager import MemoryManager, resolve_manager
from ._retrieval import ScopeState, two_phase_search
from ._store import ChromaStore
from ._text import now_iso, validate_text
from ._types import Hit, Note, Operation, OpType, Scope, Version
from ._utility import UtilityTable, check_reward, ema

__all__ = ["ASEM", "default_home", "open_memory"]


_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def default_home() -> Path:
    """``$ASEM_HOME`` or ``~/.asem``."""
    return Path(os.environ.get("ASEM_HOME", "~/.asem")).expanduser()


class ASEM(IngestPipeline):
    """Agentic self-evolving memory over a Chroma store.

    Args:
        path: Folder of a persistent local store (default ``$ASEM_HOME`` or ``~/.asem``).
        url: URL of a Chroma server (``chroma run``) instead of a local folder.
        embedder: Model name or path, an :class:`Embedder`, or a LangChain/LlamaIndex embedding.
        manager: ``"heuristic"``, ``"prompted"``, ``"grpo:PATH"`` or a :class:`MemoryManager`;
            default the prompted LLM when ``llm`` is given, else the heuristic.
        llm: ``"smollm2"`` (offline SmolLM2-135M-Instruct), a hub id or local folder, an
            :class:`~asem_core.LLM`, or a LangChain chat model. Turns on the LLM stages named in
            ``config.llm_stages`` and enables :meth:`answer`. Default: no LLM.
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
        llm: Any = None,
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
        resolved = resolve_llm(llm)
        self.llm: MeteredLLM | None = MeteredLLM(resolved) if resolved is not None else None
        self.manager = resolve_manager(manager, self.config, self.llm)
        self.enricher = HeuristicEnricher(self.embedder, keywords=self.config.keywords_per_note)
        stages = self.config.llm_stages if self.llm is not None else ()
        self.constructor = LLMEnricher(self.llm, self.enricher, self.config) if self.llm is not None and "construct" in stages else None
        self.linker = LLMLinker(self.llm) if self.llm is not None and "link" in stages else None
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
        self._utilities: UtilityTable | None = None

    @property
    def utilities(self) -> UtilityTable:
        """Utilities of items kept outside ASEM (e.g. a LlamaIndex index's node ids), persisted in this store."""
        if self._utilities is None:
            self._utilities = UtilityTable(self.store.client, f"{self.store.prefix}utility", self.config.q0)
        return self._utilities

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
            role, content = message_parts(message, f"messages[{i}]")
            meta = {"speaker": role, **check_metadata(metadata, "add_messages")}
            items.append({"text": content, "timestamp": timestamp, "metadata": meta})
        return self.add_many(items, user_id=user_id, agent_id=agent_id, session_id=session_id)

    def add_many(
        self,
        items: Iterable[Mapping[str, Any] | str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        link_adjacent: bool | None = None,
        manage: bool = True,
    ) -> list[Operation]:
        """Add many facts in one batch (embedding, neighbour search and writes are batched).

        Args:
            items: Strings or dicts ``{"text", "timestamp", "metadata"}``.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            link_adjacent: Link consecutive items ("follows"); default from the config.
            manage: False skips the memory manager: every item becomes a new note (links and
                note construction still apply). Used for keyed stores and experience notes.

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
            return self._ingest(scope, parsed, adjacent, manage)

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
        reward: float | Mapping[str, float],
        note_ids: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> list[Note]:
        """Update utilities with q ← q + α(r − q) for the notes used in an answer.

        Args:
            reward: r in [-1, 1] for every note of ``note_ids``; or a mapping note id -> r, one
                reward per note in one call (e.g. 1 for the notes an answer used, 0 for the
                other hits), in which case ``note_ids`` must be left out.
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
        per_note: dict[str, float] | None = None
        scalar = 0.0
        if isinstance(reward, Mapping):
            if note_ids is not None:
                msg = "feedback takes note_ids or a mapping of note id -> reward, not both"
                raise InvalidInputError(msg)
            if not reward or not all(isinstance(k, str) for k in reward):
                msg = "feedback's reward mapping must be non-empty, keyed by note id strings"
                raise InvalidInputError(msg)
            per_note = {k: check_reward(v) for k, v in reward.items()}
            note_ids = list(per_note)
        else:
            scalar = check_reward(reward)
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
            rewards = per_note if per_note is not None else dict.fromkeys(ids, scalar)
            notes, _ = self.store.get_notes(scope, ids)
            missing = set(ids) - {n.id for n in notes}
            if missing:
                msg = f"no note(s) {sorted(missing)} in scope {scope}; no utility was changed"
                raise NoteNotFoundError(msg)
            for note in notes:
                note.q = ema(note.q, rewards[note.id], cfg.alpha)
                note.uses += 1
            others: list[Note] = []
            if cfg.shrink > 0 and note_ids is None:
                used = set(ids)
                rest = [i for i in state.last_pool if i not in used]
                others, _ = self.store.get_notes(scope, rest)
                for note in others:
                    note.q = note.q + cfg.shrink * (cfg.q0 - note.q)
            self.store.put_notes(notes + others, None, None)
            self.store.log(
                scope, [{"op": "FEEDBACK", "note_id": n.id, "reward": rewards[n.id], "q": n.q, "reason": "utility update", "at": now_iso()} for n in notes]
            )
            self._counters["feedbacks"] += 1
            return notes

    def answer(
        self,
        question: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        k: int | None = None,
    ) -> Answer:
        """Answer a question from memory with the LLM (stage 4), naming the notes used.

        Feed ``answer.used_ids`` to :meth:`feedback` once the answer is judged. When the memory
        does not hold the answer, ``answer.refused`` is True and the text is "not mentioned".

        Raises:
            ConfigError: The memory has no LLM.
        """
        if self.llm is None:
            msg = "answer() needs an LLM: ASEM(llm='smollm2') (or a hub id, folder or LangChain chat model)"
            raise ConfigError(msg)
        hits = self.search(question, user_id=user_id, agent_id=agent_id, session_id=session_id, k=k)
        return AnswerAgent(self.llm).answer_many([question], [[h.note for h in hits]])[0]

    def consolidate(
        self,
        question: str,
        answer: str,
        reward: float,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation:
        """Store the experience of one exchange as a new note at q0 (stage 5).

        With an LLM, the note leads with a one-sentence lesson it writes; the question, answer
        and reward are always kept. The note is added (never merged into another one) with
        ``metadata={"kind": "experience", "reward": r}``.
        """
        reward = check_reward(reward)
        question = validate_text(question, self.config.max_text_chars, "question")
        answer = validate_text(answer, self.config.max_text_chars, "answer")
        lesson = None
        if self.llm is not None:
            text = self.llm.generate([consolidate_prompt(question, answer, reward)], stage="consolidate", max_new_tokens=60)[0].text
            lesson = " ".join(text.split())[:300] or None
        item = self._parse_items([{"text": experience_text(question, answer, reward, lesson), "metadata": {"kind": "experience", "reward": reward}}])
        scope = Scope(user_id, agent_id, session_id)
        with self._lock:
            return self._ingest(scope, item, adjacent=False, manage=False)[0]

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
        metadata: Mapping[str, Any] | None = None,
    ) -> Operation:
        """Replace a note's content (and optionally its metadata) with a new version; the old one stays in :meth:`history`.

        Args:
            note_id: The note.
            text: Its new content.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            reason: Logged with the change.
            metadata: Keys to set in the note's metadata (others are kept).
        """
        text = validate_text(text, self.config.max_text_chars)
        extra = check_metadata(metadata, "update")
        scope = Scope(user_id, agent_id, session_id)
        with self._lock:
            note = self._get_in_scope(note_id, scope)
            if not note.valid:
                msg = f"note {note_id!r} was deleted; add the fact again instead of updating it"
                raise InvalidInputError(msg)
            now = now_iso()
            note.content, note.version, note.updated_at = text, note.version + 1, now
            note.metadata = {**note.metadata, **extra}
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
            "llm": None,
            "llm_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "llm_seconds": 0.0,
            "llm_stages": {},
            **(self.llm.totals() if self.llm is not None else {}),
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

    async def afeedback(self, reward: float | Mapping[str, float], note_ids: Sequence[str] | None = None, **kwargs: Any) -> list[Note]:
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

    async def aanswer(self, question: str, **kwargs: Any) -> Answer:
        """Async :meth:`answer`."""
        return await asyncio.to_thread(self.answer, question, **kwargs)

    async def aconsolidate(self, question: str, answer: str, reward: float, **kwargs: Any) -> Operation:
        """Async :meth:`consolidate`."""
        return await asyncio.to_thread(self.consolidate, question, answer, reward, **kwargs)

    async def aall(self, **kwargs: Any) -> list[Note]:
        """Async :meth:`all`."""
        return await asyncio.to_thread(self.all, **kwargs)


def open_memory(memory: ASEM | str | os.PathLike[str] | None) -> ASEM:
    """An :class:`ASEM` from an instance, a store folder, or ``None`` (the default store under ``$ASEM_HOME``).

    The framework adapters accept all three forms through this function.
    """
    if isinstance(memory, ASEM):
        return memory
    if memory is None:
        return ASEM()
    if isinstance(memory, (str, os.PathLike)):
        return ASEM(path=memory)
    msg = f"memory must be an ASEM instance or a store path, got {type(memory).__name__}"
    raise InvalidInputError(msg)
