"""``asem``: every command, printed for people or as JSON (``--json``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asem_server
from asem_core import ASEM, ASEMError, ConfigError, InvalidInputError, default_home

from ._backend import Backend, Local, Remote, Scope
from ._demo import demo, ingest
from ._parser import LONG_RUNNING, READ_COMMANDS, parse
from ._show import print_hits, print_notes

__all__ = ["main"]


def _json_arg(text: str | None, flag: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{flag} must be a JSON object ({exc.msg})"
        raise InvalidInputError(msg) from exc
    if not isinstance(value, dict):
        msg = f"{flag} must be a JSON object, got {type(value).__name__}"
        raise InvalidInputError(msg)
    return value


def _store_folder(args: argparse.Namespace) -> Path:
    return Path(args.path).expanduser() if args.path is not None else default_home()


def _open_memory(args: argparse.Namespace, llm: str | None = None) -> ASEM:
    """The memory of the store options; a read command never creates a missing local store."""
    backend = args.embed_backend or ("torch" if args.command in LONG_RUNNING else "onnx")
    if args.url is not None:
        if args.path is not None:
            msg = "give either --path or --url, not both"
            raise ConfigError(msg)
        return ASEM(url=args.url, llm=llm, embed_backend=backend)
    folder = _store_folder(args)
    if args.command in READ_COMMANDS and not (folder / "chroma.sqlite3").exists():
        msg = f"no ASEM store at {folder} (check --path or $ASEM_HOME; `asem add` or `asem ingest` creates one)"
        raise ConfigError(msg)
    return ASEM(path=folder, llm=llm, embed_backend=backend)


def _backend(args: argparse.Namespace) -> Backend:
    if args.server is not None:
        if args.path is not None or args.url is not None:
            msg = "give --server alone (the server has its own store), not with --path or --url"
            raise ConfigError(msg)
        return Remote(args.server, args.api_key)
    return Local(_open_memory(args))


def _scope(args: argparse.Namespace) -> Scope:
    return Scope(user_id=args.user_id, agent_id=args.agent_id, session_id=args.session_id)


def _scope_hint(backend: Backend) -> str:
    try:
        scopes = backend.scopes()
    except ASEMError:
        return ""
    named = [", ".join(f"--{k.replace('_', '-')} {v}" for k, v in s.items() if k != "notes" and v) for s in scopes if s.get("notes")]
    named = [n for n in named if n]
    if not named:
        return " The store holds no notes yet."
    more = f" (and {len(named) - 8} more)" if len(named) > 8 else ""
    return " Scopes with notes: " + "; ".join(named[:8]) + more + "."


def _emit(args: argparse.Namespace, value: Any, human: Any = None) -> None:
    if args.json:
        print(json.dumps(value, indent=2, default=str))
    elif callable(human):
        human(value)
    else:
        print(human if human is not None else json.dumps(value, indent=2, default=str))


def _run(args: argparse.Namespace) -> int:
    scope = _scope(args)
    cmd = args.command
    if args.server is not None and (cmd in ("answer", "serve", "mcp") or getattr(args, "llm", None) is not None):
        msg = f"asem {cmd} with these options runs in this process (it loads its own models): drop --server"
        raise ConfigError(msg)
    if cmd == "serve":
        asem_server.serve(_open_memory(args), host=args.host, port=args.port, api_key=args.api_key)
        return 0
    if cmd == "mcp":
        asem_server.run_mcp(_open_memory(args), transport=args.transport, host=args.host, port=args.port, **scope)
        return 0
    if cmd == "answer":
        memory = _open_memory(args, llm=args.llm)
        reply = memory.answer(args.question, **scope)
        _emit(args, {"text": reply.text, "used_ids": reply.used_ids, "refused": reply.refused, "valid_reply": reply.valid_reply}, reply.text)
        return 0
    if cmd == "ingest" and args.server is None:
        memory = _open_memory(args, llm=args.llm)
        counts = ingest(memory, args.file, args.batch or (8 if args.llm else 64), scope)
        _emit(args, {"operations": counts, "notes": memory.stats()["notes"]})
        return 0
    backend = _backend(args)
    if cmd == "ingest":
        counts = ingest(backend, args.file, args.batch or 64, scope)
        _emit(args, {"operations": counts, "notes": backend.stats(Scope(user_id=None, agent_id=None, session_id=None))["notes"]})
    elif cmd == "add":
        ops = backend.add(args.text, args.timestamp, _json_arg(args.metadata, "--metadata"), scope)
        _emit(args, ops, lambda v: [print(f"{o['op']} {o['note_id']} ({o['reason']})") for o in v])
    elif cmd == "search":
        hits = backend.search(args.query, args.k, _json_arg(args.filters, "--filters"), scope)
        if not hits and not any(scope.values()):
            print(f"asem search: no notes in the global scope (no --user-id, --agent-id or --session-id).{_scope_hint(backend)}", file=sys.stderr)
            if args.json:
                print("[]")
            return 1
        _emit(args, hits, print_hits if hits else "no hits")
    elif cmd == "list":
        notes = backend.notes(args.include_invalid, scope)
        if not notes and not any(scope.values()) and not args.json:
            print(f"asem list: no notes in the global scope.{_scope_hint(backend)}", file=sys.stderr)
        _emit(args, notes, print_notes)
    elif cmd == "get":
        _emit(args, backend.get(args.note_id, scope))
    elif cmd == "delete":
        if args.delete_all == (args.note_id is not None):
            print("asem delete: give a note id, or --all (with a scope) to delete every note of the scope", file=sys.stderr)
            return 2
        if args.delete_all:
            ops = backend.delete_all(scope)
            _emit(args, ops, f"deleted {len(ops)} note(s); their versions stay in the history")
        else:
            op = backend.delete(args.note_id, scope)
            _emit(args, op, f"{op['op']} {op['note_id']} ({op['reason']})")
    elif cmd == "history":
        versions = backend.history(args.note_id, scope)

        def show(vs: list[dict[str, Any]]) -> None:
            for v in vs:
                state = "valid" if v["note"]["valid"] else "deleted"
                print(f"v{v['note']['version']} {v['at']} {v['op']:6s} {state:7s} {v['note']['content']!r}  ({v['reason']})")

        _emit(args, versions, show)
    elif cmd == "feedback":
        ids = args.note_ids
        if ids is None and args.query is None:
            print("asem feedback: give --note-ids or --query", file=sys.stderr)
            return 2
        if ids is None:
            ids = [h["note"]["id"] for h in backend.search(args.query, max(args.top, 1), None, scope)[: args.top]]
            if not ids:
                print(f"asem feedback: --query {args.query!r} found no notes in this scope; nothing rewarded.{_scope_hint(backend)}", file=sys.stderr)
                return 1
        notes = backend.feedback(args.reward, ids, scope)
        _emit(args, notes, lambda ns: [print(f"{n['id']} q={n['q']:.3f} uses={n['uses']}") for n in ns])
    elif cmd == "stats":
        _emit(args, backend.stats(scope))
    elif cmd == "scopes":
        _emit(args, backend.scopes(), lambda ss: [print(json.dumps(s)) for s in ss])
    elif cmd == "export":
        n = backend.export(args.file, scope)
        _emit(args, {"notes": n, "file": str(args.file)}, f"exported {n} note(s) to {args.file}")
    elif cmd == "import":
        n = backend.import_(args.file)
        _emit(args, {"notes": n, "file": str(args.file)}, f"imported {n} note(s) from {args.file}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``asem``; returns the exit status (0 ok, 1 an ASEM error, 2 a usage error)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse(list(argv) if argv is not None else None)
    try:
        if args.command == "demo":
            return demo(args.file)
        return _run(args)
    except ASEMError as exc:
        if args.json:
            print(json.dumps({"error": type(exc).__name__, "detail": str(exc)}))
        print(f"asem: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
