"""Memory tools for LangChain agents: search, add and feedback."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from asem_core import ASEM, format_memories

__all__ = ["create_memory_tools"]


def create_memory_tools(memory: ASEM, user_id: str | None = None, agent_id: str | None = None, k: int = 5) -> list[BaseTool]:
    """Tools an agent can call: ``search_memory``, ``add_memory`` and ``memory_feedback``.

    Args:
        memory: The ASEM memory.
        user_id: Scope: user.
        agent_id: Scope: agent.
        k: Notes returned by a search.
    """
    scope: dict[str, Any] = {"user_id": user_id, "agent_id": agent_id}

    def search_memory(query: str) -> str:
        """Search long-term memory for notes relevant to the query."""
        hits = memory.search(query, k=k, **scope)
        return format_memories(hits) if hits else "The memory holds nothing relevant."

    def add_memory(fact: str) -> str:
        """Store a fact in long-term memory."""
        ops = memory.add(fact, **scope)
        return "; ".join(f"{o.op.value}: {o.reason}" for o in ops)

    def memory_feedback(note_ids: list[str], reward: float) -> str:
        """Tell the memory whether the notes with these ids helped (reward from -1 to 1)."""
        notes = memory.feedback(reward, note_ids, **scope)
        return ", ".join(f"{n.id} q={n.q:.2f}" for n in notes)

    return [StructuredTool.from_function(f) for f in (search_memory, add_memory, memory_feedback)]
