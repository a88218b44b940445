"""``ASEMRetriever``: a LangChain retriever over an ASEM memory."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from asem_core import ASEM, InvalidInputError, open_memory

from ._common import hit_to_document

__all__ = ["ASEMRetriever"]


class ASEMRetriever(BaseRetriever):
    """Value-aware two-phase retrieval from ASEM as LangChain ``Document`` objects.

    Example:
        .. code-block:: python

            retriever = ASEMRetriever(memory=ASEM(), user_id="u1", k=5)
            docs = retriever.invoke("What is my dog's name?")
            retriever.feedback(1.0, docs[:1])
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = None
    """An :class:`~asem_core.ASEM`, a store folder, or None for the default store."""
    user_id: str | None = None
    """Scope: user."""
    agent_id: str | None = None
    """Scope: agent."""
    session_id: str | None = None
    """Scope: session."""
    k: int = Field(default=4, gt=0)
    """Documents returned (can be overridden per call with ``invoke(query, k=...)``)."""
    _last: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _open_memory(self) -> ASEMRetriever:
        self.memory = open_memory(self.memory)
        return self

    @property
    def _scope(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "session_id": self.session_id}

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None) -> list[Document]:
        hits = self.memory.search(query, k=k or self.k, **self._scope)
        self._last = [h.note.id for h in hits]
        return [hit_to_document(h) for h in hits]

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None) -> list[Document]:
        hits = await self.memory.asearch(query, k=k or self.k, **self._scope)
        self._last = [h.note.id for h in hits]
        return [hit_to_document(h) for h in hits]

    def feedback(self, reward: float, documents: list[Document] | None = None) -> None:
        """Update the utilities of the notes behind ``documents`` (default: the last ones returned)."""
        ids = self._last if documents is None else [str(d.metadata.get("note_id") or d.id) for d in documents]
        if not ids:
            msg = "feedback needs documents returned by this retriever, or a retrieval first"
            raise InvalidInputError(msg)
        mem: ASEM = self.memory
        mem.feedback(reward, ids, **self._scope)
