"""ASEM over the wire: a REST API with a memory inspector (``asem serve``) and an MCP server (``asem mcp``).

Install with ``pip install asem[server]``. FastAPI, uvicorn and the MCP SDK are imported on first
use of a name, so the wire models (:mod:`asem_server._models`) stay cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import create_app
    from ._mcp import create_mcp_server
    from ._serve import run_mcp, serve

__all__ = ["create_app", "create_mcp_server", "run_mcp", "serve"]

_HOMES = {"create_app": "._app", "create_mcp_server": "._mcp", "run_mcp": "._serve", "serve": "._serve"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    try:
        module = importlib.import_module(home, __name__)
    except ImportError as exc:
        msg = f"asem_server.{name} needs the server extra ({exc.name or exc}): pip install 'asem[server]'"
        raise ImportError(msg, name=exc.name) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
