"""``ASEMRetriever``: a LlamaIndex retriever over an ASEM memory."""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from asem_core import ASEM, Hit, open_memory

from ._common import hit_metadata

__all__ = ["ASEMRetriever"]


class ASEMRetriever(BaseRetriever):
    """Value-aware two-phase retrieval from ASEM, as ``NodeWithScore`` (node id = note id).

    Args:
        memory: An :class:`~asem_core.ASEM`, a store folder, or ``None`` for the default store.
        user_id: Scope: user.
        agent_id: Scope: agent.
        session_id: Scope: session.
        similarity_top_k: Nodes returned.
        callback_manager: LlamaIndex callbacks.
    """

    def __init__(
        self,
        memory: ASEM | str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        similarity_top_k: int = 5,
        callback_manager: CallbackManager | None = None,
        **kwargs: Any,
    ) -> None:
        self.memory = open_memory(memory)
        self.scope: dict[str, Any] = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
        self.similarity_top_k = similarity_top_k
        self._last: list[str] = []
        super().__init__(callback_manager=callback_manager, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        """Name for serialisation."""
        return "ASEMRetriever"

    def _nodes(self, hits: list[Hit]) -> list[NodeWithScore]:
        self._last = [h.note.id for h in hits]
        return [NodeWithScore(node=TextNode(id_=h.note.id, text=h.note.content, metadata=hit_metadata(h)), score=h.score) for h in hits]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._nodes(self.memory.search(query_bundle.query_str, k=self.similarity_top_k, **self.scope))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._nodes(await self.memory.asearch(query_bundle.query_str, k=self.similarity_top_k, **self.scope))

    def feedback(self, reward: float, nodes: list[NodeWithScore] | None = None) -> None:
        """Reward the notes behind ``nodes`` (default: the last retrieval's)."""
        ids = [n.node.node_id for n in nodes] if nodes is not None else self._last
        self.memory.feedback(reward, ids, **self.scope)
