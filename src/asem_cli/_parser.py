"""The argument parser of ``asem``: every store and scope option works before or after the subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path

from asem_core import default_home

__all__ = ["DEFAULTS", "LONG_RUNNING", "READ_COMMANDS", "make_parser", "parse"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo_conversation.json"
DEFAULTS: dict[str, object] = {
    "path": None,
    "url": None,
    "server": None,
    "api_key": None,
    "user_id": None,
    "agent_id": None,
    "session_id": None,
    "json": False,
    "embed_backend": None,
}
"""Values of the shared options when given nowhere (they are parsed with SUPPRESS so a later position can set them)."""

LONG_RUNNING = frozenset({"ingest", "serve", "mcp", "demo"})
"""Commands where embedding throughput matters more than start-up (default backend torch)."""

READ_COMMANDS = frozenset({"search", "list", "get", "history", "stats", "export", "feedback", "answer", "delete", "scopes"})
"""Commands that never create a local store: a wrong ``--path`` is an error, not a new empty store."""


def _shared() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    store = common.add_argument_group("store (give at most one of --path, --url, --server)")
    store.add_argument("--path", help=f"local store folder (default $ASEM_HOME or {default_home()})")
    store.add_argument("--url", help="a Chroma server (`chroma run`) instead of a local folder, e.g. http://127.0.0.1:8000")
    store.add_argument("--server", help="a running `asem serve`, e.g. http://127.0.0.1:8765: no model load in this process")
    store.add_argument("--api-key", help="API key of that server (default $ASEM_API_KEY)")
    store.add_argument(
        "--embed-backend",
        choices=["torch", "onnx"],
        help="how the embedder runs in this process: onnx starts in about 2 s instead of 9 (same vectors); "
        "default onnx for one-shot commands, torch for ingest, serve, mcp and demo",
    )
    scope = common.add_argument_group("scope")
    scope.add_argument("--user-id", help="scope: user (a user-level call covers that user's sessions and agents)")
    scope.add_argument("--agent-id", help="scope: agent")
    scope.add_argument("--session-id", help="scope: session")
    common.add_argument("--json", action="store_true", help="print the result as JSON (one document on stdout)")
    return common


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of ``asem``."""
    common = _shared()
    parser = argparse.ArgumentParser(
        prog="asem",
        description="Agentic self-evolving memory for LLM agents. Store and scope options may come before or after the command.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, parents=[common])

    p = cmd("add", "add one fact through the memory manager")
    p.add_argument("text", help="the fact")
    p.add_argument("--timestamp", default=None, help="when it happened (ISO 8601, a written date or epoch seconds; default now)")
    p.add_argument("--metadata", default=None, help='JSON object kept on the note, e.g. \'{"speaker": "Maya"}\'')
    p = cmd("ingest", "add a LoCoMo-format JSON file or a JSONL of messages (a progress bar on stderr)")
    p.add_argument("file", type=Path, help="the file to ingest")
    p.add_argument("--batch", type=int, default=None, help="items per add_many call, one progress step each (default 64; 8 with --llm)")
    p.add_argument("--llm", default=None, help="turn on the LLM stages with this model, e.g. smollm2")
    p = cmd("search", "two-phase, value-aware search")
    p.add_argument("query", help="what to look for")
    p.add_argument("-k", type=int, default=5, help="hits to return (default 5)")
    p.add_argument("--filters", default=None, help='JSON metadata filter, e.g. \'{"speaker": "Caroline"}\'')
    p = cmd("list", "every note of the scope (and the scopes beneath it)")
    p.add_argument("--all", dest="include_invalid", action="store_true", help="include deleted notes")
    p = cmd("get", "one note")
    p.add_argument("note_id", help="the note's id")
    p = cmd("delete", "delete a note, or every note of the scope with --all (soft: history keeps them)")
    p.add_argument("note_id", nargs="?", default=None, help="the note's id")
    p.add_argument("--all", dest="delete_all", action="store_true", help="delete every note of the scope and those beneath it")
    p = cmd("history", "every version of a note")
    p.add_argument("note_id", help="the note's id")
    p = cmd("feedback", "reward notes: q <- q + alpha (r - q)")
    p.add_argument("reward", type=float, help="r in [-1, 1]")
    p.add_argument("--note-ids", nargs="*", default=None, help="the notes to reward")
    p.add_argument("--query", default=None, help="instead of ids: search this and reward its top --top hits")
    p.add_argument("--top", type=int, default=1, help="hits of --query to reward (default 1)")
    cmd("stats", "counts, LLM calls and tokens")
    cmd("scopes", "the scopes of the store with their note counts")
    p = cmd("export", "write the scope (notes, history, log) as JSONL")
    p.add_argument("file", type=Path, help="the JSONL file to write")
    p = cmd("import", "read a JSONL export (all or nothing)")
    p.add_argument("file", type=Path, help="the JSONL file to read")
    p = cmd("answer", "answer a question from memory with an LLM")
    p.add_argument("question", help="the question")
    p.add_argument("--llm", default="smollm2", help="the language model (default smollm2, offline)")
    p = cmd("serve", "the REST API and the memory inspector (FastAPI + uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p = cmd("mcp", "an MCP server over stdio (or streamable HTTP) with the memory tools")
    p.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio", help="MCP transport (default stdio)")
    p.add_argument("--host", default="127.0.0.1", help="interface for streamable HTTP")
    p.add_argument("--port", type=int, default=8766, help="port for streamable HTTP (endpoint /mcp)")
    p = cmd("demo", "ingest the example conversation, answer from memory, learn from feedback")
    p.add_argument("--file", type=Path, default=EXAMPLE, help="a LoCoMo-format conversation")
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and fill the shared options given nowhere with :data:`DEFAULTS`."""
    args = make_parser().parse_args(argv)
    for key, value in DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args
