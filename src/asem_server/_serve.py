"""Running the servers: ``asem serve`` (uvicorn) and ``asem mcp`` (stdio or streamable HTTP)."""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import uvicorn

from asem_core import ASEM, ConfigError

from ._app import create_app
from ._mcp import create_mcp_server

__all__ = ["run_mcp", "serve"]

log = logging.getLogger("asem_server")


def serve(memory: ASEM, *, host: str = "127.0.0.1", port: int = 8765, api_key: str | None = None, log_level: str = "warning") -> None:
    """Serve the REST API and the inspector until interrupted.

    Args:
        memory: The memory to serve (one model load for the whole process).
        host: Interface to bind; the default is loopback only. Binding another interface
            without an API key logs a warning.
        port: TCP port.
        api_key: Required on every API request when set (default ``$ASEM_API_KEY``).
        log_level: uvicorn's log level.
    """
    api_key = api_key if api_key is not None else (os.environ.get("ASEM_API_KEY") or None)
    if not isinstance(port, int) or not 0 < port < 65536:
        msg = f"port must be an integer from 1 to 65535, got {port!r}"
        raise ConfigError(msg)
    if host not in ("127.0.0.1", "localhost", "::1") and api_key is None:
        log.warning("asem serve binds %s without an API key: anyone who can reach it can read a scope whose ids they know", host)
    uvicorn.run(create_app(memory, api_key=api_key), host=host, port=port, log_level=log_level)


def run_mcp(memory: ASEM, *, transport: Literal["stdio", "streamable-http"] = "stdio", host: str = "127.0.0.1", port: int = 8766, **scope: Any) -> None:
    """Run the MCP server until its client goes away (stdio) or it is interrupted (HTTP).

    Args:
        memory: The memory behind the tools.
        transport: ``"stdio"`` (an MCP client starts ``asem mcp``) or ``"streamable-http"``.
        host: Interface for streamable HTTP.
        port: Port for streamable HTTP (the endpoint is ``/mcp``).
        **scope: Default ``user_id`` / ``agent_id`` / ``session_id`` of the tools.
    """
    server = create_mcp_server(memory, **scope)
    if transport == "stdio":
        server.run("stdio")
    elif transport == "streamable-http":
        server.run("streamable-http", host=host, port=port)
    else:
        msg = f"transport must be 'stdio' or 'streamable-http', got {transport!r}"
        raise ConfigError(msg)
