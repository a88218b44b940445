"""The memory's constructor and its core calls: ingest, search, feedback, answers, consolidation."""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Self

from ._access import NoteAccess
from ._answering import Answer, AnswerAgent, consolidate_prompt, experience_text
from ._config import MAX_K, ASEMConfig
from ._construction import HeuristicEnricher, LLMEnricher
from ._embedder import Embedder, resolve_embedder
from ._errors import ConfigError, InvalidInputError
from ._filters import check_filters, matches_filter, note_field
from ._ingest import check_metadata, is_assistant, message_parts
from ._linking import LLMLinker
from ._retrieval import ScopeState, two_phase_search
from ._store import ChromaStore
from ._text import content_words, validate_text
from ._types import Hit, Note, Operation, Scope
from ._utility import UtilityTable, check_reward, check_rewards, feedback_plans
from ._vectors import VectorCache
from .llm import MeteredLLM, resolve_llm
from .manager import MemoryManager, resolve_manager

__all__ = ["MemoryCore", "default_home"]


_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def default_home() -> Path:
    """``$ASEM_HOME`` or ``~/.asem``."""
    return Path(os.environ.get("ASEM_HOME", "~/.asem")).expanduser()


class MemoryCore(NoteAccess):
    """The synchronous API of :class:`~asem_core.ASEM` (its constructor, ingest, search, feedback, answers)."""

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
        self.embedder = resolve_embedder(embedder, self.config.embed_threads, self.config.embed_backend)
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
            self.store = ChromaStore.open(url=url, embedder_name=self.embedder.name, namespace=namespace, recover_after=self.config.recover_after)
        else:
            self.store = ChromaStore.open(
                path=Path(path) if path is not None else default_home(),
                embedder_name=self.embedder.name,
                lock_timeout=self.config.lock_timeout,
                namespace=namespace,
            )
        self._finalizer = weakref.finalize(self, self.store.close)
        self.config = self.config.replace(embed_mode=self.store.settle_embed_mode(self.config.embed_mode, "composed"))
        self._lock = threading.RLock()
        self._states: dict[str, ScopeState] = {}
        self._counters: dict[str, int] = {"searches": 0, "feedbacks": 0, "embedded_texts": 0}
        self._query_cache, self._pieces = VectorCache(self.config.query_cache), VectorCache(self.config.piece_cache)
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def ephemeral(cls, **kwargs: Any) -> Self:
        """An in-process store with nothing on disk; takes the same options as :class:`ASEM`."""
        return cls(_ephemeral=True, **kwargs)

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
        messages are linked ("follows"). User turns are always kept; assistant turns as
        ``config.assistant_turns`` says (by default only those that carry content, so filler such
        as "Nice!" is not stored).

        Returns:
            One operation per message stored (skipped assistant turns have none).
        """
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
            msg = "messages must be a list of messages"
            raise InvalidInputError(msg)
        items = []
        extra = check_metadata(metadata, "add_messages")
        for i, message in enumerate(messages):
            role, content = message_parts(message, f"messages[{i}]")
            if is_assistant(message) and not self._keeps_assistant_turn(content):
                continue
            items.append({"text": content, "timestamp": timestamp, "metadata": {"speaker": role, **extra}})
        return self.add_many(items, user_id=user_id, agent_id=agent_id, session_id=session_id)

    def _keeps_assistant_turn(self, content: str) -> bool:
        policy = self.config.assistant_turns
        return policy == "all" or (policy == "content" and len(content_words(content)) >= self.config.assistant_min_words)

    def add_many(
        self,
        items: Iterable[Mapping[str, Any] | str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        link_adjacent: bool | None = None,
        manage: bool = True,
        progress: Callable[[int, int], None] | None = None,
        chunk_size: int = 32,
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
            progress: Called as ``progress(done, total)`` after each chunk of ``chunk_size`` items
                (and once with ``(0, total)`` before the first). With it, the items are written in
                chunks, each one atomic write; without it, in one.
            chunk_size: Items per chunk when ``progress`` is given.

        Returns:
            One operation per item, in order. Items whose ``metadata["source_id"]`` is already
            in the scope give a NOOP (re-running an ingest is idempotent).

        Raises:
            InvalidInputError: Any item is invalid; then nothing is written.
        """
        scope = Scope(user_id, agent_id, session_id)
        parsed = self._parse_items(items)
        if progress is not None and not callable(progress):
            msg = f"progress must be a callable (done, total) or None, got {type(progress).__name__}"
            raise InvalidInputError(msg)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            msg = f"chunk_size must be a positive integer, got {chunk_size!r}"
            raise InvalidInputError(msg)
        if not parsed:
            return []
        adjacent = self.config.link_adjacent if link_adjacent is None else link_adjacent
        if progress is None:
            with self._lock:
                return self._ingest(scope, parsed, adjacent, manage)
        ops: list[Operation] = []
        progress(0, len(parsed))
        for start in range(0, len(parsed), chunk_size):
            with self._lock:
                ops += self._ingest(scope, parsed[start : start + chunk_size], adjacent, manage)
            progress(min(start + chunk_size, len(parsed)), len(parsed))
        return ops

    # ------------------------------------------------------------------ search and feedback
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        k: int | None = None,
        min_similarity: float | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Two-phase, value-aware search in a scope and the narrower scopes beneath it.

        A user-level search (``user_id`` alone) covers that user's sessions and agents; giving
        ``agent_id`` or ``session_id`` narrows it. A scope holding notes always answers with up
        to ``k`` of them, best first: no default threshold empties a result.

        Args:
            query: What to look for.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.
            k: Hits to return (default ``config.k2``).
            min_similarity: Drop hits whose cosine similarity to the query is below this
                (``Hit.similarity``); default: keep every hit.
            filters: Only notes whose metadata (or note fields) match, e.g.
                ``{"speaker": "Caroline", "timestamp": {"$gte": "2023-05-01"}}``; operators
                ``$eq $ne $gt $gte $lt $lte $in $nin $contains``, ``$and`` / ``$or`` lists
                (see :mod:`asem_core._filters`). Times compare as instants.
        """
        query = validate_text(query, self.config.max_text_chars, "query")
        k = self.config.k2 if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            msg = f"k must be an integer from 1 to {MAX_K}, got {k!r}"
            raise InvalidInputError(msg)
        if min_similarity is not None and (
            isinstance(min_similarity, bool) or not isinstance(min_similarity, (int, float)) or not -1.0 <= min_similarity <= 1.0
        ):
            msg = f"min_similarity must be a number in [-1, 1] or None, got {min_similarity!r}"
            raise InvalidInputError(msg)
        wanted = check_filters(filters)
        scope = Scope(user_id, agent_id, session_id)
        query_emb = self._embed_query(query)
        with self._lock:
            parts = [(s, self._state(s)) for s in self._covered(scope)]
            primary = parts[0][1]
            if wanted is not None:
                parts = [(s, st.only(self._matching(s, wanted))) for s, st in parts]
            self._counters["searches"] += 1
            cfg = self.config if k <= self.config.k1 else self.config.replace(k1=k)
            hits = two_phase_search(self.store, parts, query, query_emb, cfg, k)
            if wanted is not None:  # feedback without ids rewards the hits of this search (read from the filtered view)
                primary.last_pool, primary.last_hits = parts[0][1].last_pool, parts[0][1].last_hits
        if min_similarity is not None:
            hits = [h for h in hits if h.similarity >= min_similarity]
        return hits

    def _matching(self, scope: Scope, filters: Mapping[str, Any]) -> set[str]:
        """Ids of the valid notes of one scope that pass a metadata filter."""
        return {n.id for n in self.store.iter_notes(scope) if n.valid and matches_filter(partial(note_field, n), filters)}

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
        scalar, per_note, note_ids = check_rewards(reward, note_ids)
        scope = Scope(user_id, agent_id, session_id)
        with self._lock:
            state = self._state(scope)
            plans, notes = feedback_plans(lambda ids: self._locate(scope, ids), state, scope, scalar, per_note, note_ids, self.config)
            for plan in plans:
                self._apply(plan, state)
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
        """Answer a question from memory with the LLM (after retrieval, stage 4), naming the notes used.

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
        note_ids: Sequence[str] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Operation:
        """Store the experience of one exchange as a new note at q0 (consolidation, with stage 5).

        With an LLM, the note leads with a one-sentence lesson it writes; the question, answer
        and reward are always kept. The note is added (never merged into another one) with
        ``metadata={"kind": "experience", "reward": r}``.

        Args:
            question: The question asked.
            answer: The answer given.
            reward: How good it was, in [-1, 1].
            note_ids: The notes the answer used (the hits that helped), kept as ``metadata["used"]``:
                a later search that finds this experience reaches them as through a link.
            user_id: Scope: user.
            agent_id: Scope: agent.
            session_id: Scope: session.

        Raises:
            InvalidInputError: A bad reward or empty text.
            NoteNotFoundError: A note of ``note_ids`` is not in this scope (nothing is stored).
        """
        reward = check_reward(reward)
        question = validate_text(question, self.config.max_text_chars, "question")
        answer = validate_text(answer, self.config.max_text_chars, "answer")
        scope = Scope(user_id, agent_id, session_id)
        metadata: dict[str, Any] = {"kind": "experience", "reward": reward}
        if note_ids:
            metadata["used"] = self._existing(scope, note_ids)
        lesson = None
        if self.llm is not None:
            text = self.llm.generate([consolidate_prompt(question, answer, reward)], stage="consolidate", max_new_tokens=60)[0].text
            lesson = " ".join(text.split())[:300] or None
        item = self._parse_items([{"text": experience_text(question, answer, reward, lesson), "metadata": metadata}])
        with self._lock:
            return self._ingest(scope, item, adjacent=False, manage=False)[0]
