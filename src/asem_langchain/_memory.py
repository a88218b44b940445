"""``ASEMMemory``: ASEM as the memory of a classic LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_classic.base_memory import BaseMemory
from langchain_core.messages import BaseMessage, SystemMessage
from pydantic import ConfigDict, Field, model_validator

from asem_core import ASEM, format_memories, open_memory

__all__ = ["ASEMMemory"]


class ASEMMemory(BaseMemory):
    """Long-term memory for classic chains: ``ConversationChain(llm=..., memory=ASEMMemory())``.

    ``save_context`` writes each exchange through ASEM's manager; ``load_memory_variables``
    recalls the notes most relevant to the new input (value-aware), as a delimited block.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = None
    """An :class:`~asem_core.ASEM`, a store folder, or None for the default store under ``$ASEM_HOME``."""
    memory_key: str = "history"
    """Prompt variable the recalled notes are put in."""
    input_key: str | None = None
    """Input variable holding the user's message (default: the only input besides memory keys)."""
    output_key: str | None = None
    """Output variable holding the reply (default: the only output)."""
    return_messages: bool = False
    """Return a list with one system message instead of a string."""
    k: int = Field(default=5, gt=0)
    """Notes recalled per call."""
    user_id: str | None = None
    """Scope: user."""
    agent_id: str | None = None
    """Scope: agent."""
    session_id: str | None = None
    """Scope: session (leave empty to remember across sessions)."""

    @model_validator(mode="after")
    def _open_memory(self) -> ASEMMemory:
        self.memory = open_memory(self.memory)
        return self

    @property
    def _scope(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "session_id": self.session_id}

    @property
    def memory_variables(self) -> list[str]:
        """The one variable this memory fills."""
        return [self.memory_key]

    def _input(self, inputs: dict[str, Any]) -> str:
        if self.input_key is not None:
            return str(inputs[self.input_key])
        keys = [k for k in inputs if k not in (self.memory_key, "stop")]
        if len(keys) != 1:
            msg = f"ASEMMemory needs input_key: the inputs have {keys}"
            raise ValueError(msg)
        return str(inputs[keys[0]])

    def _output(self, outputs: dict[str, Any]) -> str:
        if self.output_key is not None:
            return str(outputs[self.output_key])
        if len(outputs) != 1:
            msg = f"ASEMMemory needs output_key: the outputs have {list(outputs)}"
            raise ValueError(msg)
        return str(next(iter(outputs.values())))

    def load_memory_variables(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Recall the notes relevant to the new input."""
        mem: ASEM = self.memory
        query = self._input(inputs)
        hits = mem.search(query, k=self.k, **self._scope) if query.strip() else []
        block = format_memories(hits) if hits else ""
        value: str | list[BaseMessage] = ([SystemMessage(content=block)] if block else []) if self.return_messages else block
        return {self.memory_key: value}

    def save_context(self, inputs: dict[str, Any], outputs: dict[str, str]) -> None:
        """Write the exchange through the memory manager."""
        mem: ASEM = self.memory
        turn = [{"role": "human", "content": self._input(inputs)}, {"role": "ai", "content": self._output(outputs)}]
        mem.add_messages([m for m in turn if m["content"].strip()], **self._scope)

    def clear(self) -> None:
        """Delete the scope's notes (they stay readable in history)."""
        mem: ASEM = self.memory
        for note in mem.all(**self._scope):
            mem.delete(note.id, reason="ASEMMemory.clear", **self._scope)
