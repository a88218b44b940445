"""The ``asem`` command: ingest, search, feedback, history, stats and the demo."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._asem import ASEM, default_home
from ._errors import ASEMError, DataFormatError
from ._types import Hit
from .locomo import Batch, ingest_sessions, load_locomo

__all__ = ["load_items", "main", "make_parser"]

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo_conversation.json"


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of ``asem``."""
    parser = argparse.ArgumentParser(prog="asem", description="Agentic self-evolving memory for LLM agents.")
    parser.add_argument("--path", help=f"local store folder (default $ASEM_HOME or {default_home()})")
    parser.add_argument("--url", help="Chroma server URL instead of a local store, e.g. http://127.0.0.1:8000")
    parser.add_argument("--user-id", default=None, help="scope: user")
    parser.add_argument("--agent-id", default=None, help="scope: agent")
    parser.add_argument("--session-id", default=None, help="scope: session")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="add a LoCoMo-format JSON file or a JSONL of messages")
    p.add_argument("file", type=Path)
    p.add_argument("--batch", type=int, default=64, help="items per add_many call")
    p = sub.add_parser("search", help="search memory")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p = sub.add_parser("feedback", help="reward notes (default: the hits of a new search for --query)")
    p.add_argument("reward", type=float)
    p.add_argument("--note-ids", nargs="*", default=None)
    p.add_argument("--query", default=None, help="search this first and reward its top --top hits")
    p.add_argument("--top", type=int, default=1)
    p = sub.add_parser("history", help="every version of a note")
    p.add_argument("note_id")
    sub.add_parser("stats", help="counts")
    p = sub.add_parser("demo", help="ingest the example conversation, answer from memory, learn from feedback")
    p.add_argument("--file", type=Path, default=_EXAMPLE, help="a LoCoMo-format conversation")
    return parser


def load_items(path: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    """Read a LoCoMo JSON (either layout) or a JSONL of messages into (scope hint, items) groups.

    Raises:
        DataFormatError: The file is in neither format.
    """
    if path.suffix == ".jsonl":
        items: list[dict[str, Any]] = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{path}: cannot read ({exc})"
            raise DataFormatError(msg) from exc
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{path}:{n}: not JSON ({exc.msg})"
                raise DataFormatError(msg) from exc
            if not isinstance(row, dict) or not isinstance(row.get("content", row.get("text")), str):
                msg = f"{path}:{n}: expected an object with 'content' (or 'text')"
                raise DataFormatError(msg)
            meta = dict(row.get("metadata") or {})
            role = row.get("role") or row.get("speaker")
            if role is not None:
                meta.setdefault("speaker", role)
            items.append({"text": row.get("content", row.get("text")), "timestamp": row.get("timestamp"), "metadata": meta})
        return [(path.stem, items)]
    return [(conv.sample_id, [t.as_item() for t in conv.turns]) for conv in load_locomo(path)]


def _print_hits(hits: Sequence[Hit]) -> None:
    for rank, hit in enumerate(hits, start=1):
        note = hit.note
        text = note.content if len(note.content) < 110 else note.content[:107] + "..."
        print(f"{rank:2d}. [{note.timestamp[:10]}] {text}")
        print(f"    score={hit.score:+.2f} sim={hit.similarity:.2f} q={hit.utility:.2f} id={note.id} via {'+'.join(hit.channels)}")


def _open(args: argparse.Namespace) -> ASEM:
    return ASEM(path=args.path, url=args.url) if args.url is None else ASEM(url=args.url)


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    return {"user_id": args.user_id, "agent_id": args.agent_id, "session_id": args.session_id}


def _ingest(mem: ASEM, path: Path, batch: int, scope: dict[str, Any]) -> dict[str, int]:
    from tqdm import tqdm

    groups = load_items(path)
    counts: dict[str, int] = {}
    total = sum(len(items) for _, items in groups)
    with tqdm(total=total, unit="turn", desc=f"ingest {path.name}", file=sys.stderr) as bar:

        def advance(done: Batch) -> None:
            bar.update(done.size)

        for hint, items in groups:
            group_scope = dict(scope)
            if not any(group_scope.values()):
                group_scope["user_id"] = hint
            for op in ingest_sessions(mem, items, batch=batch, on_batch=advance, **group_scope):
                counts[op.op.value] = counts.get(op.op.value, 0) + 1
    return counts


def _demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    print("ASEM demo: an in-memory store, the offline MiniLM embedder and the heuristic manager.\n")
    mem = ASEM.ephemeral()
    conv = load_locomo(args.file)[0]
    scope: dict[str, Any] = {"user_id": conv.sample_id}
    counts = _ingest(mem, args.file, 64, scope)
    print(f"Ingested {len(conv.turns)} turns of {conv.speakers[0]} and {conv.speakers[1]}: {counts}\n")
    for qa in conv.qa[:3]:
        hits = mem.search(qa.question, k=3, **scope)
        print(f"Q: {qa.question}   (gold: {qa.answer})")
        _print_hits(hits)
        print()
    probe = conv.qa[-1]
    print(f"Self-evolution. Q: {probe.question}   (gold: {probe.answer})")
    hits = mem.search(probe.question, k=5, **scope)
    print("Before feedback:")
    _print_hits(hits)
    answer = next((h for h in hits if set(h.note.source_ids) & set(probe.evidence)), None)
    if answer is None:
        print("The answer note was not among the hits; nothing to reinforce.")
        return 1
    distractors = [h for h in hits[: hits.index(answer)]] or [h for h in hits if h is not answer][:1]
    mem.feedback(1.0, [answer.note.id], **scope)
    mem.feedback(-1.0, [d.note.id for d in distractors], **scope)
    print(f"\nFeedback: +1 for the note that answers ({answer.note.id[:8]}), -1 for the {len(distractors)} note(s) that ranked above it (or next to it).")
    after = mem.search(probe.question, k=5, **scope)
    print("After feedback:")
    _print_hits(after)
    rank = next(i for i, h in enumerate(after, start=1) if h.note.id == answer.note.id)
    print(f"\nThe answer note now ranks {rank} (it ranked {hits.index(answer) + 1}).")
    history = mem.history(answer.note.id, **scope)
    print(f"Its history has {len(history)} version(s); the store holds {mem.stats()['notes']} notes.")
    print(f"Demo finished in {time.perf_counter() - start:.1f} s.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``asem``."""
    args = make_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        mem = _open(args)
        scope = _scope(args)
        if args.command == "ingest":
            counts = _ingest(mem, args.file, args.batch, scope)
            print(json.dumps({"operations": counts, "notes": mem.stats()["notes"]}))
        elif args.command == "search":
            _print_hits(mem.search(args.query, k=args.k, **scope))
        elif args.command == "feedback":
            ids = args.note_ids
            if ids is None and args.query:
                ids = [h.note.id for h in mem.search(args.query, **scope)[: args.top]]
            if not ids:
                print("asem feedback: give --note-ids or --query", file=sys.stderr)
                return 2
            for note in mem.feedback(args.reward, ids, **scope):
                print(f"{note.id} q={note.q:.3f} uses={note.uses}")
        elif args.command == "history":
            for v in mem.history(args.note_id, **scope):
                state = "valid" if v.note.valid else "deleted"
                print(f"v{v.note.version} {v.at} {v.op.value:6s} {state:7s} {v.note.content!r}  ({v.reason})")
        elif args.command == "stats":
            print(json.dumps(mem.stats(**scope) if any(scope.values()) else mem.stats(), indent=2))
    except ASEMError as exc:
        print(f"asem: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
