"""Crash points: kill the writer just before every Chroma write of an ingest, reopen, re-run, compare.

The worker counts every write (collection creation, upsert, add, update, delete) of an
uninterrupted ingest, then is run once per write, dying (``os._exit``, no cleanup, as kill -9)
just before it. Reopening the store completes the half-written batch from its journal record,
and re-running the same ingest must end in the store an uninterrupted run makes: the same
notes, the same source grouping, an intent vector for every note, every link on both ends,
the same history.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from asem_core import ASEM
from conftest import free_port, start_server

WORKER = Path(__file__).with_name("_worker.py")
TURNS, BATCH = 16, 8

sys.path.insert(0, str(Path(__file__).parent))
from _worker import crash_items  # noqa: E402


def _run(target: str, conv_file: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, str(WORKER), "crashpoint", target, str(conv_file), str(TURNS), str(BATCH), str(kill_at)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)


def _snapshot(mem: ASEM) -> dict[str, Any]:
    """The store of user "crash" without ids or wall-clock times: notes keyed by their source ids."""
    notes = {n.id: n for n in mem.all(user_id="crash", include_invalid=True)}
    key = {nid: "+".join(sorted(n.source_ids)) or n.content for nid, n in notes.items()}
    assert len(set(key.values())) == len(key), "two notes hold the same turns"
    scope = notes[next(iter(notes))].scope
    intents = mem.store.intent_embeddings(scope, list(notes))
    assert set(intents) == set(notes), "a note without its intent vector (or a stray vector)"
    for note in notes.values():
        for link in note.links:
            assert link.target in notes, "dangling link"
            assert any(back.target == note.id for back in notes[link.target].links), f"one-sided link {note.id} -> {link.target}"
    out = {}
    for nid, n in notes.items():
        history = [(v.note.version, v.op.value, v.note.content, v.note.valid) for v in mem.history(nid, user_id="crash")]
        assert history and history[-1][0] == n.version, "a note without the history row of its version"
        out[key[nid]] = {
            "content": n.content,
            "valid": n.valid,
            "version": n.version,
            "tags": n.tags,
            "context": n.context,
            "q": n.q,
            "links": sorted((key[lk.target], lk.relation) for lk in n.links),
            "history": history,
        }
    return out


def _adds(mem: ASEM) -> list[str]:
    """Texts of the ADD operations in the log (each turn is added once, however often the ingest ran)."""
    return sorted(row["text"] for row in mem.operations(user_id="crash") if row["op"] == "ADD")


def test_a_kill_at_every_write_boundary_ends_equal_to_an_uninterrupted_run(tmp_path, embedder, locomo_dir):
    conv_file = locomo_dir / "conv-30.json"
    items = crash_items(str(conv_file), TURNS)
    ref = _run(str(tmp_path / "ref"), conv_file, 0)
    assert ref.returncode == 0, ref.stderr[-2000:]
    writes = int(ref.stdout.split("writes")[1])
    with ASEM(path=tmp_path / "ref", embedder=embedder) as mem:
        expected = _snapshot(mem)
        expected_adds = _adds(mem)
    assert len(expected) >= TURNS // 2 and writes >= 2 * 6  # two batches: journal, history, notes, vectors, log, ...
    for kill_at in range(1, writes + 1):
        folder = tmp_path / f"k{kill_at}"
        died = _run(str(folder), conv_file, kill_at)
        assert died.returncode == 137, f"kill point {kill_at}: worker did not die there ({died.returncode}) {died.stderr[-1000:]}"
        with ASEM(path=folder, embedder=embedder) as mem:  # opening completes a half-written batch
            assert mem.store.pending() == [], f"kill point {kill_at}: a journal record was left after open"
            for i in range(0, TURNS, BATCH):
                mem.add_many(items[i : i + BATCH], user_id="crash")
            assert _snapshot(mem) == expected, f"kill point {kill_at} of {writes}: the store differs from an uninterrupted run"
            assert _adds(mem) == expected_adds, f"kill point {kill_at}: a turn was added twice or never"


def test_a_batch_cut_short_through_a_server_is_completed_by_the_next_client(tmp_path, embedder, locomo_dir):
    conv_file = locomo_dir / "conv-30.json"
    port = free_port()
    server = start_server(tmp_path / "chroma", port)
    url = f"http://127.0.0.1:{port}"
    try:
        ref = _run(str(tmp_path / "ref"), conv_file, 0)
        writes = int(ref.stdout.split("writes")[1])
        with ASEM(path=tmp_path / "ref", embedder=embedder) as mem:
            expected = _snapshot(mem)
        died = _run(url, conv_file, writes - 3)  # inside the last batch, after its journal record
        assert died.returncode == 137
        young = ASEM(url=url, embedder=embedder)  # a record younger than recover_after may be a live writer's: left alone
        assert len(young.store.pending()) == 1
        mem = ASEM(url=url, embedder=embedder, recover_after=0.0)
        assert mem.store.pending() == []
        items = crash_items(str(conv_file), TURNS)
        for i in range(0, TURNS, BATCH):
            mem.add_many(items[i : i + BATCH], user_id="crash")
        assert _snapshot(mem) == expected
    finally:
        server.terminate()
        server.wait(timeout=20)
