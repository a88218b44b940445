"""``ASEM``, the memory object users hold: the core calls and the async twin of each.

The sync calls live in :mod:`asem_core._memory` (ingest, search, feedback, answers) and
:mod:`asem_core._access` (reads, edits, export/import); each async twin runs its sync call in a
worker thread (``asyncio.to_thread``), and the memory's lock keeps concurrent calls consistent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._answering import Answer
from ._errors import InvalidInputError
from ._memory import MemoryCore, default_home
from ._types import Hit, Note, Operation, Version

__all__ = ["ASEM", "default_home", "open_memory"]


class ASEM(MemoryCore):
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

    Every public call has an async twin with the same signature (``aadd``, ``asearch``, ...),
    which runs the call in a worker thread so the event loop is not blocked.
    """

    async def aadd(
        self,
        text: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        timestamp: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Operation]:
        """Async :meth:`~asem_core.ASEM.add` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.add, text, user_id=user_id, agent_id=agent_id, session_id=session_id, timestamp=timestamp, metadata=metadata)

    async def aadd_messages(
        self,
        messages: Sequence[Any],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        timestamp: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Operation]:
        """Async :meth:`~asem_core.ASEM.add_messages` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(
            self.add_messages, messages, user_id=user_id, agent_id=agent_id, session_id=session_id, timestamp=timestamp, metadata=metadata
        )

    async def aadd_many(
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
        """Async :meth:`~asem_core.ASEM.add_many` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(
            self.add_many,
            items if isinstance(items, (str, Mapping)) else list(items),
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            link_adjacent=link_adjacent,
            manage=manage,
            progress=progress,
            chunk_size=chunk_size,
        )

    async def asearch(
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
        """Async :meth:`~asem_core.ASEM.search` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(
            self.search, query, user_id=user_id, agent_id=agent_id, session_id=session_id, k=k, min_similarity=min_similarity, filters=filters
        )

    async def afeedback(
        self,
        reward: float | Mapping[str, float],
        note_ids: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> list[Note]:
        """Async :meth:`~asem_core.ASEM.feedback` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.feedback, reward, note_ids, user_id=user_id, agent_id=agent_id, session_id=session_id)

    async def aanswer(
        self, question: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, k: int | None = None
    ) -> Answer:
        """Async :meth:`~asem_core.ASEM.answer` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.answer, question, user_id=user_id, agent_id=agent_id, session_id=session_id, k=k)

    async def aconsolidate(
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
        """Async :meth:`~asem_core.ASEM.consolidate` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.consolidate, question, answer, reward, note_ids=note_ids, user_id=user_id, agent_id=agent_id, session_id=session_id)

    async def aget(self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> Note:
        """Async :meth:`~asem_core.ASEM.get` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.get, note_id, user_id=user_id, agent_id=agent_id, session_id=session_id)

    async def aall(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, include_invalid: bool = False
    ) -> list[Note]:
        """Async :meth:`~asem_core.ASEM.all` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.all, user_id=user_id, agent_id=agent_id, session_id=session_id, include_invalid=include_invalid)

    async def aupdate(
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
        """Async :meth:`~asem_core.ASEM.update` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.update, note_id, text, user_id=user_id, agent_id=agent_id, session_id=session_id, reason=reason, metadata=metadata)

    async def adelete(
        self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, reason: str = "explicit delete"
    ) -> Operation:
        """Async :meth:`~asem_core.ASEM.delete` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.delete, note_id, user_id=user_id, agent_id=agent_id, session_id=session_id, reason=reason)

    async def adelete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, reason: str = "delete_all"
    ) -> list[Operation]:
        """Async :meth:`~asem_core.ASEM.delete_all` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.delete_all, user_id=user_id, agent_id=agent_id, session_id=session_id, reason=reason)

    async def ascopes(self) -> list[dict[str, Any]]:
        """Async :meth:`~asem_core.ASEM.scopes` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.scopes)

    async def ahistory(self, note_id: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> list[Version]:
        """Async :meth:`~asem_core.ASEM.history` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.history, note_id, user_id=user_id, agent_id=agent_id, session_id=session_id)

    async def aoperations(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Async :meth:`~asem_core.ASEM.operations` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.operations, user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit)

    async def astats(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Async :meth:`~asem_core.ASEM.stats` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.stats, user_id=user_id, agent_id=agent_id, session_id=session_id)

    async def aexport(self, path: str | os.PathLike[str], *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> int:
        """Async :meth:`~asem_core.ASEM.export` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.export, path, user_id=user_id, agent_id=agent_id, session_id=session_id)

    async def aimport_(self, path: str | os.PathLike[str]) -> int:
        """Async :meth:`~asem_core.ASEM.import_` (in a worker thread; the event loop is not blocked)."""
        return await asyncio.to_thread(self.import_, path)


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
