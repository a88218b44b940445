"""Memory tools for LangChain agents: search, add and feedback.

A tool never raises into the agent loop for a bad call (an unknown note id, a reward out of
range, an empty query): the error comes back as the tool's result, a short message the model
can read and correct (LangChain's ``ToolException`` with ``handle_tool_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from asem_core import ASEM, ASEMError, format_memories

__all__ = ["create_memory_tools"]


def _tool_errors(fn: Callable[..., str]) -> Callable[..., str]:
    """Turn ASEM's errors (bad input, unknown note, store trouble) into a ToolException."""

    @wraps(fn)
    def call(*args: Any, **kwargs: Any) -> str:
        try:
            return fn(*args, **kwargs)
        except ASEMError as exc:
            raise ToolException(f"{fn.__name__} failed: {exc}") from exc

    return call


def create_memory_tools(memory: ASEM, user_id: str | None = None, agent_id: str | None = None, k: int = 5) -> list[BaseTool]:
    """Tools an agent can call: ``search_memory``, ``add_memory`` and ``memory_feedback``.

    Errors (an empty query, an unknown note id, a reward outside [-1, 1]) are returned to the
    agent as the tool's result, starting with ``"Error: "``; the agent loop goes on.

    Args:
        memory: The ASEM memory.
        user_id: Scope: user.
        agent_id: Scope: agent.
        k: Notes returned by a search.
    """

    @_tool_errors
    def search_memory(query: str) -> str:
        """Search long-term memory for notes relevant to the query."""
        hits = memory.search(query, k=k, user_id=user_id, agent_id=agent_id)
        return format_memories(hits) if hits else "The memory holds nothing relevant."

    @_tool_errors
    def add_memory(fact: str) -> str:
        """Store a fact in long-term memory."""
        ops = memory.add(fact, user_id=user_id, agent_id=agent_id)
        return "; ".join(f"{o.op.value}: {o.reason}" for o in ops)

    @_tool_errors
    def memory_feedback(note_ids: list[str], reward: float) -> str:
        """Tell the memory whether the notes with these ids helped (reward from -1 to 1)."""
        notes = memory.feedback(reward, note_ids, user_id=user_id, agent_id=agent_id)
        return ", ".join(f"{n.id} q={n.q:.2f}" for n in notes)

    def on_error(exc: ToolException) -> str:
        return f"Error: {exc}"

    def on_bad_arguments(exc: Exception) -> str:
        return f"Error: invalid arguments ({' '.join(str(exc).split())[:300]})"

    return [
        StructuredTool.from_function(f, handle_tool_error=on_error, handle_validation_error=on_bad_arguments)
        for f in (search_memory, add_memory, memory_feedback)
    ]
