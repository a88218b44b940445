"""``ASEMMemoryBlock``: ASEM as the long-term memory block of a LlamaIndex ``Memory``."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.memory import BaseMemoryBlock

from asem_core import ASEM, format_memories, open_memory

__all__ = ["ASEMMemoryBlock"]


class ASEMMemoryBlock(BaseMemoryBlock[str]):
    """Long-term memory for LlamaIndex agents.

    Messages flushed from short-term memory go through ASEM's manager (``_aput``); on each turn
    the notes most relevant to the latest messages come back as a delimited text block (``_aget``).
    """

    name: str = Field(default="asem_memory", description="The name of the memory block.")
    memory: Any = Field(default=None, description="An ASEM instance or a store folder (None: the default store).")
    user_id: str | None = Field(default=None, description="Scope: user.")
    agent_id: str | None = Field(default=None, description="Scope: agent.")
    k: int = Field(default=5, description="Notes recalled per turn.", gt=0)
    query_messages: int = Field(default=2, description="How many of the latest messages form the query.", gt=0)
    _mem: ASEM = PrivateAttr()

    def __init__(self, memory: ASEM | str | None = None, **kwargs: Any) -> None:
        super().__init__(memory=memory, **kwargs)
        self._mem = open_memory(memory)

    @classmethod
    def class_name(cls) -> str:
        """Name for serialisation."""
        return "ASEMMemoryBlock"

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        texts = [m.content for m in (messages or []) if isinstance(m.content, str) and m.content.strip()]
        if not texts:
            return ""
        hits = await self._mem.asearch(" ".join(texts[-self.query_messages :]), k=self.k, user_id=self.user_id, agent_id=self.agent_id)
        return format_memories(hits) if hits else ""

    async def _aput(self, messages: list[ChatMessage]) -> None:
        items = [{"role": m.role.value, "content": m.content} for m in messages if isinstance(m.content, str) and m.content.strip()]
        if items:
            await self._mem.aadd_messages(items, user_id=self.user_id, agent_id=self.agent_id)
