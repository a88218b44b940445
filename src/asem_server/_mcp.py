"""``asem mcp``: ASEM as a Model Context Protocol server (the official ``mcp`` SDK).

Tools: ``add_memory``, ``search_memory``, ``memory_feedback``, ``memory_history`` and
``delete_memory``. The scope comes from the tool arguments, or from the server's defaults
(``asem mcp --user-id ...``); an argument wins. Every ASEM error comes back as a tool error
(``is_error`` with the message), never a crash of the server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from asem_core import ASEM, ASEMError

from ._models import ScopeArgs, hit_out, note_out, operation_out, version_out

__all__ = ["TOOLS", "create_mcp_server"]

TOOLS = ("add_memory", "search_memory", "memory_feedback", "memory_history", "delete_memory")
_F = TypeVar("_F", bound=Callable[..., Any])


def _as_tool_error(fn: _F) -> _F:
    """Turn ASEM's errors into MCP tool errors (the model reads the message and can retry)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ASEMError as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def create_mcp_server(memory: ASEM, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> MCPServer[Any]:
    """An MCP server whose tools read and write ``memory``.

    Args:
        memory: The memory (loaded once for the server's life).
        user_id: Default scope (user) for calls that name none.
        agent_id: Default scope (agent).
        session_id: Default scope (session).
    """
    defaults = ScopeArgs(user_id=user_id, agent_id=agent_id, session_id=session_id)
    server: MCPServer[Any] = MCPServer(
        name="asem",
        log_level="WARNING",
        instructions="Long-term memory. Search it before answering questions about the user; add new facts; reward the memories that helped.",
    )

    def scope(user: str | None, agent: str | None, session: str | None) -> ScopeArgs:
        if user or agent or session:
            return ScopeArgs(user_id=user, agent_id=agent, session_id=session)
        return defaults

    @server.tool(description="Store a fact in long-term memory (the memory manager adds, updates or skips it). Returns the operations.")
    @_as_tool_error
    def add_memory(
        text: str, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None, timestamp: str | None = None
    ) -> list[dict[str, Any]]:
        ops = memory.add(text, timestamp=timestamp, **scope(user_id, agent_id, session_id))
        return [operation_out(op).model_dump() for op in ops]

    @server.tool(description="Search long-term memory; best first, with score, similarity, utility q and channels.")
    @_as_tool_error
    def search_memory(
        query: str,
        k: int = 5,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        hits = memory.search(query, k=k, filters=filters, **scope(user_id, agent_id, session_id))
        return [hit_out(h).model_dump() for h in hits]

    @server.tool(description="Reward the memories that helped (reward in [-1, 1]); default: the hits of the last search.")
    @_as_tool_error
    def memory_feedback(
        reward: float, note_ids: list[str] | None = None, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        notes = memory.feedback(reward, note_ids, **scope(user_id, agent_id, session_id))
        return [{"id": n.id, "q": n.q, "uses": n.uses} for n in notes]

    @server.tool(description="Every version of a memory, oldest first (updates and deletes keep the old versions).")
    @_as_tool_error
    def memory_history(note_id: str, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> list[dict[str, Any]]:
        return [version_out(v).model_dump() for v in memory.history(note_id, **scope(user_id, agent_id, session_id))]

    @server.tool(description="Delete a memory (soft: it leaves search results and stays in its history).")
    @_as_tool_error
    def delete_memory(note_id: str, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> dict[str, Any]:
        op = memory.delete(note_id, **scope(user_id, agent_id, session_id))
        return {**operation_out(op).model_dump(), "note": note_out(memory.get(note_id, **scope(user_id, agent_id, session_id))).model_dump()}

    return server
