"""``asem demo`` and ``asem ingest``: a LoCoMo conversation into memory, with a progress bar."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm import tqdm

from asem_core import ASEM
from asem_core.locomo import Batch, ingest_sessions, load_locomo
from asem_server._models import hit_out

from ._backend import Backend, Scope
from ._items import load_items
from ._show import print_hits

__all__ = ["demo", "ingest"]


def ingest(target: ASEM | Backend, path: Path, batch: int, scope: Scope) -> dict[str, int]:
    """Add a file's items session by session (a bar on stderr); returns the count of each operation.

    Without a scope, each conversation of the file goes to ``user_id`` = its sample id.
    """
    groups = load_items(path)
    counts: dict[str, int] = {}
    total = sum(len(items) for _, items in groups)
    with tqdm(total=total, unit="turn", desc=f"ingest {path.name}", file=sys.stderr) as bar:

        def advance(done: Batch) -> None:
            bar.update(done.size)

        for hint, items in groups:
            group_scope = Scope(**scope)
            if not any(group_scope.values()):
                group_scope["user_id"] = hint
            if isinstance(target, ASEM):
                for op in ingest_sessions(target, items, batch=batch, on_batch=advance, **group_scope):
                    counts[op.op.value] = counts.get(op.op.value, 0) + 1
                continue
            for start in range(0, len(items), batch):
                chunk = items[start : start + batch]
                for row in target.add_many(chunk, group_scope):
                    counts[row["op"]] = counts.get(row["op"], 0) + 1
                bar.update(len(chunk))
    return counts


def demo(file: Path) -> int:
    """Ingest a conversation into an in-memory store, answer from memory, learn from feedback."""
    start = time.perf_counter()
    print("ASEM demo: an in-memory store, the offline MiniLM embedder and the heuristic manager.\n")
    mem = ASEM.ephemeral()
    conv = load_locomo(file)[0]
    scope = Scope(user_id=conv.sample_id, agent_id=None, session_id=None)
    counts = ingest(mem, file, 64, scope)
    print(f"Ingested {len(conv.turns)} turns of {conv.speakers[0]} and {conv.speakers[1]}: {counts}\n")
    for qa in conv.qa[:3]:
        hits = mem.search(qa.question, k=3, **scope)
        print(f"Q: {qa.question}   (gold: {qa.answer})")
        print_hits([hit_out(h).model_dump() for h in hits])
        print()
    probe = conv.qa[-1]
    print(f"Self-evolution. Q: {probe.question}   (gold: {probe.answer})")
    hits = mem.search(probe.question, k=5, **scope)
    print("Before feedback:")
    print_hits([hit_out(h).model_dump() for h in hits])
    answer = next((h for h in hits if set(h.note.source_ids) & set(probe.evidence)), None)
    if answer is None:
        print("The answer note was not among the hits; nothing to reinforce.")
        return 1
    distractors = list(hits[: hits.index(answer)]) or [h for h in hits if h is not answer][:1]
    mem.feedback(1.0, [answer.note.id], **scope)
    mem.feedback(-1.0, [d.note.id for d in distractors], **scope)
    print(f"\nFeedback: +1 for the note that answers ({answer.note.id[:8]}), -1 for the {len(distractors)} note(s) that ranked above it (or next to it).")
    after = mem.search(probe.question, k=5, **scope)
    print("After feedback:")
    print_hits([hit_out(h).model_dump() for h in after])
    rank = next(i for i, h in enumerate(after, start=1) if h.note.id == answer.note.id)
    print(f"\nThe answer note now ranks {rank} (it ranked {hits.index(answer) + 1}).")
    history = mem.history(answer.note.id, **scope)
    print(f"Its history has {len(history)} version(s); the store holds {mem.stats()['notes']} notes.")
    print(f"Demo finished in {time.perf_counter() - start:.1f} s.")
    return 0
