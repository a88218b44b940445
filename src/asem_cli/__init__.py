"""The ``asem`` command line, each command with ``--json``.

Commands: add, ingest, search, list, get, delete, history, feedback, stats, scopes, export, import,
answer, serve, mcp and demo.

Store and scope options (``--path``, ``--url``, ``--server``, ``--user-id``, ...) may come before or
after the command. ``--server URL`` sends the call to a running ``asem serve`` instead of loading
the embedder in this process.
"""

from __future__ import annotations

from ._items import load_items
from ._main import main
from ._parser import make_parser

__all__ = ["load_items", "main", "make_parser"]
