"""``ValueAwareRerank``: re-rank the nodes of any LlamaIndex retriever by learned utility."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle

from asem_core import ASEM, InvalidInputError, open_memory, value_rerank

__all__ = ["ValueAwareRerank"]


class ValueAwareRerank(BaseNodePostprocessor):
    """Re-rank nodes by (1-λ)·z(score) + λ·z(q), q being each node id's learned utility.

    Works on the nodes of any retriever (e.g. a ``VectorStoreIndex`` over ``ChromaVectorStore``).
    Utilities live in ASEM's utility table, in the same store as the memory, so they survive a
    restart. Nodes never rated start at q0; when all utilities are equal the order is unchanged.
    """

    memory: Any = Field(default=None, description="An ASEM instance or a store folder (None: the default store).")
    top_n: int = Field(default=5, description="Nodes kept after re-ranking.", gt=0)
    lam: float | None = Field(default=None, description="Weight λ of utility; None uses the memory's config.", ge=0.0, le=1.0)
    namespace: str = Field(default="llamaindex", description="Prefix of the utility keys, so several indexes can share a store.")
    _mem: ASEM = PrivateAttr()
    _last: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, memory: ASEM | str | None = None, **kwargs: Any) -> None:
        super().__init__(memory=memory, **kwargs)
        self._mem = open_memory(memory)

    @classmethod
    def class_name(cls) -> str:
        """Name for serialisation."""
        return "ValueAwareRerank"

    def _key(self, node_id: str) -> str:
        return f"{self.namespace}:{node_id}"

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        if not nodes:
            return []
        cfg = self._mem.config
        table = self._mem.utilities.get([self._key(n.node.node_id) for n in nodes])
        qs = [table[self._key(n.node.node_id)][0] for n in nodes]
        scores = value_rerank([n.score or 0.0 for n in nodes], qs, cfg.lam if self.lam is None else self.lam, cfg.utility_spread_floor)
        order = sorted(range(len(nodes)), key=lambda i: -scores[i])[: self.top_n]
        out = [NodeWithScore(node=nodes[i].node, score=float(scores[i])) for i in order]
        self._last = [n.node.node_id for n in out]
        return out

    def feedback(self, response_or_nodes: Any = None, reward: float = 1.0) -> dict[str, float]:
        """Update the utilities of the nodes that were used.

        Args:
            response_or_nodes: A query-engine ``Response`` (its ``source_nodes``), a list of
                ``NodeWithScore``/nodes/node ids, or ``None`` for the last re-ranked nodes.
            reward: r in [-1, 1].

        Returns:
            The new utility of each node id.
        """
        ids = _node_ids(response_or_nodes) if response_or_nodes is not None else list(self._last)
        if not ids:
            msg = "feedback needs nodes (or a response with source_nodes), or a re-ranking first"
            raise InvalidInputError(msg)
        new = self._mem.utilities.update([self._key(i) for i in ids], reward, self._mem.config.alpha)
        return {i: new[self._key(i)] for i in ids}


def _node_ids(items: Any) -> list[str]:
    if hasattr(items, "source_nodes"):
        items = items.source_nodes
    if isinstance(items, (str, NodeWithScore, BaseNode)):
        items = [items]
    if not isinstance(items, Sequence):
        msg = f"cannot read node ids from {type(items).__name__}"
        raise InvalidInputError(msg)
    out: list[str] = []
    for item in items:
        if isinstance(item, NodeWithScore):
            out.append(item.node.node_id)
        elif isinstance(item, BaseNode):
            out.append(item.node_id)
        elif isinstance(item, str):
            out.append(item)
        else:
            msg = f"not a node: {type(item).__name__}"
            raise InvalidInputError(msg)
    return out
